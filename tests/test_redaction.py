"""``redact``: credentials out, ordinary text (prompts, UUIDs, hashes) untouched."""

from __future__ import annotations

import random

import pytest

from core import logs, redaction
from core.redaction import env_secret_values, redact, secret_register

SK_KEY = "sk-genpipeFAKE0123456789abcdefSECRET"
PLAIN_KEY = "plain-secret-value-7f3a9b2c"
SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
UUID = "0b7c6f43-8f1c-4a53-9d0e-6c3b4b3e8d11"

MASKED = [
    (
        f"HTTP 401: Incorrect API key provided: Bearer {SK_KEY}",
        "HTTP 401: Incorrect API key provided: Bearer ***",
    ),
    (
        f"HTTP 401: Incorrect API key provided: {PLAIN_KEY}",
        "HTTP 401: Incorrect API key provided: ***",
    ),
    (
        "HTTP 500: {'Host': '127.0.0.1:5555', 'Accept': 'application/json', "
        f"'Authorization': 'Bearer {PLAIN_KEY}', 'Content-Length': '12'}}",
        "HTTP 500: {'Host': '127.0.0.1:5555', 'Accept': 'application/json', "
        "'Authorization': '***', 'Content-Length': '12'}",
    ),
    ('{"authorization": "Basic dXNlcjpwYXNzd29yZA=="}', '{"authorization": "***"}'),
    ('{"x-api-key": "abcdEFGH1234ijkl", "n": 1}', '{"x-api-key": "***", "n": 1}'),
    ("x-goog-api-key: AIzaSyA-abcdefghijklmnopqrstuvwxyz12345", "x-goog-api-key: ***"),
    (
        "GET https://example.com/v1/models?key=abcdefgh12345678&alt=json",
        "GET https://example.com/v1/models?key=***&alt=json",
    ),
    ("GET /v1/x?api_key=s3cr3t-v4lue&n=1", "GET /v1/x?api_key=***&n=1"),
    ("rejected sk-proj-abcdefghijklmnopqrstuvwx for org-1", "rejected sk-*** for org-1"),
    ("token r8_abcdefghijklmnopqrstuvwxyz0123 expired", "token *** expired"),
    ("hf_abcdefghijklmnopqrstuvwxyz is not valid", "hf_*** is not valid"),
    (
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9P ok",
        "jwt *** ok",
    ),
    ("password: hunter2hunter2", "password: ***"),
    ("postgres://genpipe:pa55w0rd@db:5432/genpipe", "postgres://genpipe:***@db:5432/genpipe"),
    ("the secret was Zq8v1Lx0Pq2Rs4Tu6Vw", "the secret was ***"),
]


@pytest.mark.parametrize(("text", "expected"), MASKED)
def test_credential_shapes_are_masked(text, expected):
    assert redact(text) == expected


UNTOUCHED = [
    "a knight finds the key to the castle under the mat; key points: stealth, speed",
    "Write a line about the golden key 7 that opens the vault",
    f"generation {UUID} failed",
    f"hash {SHA256}",
    f"reproducible_hash={SHA256} cache_key=generation:dialogue|adaptive|v1",
    "Invalid 'messages[0].content': string too long. Expected maximum length 1048576",
    "The API key is missing. Set OPENAI_API_KEY.",
    "Environment variable OPENAI_API_KEY is not set for provider oai.",
    "Token authentication failed for this request",
    "tokens_in=12 tokens_out=40 cost_usd=0.000031",
    "sk-learn is a library; task-abcdefghijklmnopqrstuvwxyz ran",
    "Your secret is safe with me",
    "",
]


@pytest.mark.parametrize("text", UNTOUCHED)
def test_ordinary_text_is_left_alone(text):
    assert redact(text) == text


def test_an_exact_secret_is_masked_in_every_form_and_context():
    odd = 'ab/cd+ef"gh 1234'
    assert redact(f"the key {PLAIN_KEY} was refused", secrets=[PLAIN_KEY]) == (
        "the key *** was refused"
    )
    assert redact(f"{PLAIN_KEY}{PLAIN_KEY}", secrets=[PLAIN_KEY]) == "******"
    assert redact("sent ab%2Fcd%2Bef%22gh%201234", secrets=[odd]) == "sent ***"
    assert redact('{"k": "ab/cd+ef\\"gh 1234"}', secrets=[odd]) == '{"k": "***"}'
    assert redact("a key abc", secrets=["abc"]) == "a key abc"  # too short to mask blindly
    assert redact("x" * 10, secrets=[""]) == "x" * 10


def test_a_registered_credential_is_masked_everywhere_afterwards():
    value = "registered-cred-4d1e8f"
    assert redact(f"echo {value}") == f"echo {value}"
    secret_register(value)
    assert redact(f"echo {value}") == "echo ***"
    assert logs.redact(f"line {value}") == "line ***"  # the log filter's function


def test_a_remembered_short_text_is_redacted_again_for_other_secrets():
    # Short texts are redacted once per set of known secrets (log lines repeat).
    text = "GET /hooks/opaque-value-77 200"
    assert redact(text) == text
    assert redact(text, secrets=["opaque-value-77"]) == "GET /hooks/*** 200"
    assert redact(text) == text


def test_secret_looking_environment_variables_are_masked(monkeypatch):
    monkeypatch.setenv("GENPIPE_REDACTION_TEST_TOKEN", "envtoken-value-91ab")
    env_secret_values.cache_clear()
    try:
        assert redact("got envtoken-value-91ab back") == "got *** back"
    finally:
        monkeypatch.delenv("GENPIPE_REDACTION_TEST_TOKEN")
        env_secret_values.cache_clear()


def test_redacting_twice_changes_nothing_more():
    for text, expected in MASKED:
        assert redact(expected) == expected, text


def test_a_limit_cuts_after_masking_and_bounds_the_work():
    key = "limit-secret-value-5e6f7a8b"
    text = "y" * 490 + " " + key
    assert redact(text, secrets=[key], limit=500) == "y" * 490 + " ***"
    assert redact("short", limit=500) == "short"
    # A huge text: only a head is scanned, cut at whitespace so the key straddling the
    # scan window is dropped whole, never left half-visible.
    window = 4096
    huge = "z " * ((window - 10) // 2) + key + " tail" * 100_000
    cleaned = redact(huge, secrets=[key], limit=window)
    assert key[:6] not in cleaned
    assert len(cleaned) <= window
    assert redact("q" * 50_000, limit=500) == ""  # one unbroken 50k token: nothing kept


def _every_pattern(text: str) -> str:
    """What the patterns make of ``text``, all of them run (no pre-screen)."""
    for pattern, replacement in redaction._PATTERNS:
        text = pattern.sub(replacement, text)
    return text


FRAGMENTS = [
    "Authorization", "TOKEN", "Bearer", "basic", "api_key", "X-Api-Key", "PassWord",
    "passphrase", "pwd", "Secret", "credentials", "https://u:", "@host", "sk-", "r8_",
    "hf_", "gsk_", "xai-", "AIza", "whsec_", "eyJ", ".", "abcdefgh", "0123456789abcdefXY",
    ":", "=", " ", "'", '"', "?key=", "&", "provided", "Task", "succeeded in 0.003s",
]  # fmt: skip


def test_the_pre_screen_never_changes_what_the_patterns_mask():
    rng = random.Random(15)
    texts = [text for text, _ in MASKED] + UNTOUCHED
    texts += ["".join(rng.choices(FRAGMENTS, k=rng.randint(1, 9))) for _ in range(5000)]
    for text in texts:
        assert redaction._redact(text, ()) == _every_pattern(text), text


def test_non_ascii_letters_that_match_ascii_ones_are_still_masked():
    # Under IGNORECASE U+017F matches "s" and U+212A "k": no pre-screen on such text.
    assert redact("pa\u017f\u017fword=hunter2hunter2") == "pa\u017f\u017fword=***"
    assert redact("api_\u212aey=abcdef123456") == "api_\u212aey=***"


def test_a_log_line_without_any_trigger_is_not_run_through_the_patterns(monkeypatch):
    runs = []

    class Counted:
        def __init__(self, pattern):  # type: ignore[no-untyped-def]
            self.pattern = pattern

        def sub(self, replacement, text):  # type: ignore[no-untyped-def]
            runs.append(self.pattern.pattern)
            return self.pattern.sub(replacement, text)

    counted = [(Counted(pattern), replacement) for pattern, replacement in redaction._PATTERNS]
    monkeypatch.setattr(redaction, "_PATTERNS", counted)
    line = f"Task generations.process_generation[{UUID}] succeeded in 0.003421s: 'completed'"
    assert redaction._redact(line, ()) == line and runs == []
    assert redaction._redact(f"{line} token {PLAIN_KEY}", ()) == f"{line} token ***"
    assert len(runs) == len(counted)

"""Bad input is a 400, always: the fault campaign's hand-made bad-input cases.

Each table below is one class of input the campaign found answered ``500`` or
``503 database_unavailable`` (NUL characters, lone surrogates, non-finite numbers, odd
digits in ids, out-of-range timezone offsets), sent to every endpoint that can receive it.
The answer must be a ``4xx`` in the one envelope, with a stable code and the field path.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generations.models import Generation, IdempotencyRecord
from tests.builders import create_body

CREATE = "/api/v1/generations"
VALIDATE = "/api/v1/generations/validate"
SOCIAL = "/api/v1/generations/social-context/build"
SIMPLE = "/api/v1/generations/simple-image-to-video"
LIST = "/api/v1/generations"

BAD_CHARACTERS = {
    "nul": "\x00",
    "surrogate_d800": "\ud800",
    "surrogate_dfff": "\udfff",
    "surrogate_d83d": "\ud83d",
}


def _escaped(text: str) -> str:
    """How the API writes a key with a bad character in a field path."""
    return "".join(
        f"\\u{ord(ch):04x}" if ch == "\x00" or "\ud800" <= ch <= "\udfff" else ch for ch in text
    )


def _simple(**overrides: Any) -> dict[str, Any]:
    body = {"prompt": "a lighthouse", "image_url": "https://cdn.example/1.png"}
    body.update(overrides)
    return body


def _social(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"relationship_values": {"affinity": 40, "trust": 30}}
    body.update(overrides)
    return body


# (endpoint, where the bad string goes) → (url, body builder, the field path reported).
Place = tuple[str, Callable[[str], dict[str, Any]], Callable[[str], str]]
PLACES: dict[str, Place] = {
    "create choices value": (
        CREATE,
        lambda s: create_body(player_context={"choices": {"k": f"a{s}b"}}),
        lambda s: "player_context.choices.k",
    ),
    "create choices key": (
        CREATE,
        lambda s: create_body(player_context={"choices": {f"k{s}": "v"}}),
        lambda s: f"player_context.choices.{_escaped('k' + s)}",
    ),
    "create choices list item": (
        CREATE,
        lambda s: create_body(player_context={"choices": {"k": ["ok", s]}}),
        lambda s: "player_context.choices.k.1",
    ),
    "create style block value": (
        CREATE,
        lambda s: create_body(config={"style": {"sandbox": {"look": s}}}),
        lambda s: "config.style.sandbox.look",
    ),
    "create style block key": (
        CREATE,
        lambda s: create_body(config={"style": {f"sandbox{s}": {"look": "x"}}}),
        lambda s: f"config.style.{_escaped('sandbox' + s)}",
    ),
    "create template_variables value": (
        CREATE,
        lambda s: create_body(template_variables={"hero": f"Ada{s}"}),
        lambda s: "template_variables.hero",
    ),
    "create flags key": (
        CREATE,
        lambda s: create_body(player_context={"flags": {f"met{s}": True}}),
        lambda s: f"player_context.flags.{_escaped('met' + s)}",
    ),
    "create scene summary": (
        CREATE,
        lambda s: create_body(from_scene={"id": "s1", "summary": s}),
        lambda s: "from_scene.summary",
    ),
    "create name": (CREATE, lambda s: create_body(name=s), lambda s: "name"),
    "create prompt": (
        CREATE,
        lambda s: create_body(config={"prompt": f"a {s} lighthouse"}),
        lambda s: "config.prompt",
    ),
    "create unknown top-level key": (
        CREATE,
        lambda s: {**create_body(), f"x{s}": 1},
        lambda s: _escaped(f"x{s}"),
    ),
    "validate choices value": (
        VALIDATE,
        lambda s: create_body(player_context={"choices": {"k": s}}),
        lambda s: "player_context.choices.k",
    ),
    "validate style block value": (
        VALIDATE,
        lambda s: create_body(config={"style": {"sandbox": {"look": s}}}),
        lambda s: "config.style.sandbox.look",
    ),
    "validate template_variables value": (
        VALIDATE,
        lambda s: create_body(template_variables={"hero": s}),
        lambda s: "template_variables.hero",
    ),
    "social-context workspace_id": (
        SOCIAL,
        lambda s: _social(workspace_id=f"studio{s}"),
        lambda s: "workspace_id",
    ),
    "social-context relationship key": (
        SOCIAL,
        lambda s: _social(relationship_values={"affinity": 40, f"t{s}": 1}),
        lambda s: f"relationship_values.{_escaped('t' + s)}",
    ),
    "simple-i2v prompt": (SIMPLE, lambda s: _simple(prompt=f"a{s}"), lambda s: "prompt"),
    "simple-i2v name": (SIMPLE, lambda s: _simple(name=s), lambda s: "name"),
}


def _post_raw(api: Any, url: str, text: str, **headers: str) -> Any:
    return api.post(url, data=text.encode("utf-8"), content_type="application/json", **headers)


def _assert_envelope(response: Any, status: int, code: str, field: str | None = None) -> None:
    assert response.status_code == status, (response.status_code, response.content[:300])
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["code"] == code, error
    assert "Retry-After" not in response.headers
    if field is not None:
        assert field in error["fields"], error["fields"]
        assert error["fields"][field][0]["code"] == code


@pytest.mark.parametrize("char", BAD_CHARACTERS.values(), ids=BAD_CHARACTERS.keys())
@pytest.mark.parametrize("place", PLACES.keys())
def test_nul_and_lone_surrogates_anywhere_in_a_body_are_invalid_character(api, place, char):
    url, build, path = PLACES[place]
    # ensure_ascii writes NUL and lone surrogates as \u escapes, as any JSON client would.
    response = _post_raw(api, url, json.dumps(build(char)))
    _assert_envelope(response, 400, "invalid_character", path(char))
    assert Generation.objects.count() == 0


def test_a_valid_surrogate_pair_is_one_character_and_accepted(api):
    body = create_body(player_context={"choices": {"mood": "\U0001f600"}})
    text = json.dumps(body)
    assert "\\ud83d\\ude00" in text
    assert _post_raw(api, CREATE, text).status_code == 201


NON_FINITE = ("NaN", "Infinity", "-Infinity", "1e400", "-1e400")
NUMBER_PLACES: dict[str, tuple[str, dict[str, Any], str | None]] = {
    "create choices value": (
        CREATE,
        create_body(player_context={"choices": {"k": "@N"}}),
        "player_context.choices.k",
    ),
    "create choices list item": (
        CREATE,
        create_body(player_context={"choices": {"k": [1, "@N"]}}),
        "player_context.choices.k.1",
    ),
    "create style block": (
        CREATE,
        create_body(config={"style": {"sandbox": {"cfg": "@N"}}}),
        "config.style.sandbox.cfg",
    ),
    "create template_variables": (
        CREATE,
        create_body(template_variables={"n": "@N"}),
        "template_variables.n",
    ),
    "create stats": (
        CREATE,
        create_body(player_context={"stats": {"hp": "@N"}}),
        "player_context.stats.hp",
    ),
    "create duration": (CREATE, create_body(config={"duration": {"target": "@N"}}), None),
    "validate choices value": (
        VALIDATE,
        create_body(player_context={"choices": {"k": "@N"}}),
        "player_context.choices.k",
    ),
    "validate style block": (
        VALIDATE,
        create_body(config={"style": {"sandbox": {"cfg": "@N"}}}),
        "config.style.sandbox.cfg",
    ),
    "social-context affinity": (
        SOCIAL,
        _social(relationship_values={"affinity": "@N"}),
        "relationship_values.affinity",
    ),
    "simple-i2v priority": (SIMPLE, _simple(priority="@N"), "priority"),
}


@pytest.mark.parametrize("token", NON_FINITE)
@pytest.mark.parametrize("place", NUMBER_PLACES.keys())
def test_non_finite_numbers_anywhere_in_a_body_are_non_finite_number(api, place, token):
    url, body, path = NUMBER_PLACES[place]
    text = json.dumps(body).replace('"@N"', token)
    response = _post_raw(api, url, text)
    _assert_envelope(response, 400, "non_finite_number", path)
    assert Generation.objects.count() == 0


# Digits for which str.isdigit() is true: never a workspace id, so a slug nobody has.
ODD_DIGITS = {
    "superscript_two": "²",
    "superscript_one_two": "¹²",
    "circled_one": "①",
    "fullwidth_one": "\uff11",
    "arabic_indic_one": "\u0661",
}
WORKSPACE_PLACES = {
    "create": (CREATE, lambda ws: create_body(workspace_id=ws)),
    "validate": (VALIDATE, lambda ws: create_body(workspace_id=ws)),
    "social-context": (SOCIAL, lambda ws: _social(workspace_id=ws)),
    "simple-i2v": (SIMPLE, lambda ws: _simple(workspace_id=ws)),
}


@pytest.mark.parametrize("digits", ODD_DIGITS.values(), ids=ODD_DIGITS.keys())
@pytest.mark.parametrize("place", WORKSPACE_PLACES.keys())
def test_unicode_digits_in_workspace_id_are_an_unknown_workspace(api, place, digits):
    url, build = WORKSPACE_PLACES[place]
    response = api.post(url, build(digits), format="json")
    _assert_envelope(response, 404, "workspace_not_found")


def test_a_workspace_id_in_fullwidth_digits_does_not_name_the_workspace(api, workspace):
    fullwidth = "".join(chr(ord(d) - ord("0") + ord("\uff10")) for d in str(workspace.id))
    response = api.post(CREATE, create_body(workspace_id=fullwidth), format="json")
    _assert_envelope(response, 404, "workspace_not_found")
    assert (
        api.post(CREATE, create_body(workspace_id=str(workspace.id)), format="json").status_code
        == 201
    )


@pytest.mark.parametrize("digits", ["²", "①", "\uff11", "1e400", "NaN", "99999999999999999999"])
def test_odd_workspace_filters_on_the_list_are_an_unknown_workspace(api, digits):
    # The filter takes an id or a slug, like a create's workspace_id: neither names one.
    response = api.get(f"{LIST}?workspace={quote(digits, safe='%')}")
    _assert_envelope(response, 404, "workspace_not_found")


# RFC 3339 allows offsets up to ±23:59, PostgreSQL up to ±15:59: the filters convert to UTC
# first (as scheduled_at does), so every valid offset works; what cannot be an instant is a 400.
BAD_DATETIMES = {
    "year 0": ("0000-01-01T00:00:00Z", "invalid"),
    "year 10000": ("10000-01-01T00:00:00Z", "invalid"),
    "month 13": ("2020-13-01T00:00:00Z", "invalid"),
    "offset 24:00": ("2020-01-01T00:00:00+24:00", "invalid"),
    "UTC before year 1": ("0001-01-01T00:00:00+01:00", "overflow"),
    "UTC after year 9999": ("9999-12-31T23:59:59-12:00", "overflow"),
    "nul": ("2020-01-01T00:00:00\x00Z", "invalid_character"),
}


@pytest.mark.parametrize(("value", "code"), BAD_DATETIMES.values(), ids=BAD_DATETIMES.keys())
@pytest.mark.parametrize("name", ["created_after", "created_before"])
def test_datetimes_that_are_no_instant_are_400_in_list_filters(api, name, value, code):
    response = api.get(f"{LIST}?{urlencode({name: value})}")
    top = "validation_error" if code == "invalid" else code
    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == top
    assert error["fields"][name][0]["code"] == code


def _written_in(instant: datetime, offset: str) -> str:
    """``instant`` written with ``offset`` (``+16:00`` or ``+1600``)."""
    sign = 1 if offset[0] == "+" else -1
    shift = timedelta(hours=int(offset[1:3]), minutes=int(offset[-2:])) * sign
    return instant.astimezone(timezone(shift)).isoformat()[: -len("+00:00")] + offset


@pytest.mark.parametrize("offset", ["+16:00", "-16:00", "+23:59", "+1600", "+15:59", "-15:59"])
def test_offsets_beyond_postgresql_range_filter_like_their_utc_instant(api, offset):
    created = api.post(CREATE, create_body(), format="json").json()["created_at"]
    later = datetime.fromisoformat(created.replace("Z", "+00:00")) + timedelta(seconds=1)
    bound = _written_in(later, offset)
    included = api.get(f"{LIST}?{urlencode({'created_before': bound})}")
    excluded = api.get(f"{LIST}?{urlencode({'created_after': bound})}")
    assert included.status_code == excluded.status_code == 200, included.content[:300]
    assert [g["created_at"] for g in included.json()["results"]] == [created]
    assert excluded.json()["results"] == []


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("2020-01-01T00:00:00+16:00", 201),
        ("2020-01-01T00:00:00+23:59", 201),
        ("0000-01-01T00:00:00Z", 400),
        ("10000-01-01T00:00:00Z", 400),
        ("0001-01-01T00:00:00+01:00", 400),
        ("9999-12-31T23:59:59-12:00", 400),
    ],
)
def test_scheduled_at_takes_any_offset_and_refuses_what_is_no_instant(api, value, status):
    response = api.post(CREATE, create_body(scheduled_at=value), format="json")
    assert response.status_code == status, response.content[:300]
    if status == 400:
        assert "scheduled_at" in response.json()["error"]["fields"]


def _cursor(position: str) -> str:
    return base64.b64encode(f"p={quote(position)}".encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "x" * 5000,
        "!!!",
        _cursor("not a date"),
        _cursor("2020-01-01T00:00:00\x00"),
        _cursor("10000-01-01T00:00:00Z"),
    ],
    ids=["long", "not_base64", "not_a_date", "nul_inside", "year_10000"],
)
def test_bad_cursors_are_400_invalid_cursor(api, cursor):
    response = api.get(f"{LIST}?{urlencode({'cursor': cursor}, safe='%')}")
    _assert_envelope(response, 400, "invalid_cursor", "cursor")


def test_a_cursor_position_with_any_offset_is_a_page(api):
    api.post(CREATE, create_body(), format="json")
    response = api.get(f"{LIST}?cursor={_cursor('2999-01-01T00:00:00+16:00')}")
    assert response.status_code == 200, response.content[:300]
    assert len(response.json()["results"]) == 1


def test_a_cursor_with_a_huge_offset_is_a_page_not_an_error(api):
    cursor = base64.b64encode(b"o=99999999999999999999999").decode()
    response = api.get(f"{LIST}?{urlencode({'cursor': cursor})}")
    assert response.status_code == 200, response.content[:300]


def test_a_real_cursor_still_pages(api):
    for index in range(3):
        api.post(
            CREATE, create_body(config={"strategy": "always", "prompt": f"p{index}"}), format="json"
        )
    first = api.get(f"{LIST}?limit=2").json()
    assert len(first["results"]) == 2 and first["next"]
    second = api.get(first["next"])
    assert second.status_code == 200
    assert len(second.json()["results"]) == 1


QUERY_CASES = {
    "cursor": f"{LIST}?cursor=%00",
    "created_after": f"{LIST}?created_after=2020-01-01T00:00:00%00Z",
    "provider": f"{LIST}?provider=a%00b",
    "status": f"{LIST}?status=%00",
    "operation_type": f"{LIST}?operation_type=dia%00logue",
    "unknown parameter": f"{LIST}?foo=%00",
    "parameter name": f"{LIST}?fo%00o=1",
    "limit": f"{LIST}?limit=%00",
}


@pytest.mark.parametrize("url", QUERY_CASES.values(), ids=QUERY_CASES.keys())
def test_nul_in_a_query_string_is_invalid_character(api, url):
    _assert_envelope(api.get(url), 400, "invalid_character")


def test_nul_in_a_staff_query_string_is_invalid_character(staff_api, workspace):
    response = staff_api.delete(
        f"/api/v1/generations/cache/slots?workspace={workspace.id}&key=generation:a%00b"
    )
    _assert_envelope(response, 400, "invalid_character", "key")


def test_surrogates_in_a_query_string_cannot_reach_the_database(api):
    # Undecodable percent-escapes (an encoded surrogate) become U+FFFD, a valid character.
    response = api.get(f"{LIST}?provider=%ED%A0%80")
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_an_overlong_idempotency_key_is_400_invalid_idempotency_key(api):
    response = api.post(
        CREATE, create_body(), format="json", headers={"Idempotency-Key": "k" * 10_000}
    )
    _assert_envelope(response, 400, "invalid_idempotency_key", "Idempotency-Key")
    assert Generation.objects.count() == 0


@pytest.mark.parametrize(
    ("key", "code"),
    [
        ("abc\n", "invalid_idempotency_key"),
        ("a b", "invalid_idempotency_key"),
        ("é", "invalid_idempotency_key"),
        ("", "invalid_idempotency_key"),
        ("a\x00b", "invalid_character"),
    ],
)
def test_an_idempotency_key_with_other_characters_is_400(api, key, code):
    response = api.post(CREATE, create_body(), format="json", headers={"Idempotency-Key": key})
    _assert_envelope(response, 400, code, "Idempotency-Key")
    assert IdempotencyRecord.objects.count() == 0


def test_an_overlong_request_id_is_replaced_by_our_own(api):
    response = api.get(LIST, headers={"X-Request-ID": "r" * 10_000})
    assert response.status_code == 200
    assert response["X-Request-ID"] != "r" * 10_000
    assert 0 < len(response["X-Request-ID"]) <= 64


def test_a_nul_in_a_header_is_invalid_character_not_a_database_error(db, client):
    response = client.get(LIST, HTTP_AUTHORIZATION="Token abc\x00def")
    _assert_envelope(response, 400, "invalid_character", "Authorization")


def test_a_nul_in_an_admin_query_string_is_a_plain_400(admin_client):
    response = admin_client.get("/admin/generations/generation/?q=a%00b")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    ("pasted", "code"),
    [
        ('{"config": {"style": {"sandbox": {"x": "\\ud800"}}}}', "invalid_character"),
        ('{"player_context": {"choices": {"k": NaN}}, "config": {}}', "non_finite_number"),
    ],
)
def test_the_dev_panel_validator_refuses_what_the_api_refuses(
    admin_client, workspace, sandbox, pasted, code
):
    from django.urls import reverse

    url = reverse("admin:genpipe_validation")
    response = admin_client.post(url, {"workspace": workspace.id, "body": pasted})
    assert response.status_code == 200
    errors = response.context["form"].errors.as_data()["body"]
    assert [e.code for e in errors] == [code]


_odd_text = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["\x00", "\ud800", "a\udfffb", "\ud83d", "\U0001f600", "\u202e"]),
)
_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | _odd_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(_odd_text, children, max_size=4)
    ),
    max_leaves=12,
)


@pytest.mark.parametrize("url", [CREATE, VALIDATE])
def test_any_json_in_the_free_form_maps_is_never_a_server_error(api, url):
    @settings(max_examples=25, derandomize=True, deadline=None, database=None)
    @given(
        choices=st.dictionaries(_odd_text, _json_values, max_size=4),
        style=st.dictionaries(_odd_text, _json_values, max_size=4),
        variable=_json_values,
    )
    def check(choices: dict[str, Any], style: dict[str, Any], variable: Any) -> None:
        body = create_body(
            config={"strategy": "always", "style": {"sandbox": style}},
            player_context={"choices": choices},
            template_variables={"v": variable},
        )
        response = _post_raw(api, url, json.dumps(body))
        assert response.status_code < 500, response.content[:300]
        if response.status_code >= 400:
            assert set(response.json()["error"]) == {"code", "message", "fields"}

    check()


@pytest.mark.postgres
def test_a_value_the_database_refuses_is_400_invalid_value_not_503(db, caplog):
    from django.db import DataError, transaction

    from core.errors import api_exception_handler

    with pytest.raises(DataError) as refused, transaction.atomic():
        Generation.objects.filter(name="a\x00b").exists()
    response = api_exception_handler(refused.value, {})
    assert response is not None
    assert response.status_code == 400
    assert response.data["error"]["code"] == "invalid_value"
    assert "Retry-After" not in response
    assert any(r.levelname == "ERROR" for r in caplog.records)

"""Tests of the fake provider servers themselves: real HTTP on 127.0.0.1, no database."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import requests

from tests.fakes.jobs import FAKE_MP4, FakeJobsServer
from tests.fakes.openai import TINY_PNG, FakeOpenAIServer
from tests.fakes.server import Drop, Echo, Garbage, Hang, Huge, Redirect, Slow, Status

TIMEOUT = (1.0, 5.0)
CHAT = "POST /v1/chat/completions"
CHAT_BODY = {"model": "gpt-test", "messages": [{"role": "user", "content": "hello there world"}]}


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """A session that ignores proxy environment variables (loopback only)."""
    with requests.Session() as session:
        session.trust_env = False
        yield session


def chat(http: requests.Session, server: FakeOpenAIServer, **kwargs: object) -> requests.Response:
    kwargs.setdefault("timeout", TIMEOUT)
    return http.post(f"{server.url}/v1/chat/completions", json=CHAT_BODY, **kwargs)  # type: ignore[arg-type]


# -- OpenAI-compatible protocol -------------------------------------------------------------


def test_chat_completion_shape(http: requests.Session, openai_server: FakeOpenAIServer) -> None:
    body = {
        "model": "gpt-test",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hello there world"},
        ],
        "temperature": 0.2,
        "max_tokens": 50,
        "seed": 7,
    }
    r = http.post(f"{openai_server.url}/v1/chat/completions", json=body, timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    data = r.json()
    assert data["id"] == "chatcmpl-1"
    assert data["object"] == "chat.completion"
    assert isinstance(data["created"], int)
    assert data["model"] == "gpt-test"
    assert data["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Echo: hello there world"},
            "finish_reason": "stop",
        }
    ]
    assert data["usage"] == {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9}
    assert chat(http, openai_server).json()["id"] == "chatcmpl-2"


def test_chat_max_tokens_and_custom_reply(
    http: requests.Session, make_openai_server: Callable[..., FakeOpenAIServer]
) -> None:
    server = make_openai_server(reply=lambda request: "one two three four")
    body = {**CHAT_BODY, "max_tokens": 2}
    data = http.post(f"{server.url}/v1/chat/completions", json=body, timeout=TIMEOUT).json()
    assert data["choices"][0]["message"]["content"] == "one two"
    assert data["choices"][0]["finish_reason"] == "length"
    assert data["usage"]["completion_tokens"] == 2
    server.reply = lambda request: f"model={request['model']}"
    assert chat(http, server).json()["choices"][0]["message"]["content"] == "model=gpt-test"


def test_chat_validation_error_shape(
    http: requests.Session, openai_server: FakeOpenAIServer
) -> None:
    r = http.post(f"{openai_server.url}/v1/chat/completions", json={"model": "m"}, timeout=TIMEOUT)
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "missing_required_parameter"
    assert "messages" in error["message"]
    r = http.post(f"{openai_server.url}/v1/nope", json={}, timeout=TIMEOUT)
    assert r.status_code == 404
    assert set(r.json()["error"]) >= {"message", "type", "code"}
    assert openai_server.errors == []


def test_image_urls_serve_a_png(http: requests.Session, openai_server: FakeOpenAIServer) -> None:
    body = {"model": "img", "prompt": "a cat", "n": 2, "size": "256x256", "response_format": "url"}
    r = http.post(f"{openai_server.url}/v1/images/generations", json=body, timeout=TIMEOUT)
    assert r.status_code == 200
    data = r.json()
    assert isinstance(data["created"], int)
    urls = [item["url"] for item in data["data"]]
    assert urls == [f"{openai_server.url}/files/img-1.png", f"{openai_server.url}/files/img-2.png"]
    image = http.get(urls[0], timeout=TIMEOUT)
    assert image.status_code == 200
    assert image.headers["Content-Type"] == "image/png"
    assert image.content == TINY_PNG
    assert image.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert http.get(f"{openai_server.url}/files/img-9.png", timeout=TIMEOUT).status_code == 404


def test_image_b64_json(http: requests.Session, openai_server: FakeOpenAIServer) -> None:
    body = {"model": "img", "prompt": "a cat", "n": 1, "response_format": "b64_json"}
    r = http.post(f"{openai_server.url}/v1/images/generations", json=body, timeout=TIMEOUT)
    assert r.status_code == 200
    [item] = r.json()["data"]
    assert base64.b64decode(item["b64_json"]) == TINY_PNG


def test_openai_bearer_auth(
    http: requests.Session, make_openai_server: Callable[..., FakeOpenAIServer]
) -> None:
    server = make_openai_server(api_key="sk-test")
    expected = {
        "error": {
            "message": "Invalid API key",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
    }
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "sk-test"}):
        r = chat(http, server, headers=headers)
        assert r.status_code == 401
        assert r.json() == expected
    assert chat(http, server, headers={"Authorization": "Bearer sk-test"}).status_code == 200
    image = http.post(
        f"{server.url}/v1/images/generations",
        json={"model": "img", "prompt": "x"},
        headers={"Authorization": "Bearer sk-test"},
        timeout=TIMEOUT,
    ).json()["data"][0]["url"]
    assert http.get(image, timeout=TIMEOUT).status_code == 200  # file URLs need no auth


# -- scripted behaviours --------------------------------------------------------------------


def test_status_429_with_retry_after_then_normal(
    http: requests.Session, openai_server: FakeOpenAIServer
) -> None:
    openai_server.script(CHAT, Status(429, headers={"Retry-After": "2"}))
    r = chat(http, openai_server)
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "2"
    assert r.json()["error"]["code"] == "rate_limit_exceeded"
    assert chat(http, openai_server).status_code == 200
    assert openai_server.count(CHAT) == 2
    assert openai_server.pending(CHAT) == 0


def test_statuses_consumed_in_order_with_custom_body(
    http: requests.Session, openai_server: FakeOpenAIServer
) -> None:
    custom = {"error": {"message": "nope", "type": "invalid_request_error", "code": "x"}}
    openai_server.script(CHAT, Status(503), Status(400, custom))
    openai_server.script(CHAT, Status(500))  # same key: appended to the queue
    first = chat(http, openai_server)
    assert first.status_code == 503
    assert first.json()["error"]["type"] == "server_error"
    second = chat(http, openai_server)
    assert (second.status_code, second.json()) == (400, custom)
    assert chat(http, openai_server).status_code == 500
    assert chat(http, openai_server).status_code == 200


def test_script_overrides_auth(
    http: requests.Session, make_openai_server: Callable[..., FakeOpenAIServer]
) -> None:
    server = make_openai_server(api_key="k")
    server.script(CHAT, Status(200, {"ok": True}))
    assert chat(http, server).json() == {"ok": True}
    assert chat(http, server).status_code == 401


def test_hang_triggers_read_timeout_and_close_is_prompt(http: requests.Session) -> None:
    server = FakeOpenAIServer()
    try:
        server.script(CHAT, Hang(30))
        with pytest.raises(requests.ReadTimeout):
            chat(http, server, timeout=(1, 0.3))
        assert server.count(CHAT) == 1
    finally:
        started = time.monotonic()
        server.close()
        assert time.monotonic() - started < 1.0
    assert server.closed


def test_close_releases_a_client_still_waiting_on_a_hang(http: requests.Session) -> None:
    server = FakeOpenAIServer()
    server.script(CHAT, Hang(30))
    outcome: list[BaseException | int] = []

    def call() -> None:
        try:
            outcome.append(chat(http, server, timeout=(1, 10)).status_code)
        except requests.RequestException as exc:
            outcome.append(exc)

    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    assert server.wait_for_count(CHAT, 1, timeout=2)
    started = time.monotonic()
    server.close()
    server.close()  # idempotent
    caller.join(timeout=2)
    assert time.monotonic() - started < 1.0
    assert len(outcome) == 1
    assert isinstance(outcome[0], requests.ConnectionError)


def test_slow_then_normal(http: requests.Session, openai_server: FakeOpenAIServer) -> None:
    openai_server.script(CHAT, Slow(0.3))
    started = time.monotonic()
    r = chat(http, openai_server)
    assert time.monotonic() - started >= 0.3
    assert r.status_code == 200
    assert r.json()["object"] == "chat.completion"


@pytest.mark.parametrize("n_bytes", [2, 9, 13, 14, 1_000_003])
def test_huge_has_exact_length(
    http: requests.Session, openai_server: FakeOpenAIServer, n_bytes: int
) -> None:
    openai_server.script(CHAT, Huge(n_bytes))
    r = chat(http, openai_server)
    assert r.status_code == 200
    assert r.headers["Content-Length"] == str(n_bytes)
    assert len(r.content) == n_bytes
    assert isinstance(r.json(), dict)


def test_huge_can_be_streamed_and_abandoned(
    http: requests.Session, openai_server: FakeOpenAIServer
) -> None:
    openai_server.script(CHAT, Huge(20_000_000))
    with chat(http, openai_server, stream=True) as r:
        assert int(r.headers["Content-Length"]) == 20_000_000
        assert len(next(r.iter_content(1024))) > 0
    assert chat(http, openai_server).status_code == 200
    assert openai_server.errors == []


def test_redirect(http: requests.Session, openai_server: FakeOpenAIServer) -> None:
    openai_server.script(CHAT, Redirect(f"{openai_server.url}/elsewhere", code=302))
    r = chat(http, openai_server, allow_redirects=False)
    assert r.status_code == 302
    assert r.headers["Location"] == f"{openai_server.url}/elsewhere"
    # 307 keeps the method and body: following it reaches the normal handler.
    openai_server.script(CHAT, Redirect("/v1/chat/completions", code=307))
    r = chat(http, openai_server)
    assert r.status_code == 200
    assert [resp.status_code for resp in r.history] == [307]
    assert openai_server.count(CHAT) == 3


def test_garbage_is_not_json(http: requests.Session, openai_server: FakeOpenAIServer) -> None:
    openai_server.script(CHAT, Garbage())
    r = chat(http, openai_server)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    with pytest.raises(requests.JSONDecodeError):
        r.json()


def test_echo_repeats_the_credential_in_the_protocols_error_shape(
    http: requests.Session, make_openai_server: Callable[..., FakeOpenAIServer]
) -> None:
    server = make_openai_server(api_key="k-123")
    server.script(CHAT, Echo(401), Echo(400, "key"), Echo(500, "headers"))
    auth = {"Authorization": "Bearer k-123"}
    first, second, third = (chat(http, server, headers=auth) for _ in range(3))
    assert first.status_code == 401
    assert first.json()["error"]["message"] == "Incorrect API key provided: Bearer k-123"
    assert first.json()["error"]["code"] == "invalid_api_key"
    assert (second.status_code, "the key k-123 may" in second.json()["error"]["message"]) == (
        400,
        True,
    )
    assert third.status_code == 500
    assert "'Authorization': 'Bearer k-123'" in third.json()["error"]["message"]
    assert chat(http, server, headers=auth).status_code == 200  # scripts used up


def test_jobs_echo_and_failed_job_error_template(
    http: requests.Session, make_jobs_server: Callable[..., FakeJobsServer]
) -> None:
    server = make_jobs_server(
        api_key="k-9", polls_to_finish=1, fail_next_jobs=1, fail_error="died with {authorization}"
    )
    auth = {"Authorization": "Bearer k-9"}
    server.script("POST /v1/predictions", Echo(401))
    url = f"{server.url}/v1/predictions"
    body = {"model": "m", "input": {}}
    echoed = http.post(url, json=body, headers=auth, timeout=TIMEOUT)
    assert echoed.json() == {"detail": "Incorrect API key provided: Bearer k-9"}
    job = http.post(url, json=body, headers=auth, timeout=TIMEOUT).json()
    polled = http.get(f"{url}/{job['id']}", headers=auth, timeout=TIMEOUT).json()
    assert (polled["status"], polled["error"]) == ("failed", "died with Bearer k-9")


def test_drop_raises_connection_error(
    http: requests.Session, openai_server: FakeOpenAIServer
) -> None:
    openai_server.script(CHAT, Drop())
    with pytest.raises(requests.ConnectionError):
        chat(http, openai_server)
    assert chat(http, openai_server).status_code == 200


def test_route_globs_match_one_segment(http: requests.Session, jobs_server: FakeJobsServer) -> None:
    job = http.post(
        f"{jobs_server.url}/v1/predictions", json={"model": "m", "input": {}}, timeout=TIMEOUT
    ).json()
    jobs_server.script("GET /v1/predictions/*", Status(500))
    assert http.post(job["urls"]["cancel"], timeout=TIMEOUT).status_code == 200  # not matched
    r = http.get(job["urls"]["get"], timeout=TIMEOUT)
    assert (r.status_code, r.json()) == (500, {"detail": "Internal Server Error"})
    assert jobs_server.count("GET /v1/predictions/*") == 1
    assert jobs_server.count("* /v1/predictions/**") == 2
    assert jobs_server.count("POST /v1/predictions") == 1
    with pytest.raises(ValueError):
        jobs_server.script("/v1/predictions", Drop())


def test_request_log(http: requests.Session, openai_server: FakeOpenAIServer) -> None:
    before = time.time()
    chat(http, openai_server, headers={"X-Trace": "abc"})
    http.get(f"{openai_server.url}/files/none.png?x=1", timeout=TIMEOUT)
    first, second = openai_server.requests
    assert (first.method, first.path, first.json) == ("POST", "/v1/chat/completions", CHAT_BODY)
    assert first.headers["X-Trace"] == "abc"
    assert first.header("x-trace") == "abc"
    assert first.header("content-type") == "application/json"
    assert before <= first.time <= second.time
    assert (second.key, second.query, second.json, second.body) == (
        "GET /files/none.png",
        "x=1",
        None,
        b"",
    )
    assert [r.key for r in openai_server.requests_for("GET /files/*")] == ["GET /files/none.png"]


def test_counts_are_thread_safe(openai_server: FakeOpenAIServer) -> None:
    openai_server.script(CHAT, *[Status(503)] * 10)
    statuses: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        with requests.Session() as session:
            session.trust_env = False
            for _ in range(5):
                code = chat(session, openai_server).status_code
                with lock:
                    statuses.append(code)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert openai_server.count(CHAT) == 40
    assert sorted(statuses) == [200] * 30 + [503] * 10


# -- jobs protocol --------------------------------------------------------------------------


def create_job(http: requests.Session, server: FakeJobsServer, **headers: str) -> requests.Response:
    return http.post(
        f"{server.url}/v1/predictions",
        json={"model": "owner/video", "input": {"prompt": "waves"}},
        headers=headers,
        timeout=TIMEOUT,
    )


def test_job_progression(http: requests.Session, jobs_server: FakeJobsServer) -> None:
    r = create_job(http, jobs_server)
    assert r.status_code == 201
    job = r.json()
    assert job["status"] == "starting"
    assert job["id"] == "job-1"
    assert job["created_at"].endswith("Z")
    assert job["urls"] == {
        "get": f"{jobs_server.url}/v1/predictions/job-1",
        "cancel": f"{jobs_server.url}/v1/predictions/job-1/cancel",
    }
    assert (job["output"], job["error"], job["metrics"]) == (None, None, {})

    polled = http.get(job["urls"]["get"], timeout=TIMEOUT).json()
    assert (polled["status"], polled["output"]) == ("processing", None)
    done = http.get(job["urls"]["get"], timeout=TIMEOUT).json()
    assert done["status"] == "succeeded"
    assert done["output"] == f"{jobs_server.url}/files/job-1.mp4"
    assert done["error"] is None
    assert isinstance(done["metrics"]["predict_time"], float)
    assert http.get(job["urls"]["get"], timeout=TIMEOUT).json() == done  # stays terminal

    video = http.get(done["output"], timeout=TIMEOUT)
    assert (video.status_code, video.headers["Content-Type"]) == (200, "video/mp4")
    assert video.content == FAKE_MP4


def test_job_finished_by_the_test(
    http: requests.Session, make_jobs_server: Callable[..., FakeJobsServer]
) -> None:
    server = make_jobs_server(polls_to_finish=None)
    job = create_job(http, server).json()
    for _ in range(3):
        assert http.get(job["urls"]["get"], timeout=TIMEOUT).json()["status"] == "processing"
    server.finish(job["id"], status="failed", error="boom")
    failed = http.get(job["urls"]["get"], timeout=TIMEOUT).json()
    assert (failed["status"], failed["output"], failed["error"]) == ("failed", None, "boom")
    assert "predict_time" in failed["metrics"]

    other = create_job(http, server).json()
    server.finish(other["id"], output="https://cdn.invalid/x.mp4")
    assert server.job(other["id"])["output"] == "https://cdn.invalid/x.mp4"
    with pytest.raises(KeyError):
        server.finish("job-404")


def test_fail_next_jobs(
    http: requests.Session, make_jobs_server: Callable[..., FakeJobsServer]
) -> None:
    server = make_jobs_server(polls_to_finish=1, fail_next_jobs=1)
    first, second = create_job(http, server).json(), create_job(http, server).json()
    failed = http.get(first["urls"]["get"], timeout=TIMEOUT).json()
    assert (failed["status"], failed["output"]) == ("failed", None)
    assert failed["error"]
    assert http.get(second["urls"]["get"], timeout=TIMEOUT).json()["status"] == "succeeded"
    server.fail_next_jobs = 1
    third = create_job(http, server).json()
    assert http.get(third["urls"]["get"], timeout=TIMEOUT).json()["status"] == "failed"


def test_cancel(http: requests.Session, jobs_server: FakeJobsServer) -> None:
    job = create_job(http, jobs_server).json()
    r = http.post(job["urls"]["cancel"], timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.json()["status"] == "canceled"
    assert http.get(job["urls"]["get"], timeout=TIMEOUT).json()["status"] == "canceled"

    done = create_job(http, jobs_server).json()
    jobs_server.finish(done["id"])
    again = http.post(done["urls"]["cancel"], timeout=TIMEOUT).json()
    assert again["status"] == "succeeded"  # terminal jobs are unchanged
    assert jobs_server.cancels == [job["id"], done["id"]]
    assert jobs_server.count("POST /v1/predictions/*/cancel") == 2


def test_jobs_errors_and_auth(
    http: requests.Session, make_jobs_server: Callable[..., FakeJobsServer]
) -> None:
    server = make_jobs_server(api_key="r8-key")
    r = create_job(http, server)
    assert (r.status_code, r.json()) == (401, {"detail": "Unauthenticated"})
    auth = {"Authorization": "Bearer r8-key"}
    assert create_job(http, server, **auth).status_code == 201
    missing = http.get(f"{server.url}/v1/predictions/nope", headers=auth, timeout=TIMEOUT)
    assert (missing.status_code, missing.json()) == (404, {"detail": "Not found"})
    bad = http.post(f"{server.url}/v1/predictions", json={"x": 1}, headers=auth, timeout=TIMEOUT)
    assert bad.status_code == 422
    assert http.get(f"{server.url}/files/job-1.mp4", timeout=TIMEOUT).status_code == 200


def test_context_manager_closes(http: requests.Session) -> None:
    with FakeJobsServer() as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert create_job(http, server).status_code == 201
    assert server.closed
    with pytest.raises(requests.ConnectionError):
        http.get(f"{server.url}/v1/predictions/job-1", timeout=TIMEOUT)

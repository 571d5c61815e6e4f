"""HTTP against the stack, every request recorded, and a bounded multi-threaded load."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

NOT_JSON = "not JSON"
REQUEST_TIMEOUT_S = 20.0
_counter = itertools.count()


@dataclass(frozen=True)
class Record:
    """One request and what came back (status 0: no response at all)."""

    method: str
    path: str
    user: str
    status: int
    body: Any  # the decoded JSON, or NOT_JSON
    text: str
    latency_s: float
    at: float  # time.monotonic() when the request was sent
    retry_after: str | None = None


class Api:
    """Records every request of a test, whichever thread sends it."""

    def __init__(self, base_url: str, tokens: dict[str, str]) -> None:
        self.base_url = base_url
        self.tokens = tokens
        self.records: list[Record] = []
        self._lock = threading.Lock()
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def request(
        self, method: str, path: str, *, user: str = "alice", json: Any = None, record: bool = True
    ) -> Record:
        headers = {"Authorization": f"Token {self.tokens[user]}"} if user else {}
        started, at = time.perf_counter(), time.monotonic()
        try:
            response = self._session().request(
                method, self.base_url + path, json=json, headers=headers, timeout=REQUEST_TIMEOUT_S
            )
            status, text = response.status_code, response.text
            retry_after = response.headers.get("Retry-After")
            try:
                body: Any = response.json()
            except ValueError:
                body = NOT_JSON
        except requests.RequestException as exc:
            status, text, body, retry_after = 0, f"{type(exc).__name__}: {exc}", NOT_JSON, None
        entry = Record(
            method, path, user, status, body, text, time.perf_counter() - started, at, retry_after
        )
        if record:
            with self._lock:
                self.records.append(entry)
        return entry

    def create(
        self, provider: str, *, user: str = "alice", kind: str = "text_to_image", prompt: str = ""
    ) -> Record:
        return self.request(
            "POST", "/api/v1/generations", user=user, json=body(provider, kind, prompt)
        )

    def created_ids(self) -> list[str]:
        return [r.body["id"] for r in self.records if r.status == 201 and isinstance(r.body, dict)]


def body(provider: str, kind: str = "text_to_image", prompt: str = "") -> dict[str, Any]:
    """A create body that never dedups (strategy ``always``, a unique prompt)."""
    return {
        "provider_id": provider,
        "config": {
            "generation_type": kind,
            "purpose": "adaptive",
            "strategy": "always",
            "prompt": prompt or f"chaos scene {next(_counter)} {time.time_ns()}",
        },
    }


class Load:
    """``threads`` threads, each calling ``step(api, thread_index)`` until ``seconds`` pass
    or it made ``count`` calls; ``pause_s`` between calls keeps the 2-core machine usable."""

    def __init__(
        self,
        api: Api,
        step: Callable[[Api, int], object],
        *,
        threads: int = 3,
        seconds: float = 10.0,
        count: int | None = None,
        pause_s: float = 0.05,
    ) -> None:
        self.api, self.step = api, step
        self.seconds, self.count, self.pause_s = seconds, count, pause_s
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(i,), daemon=True, name=f"chaos-load-{i}")
            for i in range(threads)
        ]

    def _run(self, index: int) -> None:
        deadline = time.monotonic() + self.seconds
        for done in itertools.count():
            if self._stop.is_set() or time.monotonic() > deadline:
                return
            if self.count is not None and done >= self.count:
                return
            self.step(self.api, index)
            self._stop.wait(self.pause_s)

    def start(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=self.seconds + REQUEST_TIMEOUT_S + 5)

    def stop(self) -> None:
        self._stop.set()
        self.join()

    def __enter__(self) -> Load:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.join()

"""A fake asynchronous job API shaped like Replicate's predictions, on 127.0.0.1.

Protocol
--------
``POST /v1/predictions``
    Request ``{"model": str, "input": {...}}``. 201 with the job, ``"status": "starting"``
    (422 ``{"detail": ...}`` when ``model`` or ``input`` is missing or mistyped).
``GET /v1/predictions/<id>``
    200 with the job. Each GET of an unfinished job is a *poll*: polls before
    ``polls_to_finish`` move it to ``"processing"``; the ``polls_to_finish``-th poll
    finishes it (``"succeeded"``, or ``"failed"`` for jobs created while
    ``fail_next_jobs > 0``). ``polls_to_finish=None`` never finishes on its own; the test
    calls ``server.finish(job_id, ...)``. Unknown id: 404 ``{"detail": "Not found"}``.
``POST /v1/predictions/<id>/cancel``
    200 with the job, ``"canceled"`` unless it was already terminal (then unchanged).
    Every cancel request's job id is appended to ``server.cancels``.
``GET /files/<id>.mp4``
    A few bytes of MP4 (``video/mp4``); a succeeded job's default ``output`` is this URL.
    No authentication needed.

A job is ``{"id", "model", "input", "status", "output", "error", "logs", "created_at",
"started_at", "completed_at", "urls": {"get", "cancel"}, "metrics"}`` with ISO-8601 UTC
times (None until reached), absolute URLs, ``output`` null unless succeeded, ``error`` a
string or null, and ``metrics`` ``{"predict_time": <float>}`` once terminal, else ``{}``.

With ``api_key`` set, requests need ``Authorization: Bearer <api_key>``, else 401
``{"detail": "Unauthenticated"}``. Error bodies are ``{"detail": <str>}``; scripted
``Status(code)`` without a body uses that shape too. Scripted behaviours replace the normal
handler, so a scripted GET is not a poll.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from tests.fakes.server import FakeServer, RecordedRequest, Reply, status_phrase

__all__ = ["FAKE_MP4", "TERMINAL_STATUSES", "FakeJobsServer", "Job"]

FAKE_MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom\x00\x00\x00\x08free"
TERMINAL_STATUSES = frozenset({"succeeded", "failed", "canceled"})
DEFAULT_ERROR = "Fake job failed"

_JOB = re.compile(r"/v1/predictions/([A-Za-z0-9_-]+)")
_CANCEL = re.compile(r"/v1/predictions/([A-Za-z0-9_-]+)/cancel")
_FILE = re.compile(r"/files/([A-Za-z0-9_-]+)\.mp4")


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Job:
    """Server-side state of one job."""

    id: str
    model: str
    input: dict[str, Any]
    created_at: float = field(default_factory=time.time)
    status: str = "starting"
    output: Any = None
    error: str | None = None
    polls: int = 0
    will_fail: bool = False
    fail_error: str | None = None
    started_at: float | None = None
    completed_at: float | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class FakeJobsServer(FakeServer):
    """Fake Replicate-style prediction API.

    Args:
        api_key: require ``Authorization: Bearer <api_key>`` (None: no auth).
        polls_to_finish: GETs after which a job finishes by itself; None: only ``finish()``.
        fail_next_jobs: the next N jobs created will fail instead of succeeding.
        fail_error: the ``error`` of those failed jobs (default ``"Fake job failed"``);
            ``{authorization}`` in it is replaced by the submitting request's
            ``Authorization`` header (a provider echoing the key in a job's error).

    ``polls_to_finish`` and ``fail_next_jobs`` may be reassigned while running.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        polls_to_finish: int | None = 2,
        fail_next_jobs: int = 0,
        fail_error: str | None = None,
    ) -> None:
        self.polls_to_finish = polls_to_finish
        self.fail_next_jobs = fail_next_jobs
        self.fail_error = fail_error
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._cancels: list[str] = []
        self._counter = 0
        super().__init__(api_key)

    # -- test controls -------------------------------------------------------------------

    def finish(
        self,
        job_id: str,
        status: Literal["succeeded", "failed", "canceled"] = "succeeded",
        output: Any = None,
        error: str | None = None,
    ) -> dict[str, Any]:
        """Make ``job_id`` terminal now (even if it already was); returns the job JSON.

        ``output`` defaults to the job's file URL when succeeded; ``error`` defaults to
        ``"Fake job failed"`` when failed. Raises KeyError for an unknown id.
        """
        if status not in TERMINAL_STATUSES:
            raise ValueError(f"status must be one of {sorted(TERMINAL_STATUSES)}")
        with self._lock:
            job = self._jobs[job_id]
            self._complete(job, status, output, error)
            return self._to_json(job)

    def job(self, job_id: str) -> dict[str, Any]:
        """The job's current JSON, as GET would return it but without counting a poll."""
        with self._lock:
            return self._to_json(self._jobs[job_id])

    @property
    def job_ids(self) -> list[str]:
        with self._lock:
            return list(self._jobs)

    @property
    def cancels(self) -> list[str]:
        """Job ids of every cancel request received, in order (terminal jobs included)."""
        with self._lock:
            return list(self._cancels)

    def output_url(self, job_id: str) -> str:
        return f"{self.url}/files/{job_id}.mp4"

    # -- FakeServer hooks ----------------------------------------------------------------

    def error_body(self, status: int) -> Any:
        return {"detail": status_phrase(status)}

    def message_body(self, status: int, message: str) -> Any:
        return {"detail": message}

    def unauthorized(self) -> Reply:
        return Reply(401, {"detail": "Unauthenticated"})

    def respond(self, request: RecordedRequest) -> Reply:
        method, path = request.method, request.path
        if method == "POST" and path == "/v1/predictions":
            return self._create(request.json, request.header("Authorization") or "")
        if method == "POST" and (match := _CANCEL.fullmatch(path)):
            return self._cancel(match.group(1))
        if method == "GET" and (match := _JOB.fullmatch(path)):
            return self._poll(match.group(1))
        if method == "GET" and (match := _FILE.fullmatch(path)):
            with self._lock:
                known = match.group(1) in self._jobs
            if known:
                return Reply(200, content=FAKE_MP4, content_type="video/mp4")
        return _not_found()

    # -- endpoints -----------------------------------------------------------------------

    def _create(self, body: Any, authorization: str = "") -> Reply:
        if not isinstance(body, dict) or not isinstance(body.get("model"), str):
            return Reply(422, {"detail": "model: a string is required"})
        if not isinstance(body.get("input"), dict):
            return Reply(422, {"detail": "input: an object is required"})
        with self._lock:
            self._counter += 1
            job = Job(id=f"job-{self._counter}", model=body["model"], input=body["input"])
            if self.fail_next_jobs > 0:
                self.fail_next_jobs -= 1
                job.will_fail = True
                if self.fail_error is not None:
                    job.fail_error = self.fail_error.replace("{authorization}", authorization)
            self._jobs[job.id] = job
            return Reply(201, self._to_json(job))

    def _poll(self, job_id: str) -> Reply:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return _not_found()
            if not job.terminal:
                job.polls += 1
                if self.polls_to_finish is not None and job.polls >= self.polls_to_finish:
                    status = "failed" if job.will_fail else "succeeded"
                    self._complete(job, status, None, job.fail_error if job.will_fail else None)
                elif job.status == "starting":
                    job.status, job.started_at = "processing", time.time()
            return Reply(200, self._to_json(job))

    def _cancel(self, job_id: str) -> Reply:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return _not_found()
            self._cancels.append(job_id)
            if not job.terminal:
                self._complete(job, "canceled", None, None)
            return Reply(200, self._to_json(job))

    # -- helpers (call with self._lock held) ---------------------------------------------

    def _complete(self, job: Job, status: str, output: Any, error: str | None) -> None:
        now = time.time()
        job.status = status
        job.started_at = job.started_at or now
        job.completed_at = now
        if status == "succeeded":
            job.output, job.error = (
                (output if output is not None else self.output_url(job.id)),
                error,
            )
        else:
            job.output = None
            job.error = error if error is not None or status != "failed" else DEFAULT_ERROR

    def _to_json(self, job: Job) -> dict[str, Any]:
        metrics: dict[str, float] = {}
        if job.terminal and job.completed_at is not None and job.started_at is not None:
            metrics["predict_time"] = round(job.completed_at - job.started_at, 6)
        return {
            "id": job.id,
            "model": job.model,
            "input": job.input,
            "status": job.status,
            "output": job.output,
            "error": job.error,
            "logs": "",
            "created_at": _iso(job.created_at),
            "started_at": _iso(job.started_at),
            "completed_at": _iso(job.completed_at),
            "urls": {
                "get": f"{self.url}/v1/predictions/{job.id}",
                "cancel": f"{self.url}/v1/predictions/{job.id}/cancel",
            },
            "metrics": metrics,
        }


def _not_found() -> Reply:
    return Reply(404, {"detail": "Not found"})

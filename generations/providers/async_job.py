"""Asynchronous job APIs: submit, poll, cancel (the shape of Replicate's predictions).

``POST v1/predictions {"model", "input"}`` returns a job id; ``GET v1/predictions/{id}``
reports ``starting|processing|succeeded|failed|canceled`` with an ``output`` URL when done;
``POST v1/predictions/{id}/cancel`` cancels. genpipe never waits in a worker: the task that
submits re-schedules a poll task until the job ends or the deadline passes.
"""

from __future__ import annotations

from typing import Any

from .base import JobStatus, ProviderConfig, ProviderRequest, ProviderResult, ProviderTransientError
from .client import ProviderClient

RUNNING = frozenset({"starting", "processing", "queued", "running"})


class AsyncJobAdapter:
    is_async = True

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config

    def _client(self, request: ProviderRequest | None = None) -> ProviderClient:
        return ProviderClient(self.config, timeout_s=request.timeout_s if request else None)

    def submit(self, request: ProviderRequest) -> str:
        block = request.provider_block(self.config.id)
        media = request.params.get("media") or {}
        duration = (request.params.get("duration") or {}).get("target")
        inputs: dict[str, Any] = {"prompt": request.prompt, "seed": request.seed[:16]}
        if media.get("image_url"):
            inputs["image"] = media["image_url"]
        if media.get("image_urls"):
            inputs["images"] = media["image_urls"]
        if media.get("video_url"):
            inputs["video"] = media["video_url"]
        if duration:
            inputs["duration"] = duration
        inputs.update({k: v for k, v in block.items() if k != "model"})
        body = {
            "model": str(block.get("model") or self.config.settings.get("model") or ""),
            "input": inputs,
        }
        client = self._client(request)
        try:
            data = client.request("POST", "v1/predictions", json_body=body).data
        finally:
            client.close()
        job_id = str((data or {}).get("id") or "")
        if not job_id:
            raise ProviderTransientError("provider_bad_response", "The job answer has no id.")
        return job_id

    def poll(self, job_id: str, request: ProviderRequest) -> JobStatus:
        client = self._client(request)
        try:
            data = client.request("GET", f"v1/predictions/{job_id}").data or {}
        finally:
            client.close()
        state = str(data.get("status") or "")
        if state in RUNNING:
            return JobStatus("running")
        if state == "succeeded":
            output = data.get("output")
            url = output[0] if isinstance(output, list) and output else output
            if not isinstance(url, str) or not url.startswith(("https://", "http://")):
                raise ProviderTransientError("provider_bad_response", "No output URL.")
            metrics = data.get("metrics") or {}
            duration = float((request.params.get("duration") or {}).get("target") or 0)
            return JobStatus(
                "succeeded",
                ProviderResult(
                    media_url=url,
                    media_type="video/mp4",
                    metadata={
                        "provider": self.config.id,
                        "job_id": job_id,
                        "predict_time_s": metrics.get("predict_time"),
                    },
                    video_seconds=duration,
                    provider_job_id=job_id,
                ),
            )
        if state in ("canceled", "cancelled"):
            return JobStatus(
                "canceled",
                error_code="provider_job_canceled",
                error_message="The provider cancelled the job.",
            )
        return JobStatus(
            "failed",
            error_code="provider_job_failed",
            error_message=client.redact(str(data.get("error") or f"Job ended {state!r}.")),
        )

    def cancel(self, job_id: str) -> None:
        client = self._client()
        try:
            client.request("POST", f"v1/predictions/{job_id}/cancel")
        finally:
            client.close()

    def generate(self, request: ProviderRequest) -> ProviderResult:  # pragma: no cover
        raise NotImplementedError

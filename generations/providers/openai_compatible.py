"""OpenAI-compatible APIs (OpenAI, Ollama, vLLM, LM Studio, ...).

Text operations (``dialogue``, ``npc_response``) use ``POST /v1/chat/completions``;
``text_to_image`` uses ``POST /v1/images/generations``. The model comes from the request's
``style.<provider_id>.model``, else the provider's ``settings.model`` /
``settings.image_model``. Token usage is reported for cost accounting.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ..models import TEXT_OPERATIONS  # the one home of operation sets
from .base import (
    JobStatus,
    ProviderConfig,
    ProviderPermanentError,
    ProviderRequest,
    ProviderResult,
    ProviderTransientError,
)
from .client import ProviderClient

DEFAULT_SYSTEM_PROMPT = (
    "You write one short line of in-character dialogue for a video game. Reply with the line only."
)


def _seed(request: ProviderRequest) -> int:
    return int(hashlib.sha256(request.seed.encode()).hexdigest()[:8], 16)


def _bad(message: str) -> ProviderTransientError:
    return ProviderTransientError("provider_bad_response", message)


class OpenAICompatibleAdapter:
    is_async = False

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config

    def generate(self, request: ProviderRequest) -> ProviderResult:
        client = ProviderClient(self.config, timeout_s=request.timeout_s)
        try:
            if request.operation_type in TEXT_OPERATIONS:
                return self._chat(client, request)
            if request.operation_type == "text_to_image":
                return self._image(client, request)
        finally:
            client.close()
        raise ProviderPermanentError(
            "operation_not_supported",
            f"The OpenAI-compatible adapter cannot do {request.operation_type}.",
        )

    def _model(self, request: ProviderRequest, setting: str, default: str) -> str:
        block = request.provider_block(self.config.id)
        return str(block.get("model") or self.config.settings.get(setting) or default)

    def _chat(self, client: ProviderClient, request: ProviderRequest) -> ProviderResult:
        block = request.provider_block(self.config.id)
        body: dict[str, Any] = {
            "model": self._model(request, "model", "gpt-4o-mini"),
            "messages": [
                {
                    "role": "system",
                    "content": str(
                        self.config.settings.get("system_prompt") or DEFAULT_SYSTEM_PROMPT
                    ),
                },
                {"role": "user", "content": request.prompt},
            ],
            "seed": _seed(request),
        }
        for name in ("temperature", "max_tokens", "top_p"):
            if name in block:
                body[name] = block[name]
        data = client.request("POST", "v1/chat/completions", json_body=body).data
        try:
            text = str(data["choices"][0]["message"]["content"]).strip()
        except (KeyError, IndexError, TypeError) as exc:
            raise _bad("No choices[0].message.content in the answer.") from exc
        usage = data.get("usage") or {}
        return ProviderResult(
            text=text,
            metadata={"provider": self.config.id, "model": data.get("model") or body["model"]},
            tokens_in=int(usage.get("prompt_tokens") or 0),
            tokens_out=int(usage.get("completion_tokens") or 0),
            provider_job_id=str(data.get("id") or ""),
        )

    def _image(self, client: ProviderClient, request: ProviderRequest) -> ProviderResult:
        block = request.provider_block(self.config.id)
        body = {
            "model": self._model(request, "image_model", "gpt-image-1"),
            "prompt": request.prompt,
            "n": 1,
            "size": str(block.get("size") or "1024x1024"),
        }
        data = client.request("POST", "v1/images/generations", json_body=body).data
        try:
            item = data["data"][0]
        except (KeyError, IndexError, TypeError) as exc:
            raise _bad("No data[0] in the image answer.") from exc
        if item.get("url"):
            url, media_type = str(item["url"]), "image/png"
        elif item.get("b64_json"):
            url, media_type = "data:image/png;base64," + str(item["b64_json"]), "image/png"
        else:
            raise _bad("The image answer has neither url nor b64_json.")
        if not url.startswith(("https://", "http://", "data:image/")):
            raise _bad("The image URL is not http(s).")
        return ProviderResult(
            media_url=url,
            media_type=media_type,
            metadata={"provider": self.config.id, "model": body["model"], "size": body["size"]},
            tokens_in=0,
            images=1,
        )

    def submit(self, request: ProviderRequest) -> str:  # pragma: no cover - sync adapter
        raise NotImplementedError

    def poll(self, job_id: str, request: ProviderRequest) -> JobStatus:  # pragma: no cover
        raise NotImplementedError

    def cancel(self, job_id: str) -> None:  # pragma: no cover - sync adapter
        raise NotImplementedError

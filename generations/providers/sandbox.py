"""The built-in offline provider.

Content is derived from the final prompt and the seed only, so the same request always
yields the same text or picture. Text operations return a line of dialogue; image
operations an SVG picture and video operations an animated SVG clip, both as data URLs.
Provider settings: ``latency_ms`` (simulated call time), ``failure_rate`` (0..1, decided
per generation and attempt so a retry can succeed; transient, the provider's fault),
``failure_code`` and ``reject_marker`` (a prompt containing it is refused as
``provider_invalid_request``: permanent, the request's fault).
"""

from __future__ import annotations

import base64
import hashlib
import html
import math
import time
from typing import Any

from ..models import IMAGE_OPERATIONS, TEXT_OPERATIONS  # the one home of operation sets
from .base import (
    ProviderConfig,
    ProviderPermanentError,
    ProviderRequest,
    ProviderResult,
    ProviderTransientError,
)

_OPENERS = (
    "Well,",
    "Listen,",
    "Hm.",
    "Oh!",
    "Honestly,",
    "You know,",
    "Look,",
    "Ah,",
)
_TONES = (
    "I didn't expect to see you here.",
    "there's something you should know.",
    "the rain always brings back old memories.",
    "we should keep moving before dark.",
    "I've been thinking about what you said.",
    "this place feels different tonight.",
    "you can trust me on this one.",
    "let's not make this harder than it is.",
)
_CLOSERS = (
    "Shall we?",
    "What do you say?",
    "Stay close.",
    "Don't be a stranger.",
    "I'll be waiting.",
    "Your call.",
    "Let's go.",
    "Think it over.",
)


def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4)) if text else 0


def _unit(digest: bytes) -> float:
    return int.from_bytes(digest[:8], "big") / 2**64


class SandboxAdapter:
    is_async = False

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        self.latency_ms = max(0, int(config.settings.get("latency_ms", 0) or 0))
        self.failure_rate = min(1.0, max(0.0, float(config.settings.get("failure_rate", 0) or 0)))
        self.failure_code = str(config.settings.get("failure_code") or "sandbox_unavailable")
        # A prompt containing this text is rejected as an invalid request (permanent, the
        # request's fault), like a provider's moderation or validation would.
        self.reject_marker = str(config.settings.get("reject_marker") or "")

    def generate(self, request: ProviderRequest) -> ProviderResult:
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        if self.reject_marker and self.reject_marker in request.prompt:
            raise ProviderPermanentError(
                "provider_invalid_request", "Sandbox rejected the request (reject_marker)."
            )
        roll = hashlib.sha256(f"{request.generation_id}:{request.attempt_number}".encode()).digest()
        if self.failure_rate and _unit(roll) < self.failure_rate:
            raise ProviderTransientError(
                self.failure_code, "Sandbox failure injected by the provider's failure_rate."
            )
        digest = hashlib.sha256(f"{request.prompt}\x00{request.seed}".encode()).digest()
        if request.operation_type in TEXT_OPERATIONS:
            return self._text(request, digest)
        if request.operation_type in IMAGE_OPERATIONS:
            return self._picture(request, digest, animated=False)
        return self._picture(request, digest, animated=True)

    def _text(self, request: ProviderRequest, digest: bytes) -> ProviderResult:
        line = (
            f"{_OPENERS[digest[0] % len(_OPENERS)]} {_TONES[digest[1] % len(_TONES)]} "
            f"{_CLOSERS[digest[2] % len(_CLOSERS)]}"
        )
        return ProviderResult(
            text=line,
            metadata={"provider": "sandbox", "seed": request.seed[:16], "model": "sandbox-text-1"},
            tokens_in=_tokens(request.prompt),
            tokens_out=_tokens(line),
        )

    def _picture(
        self, request: ProviderRequest, digest: bytes, *, animated: bool
    ) -> ProviderResult:
        hue_a, hue_b = digest[3] * 360 // 256, digest[4] * 360 // 256
        cx, cy, r = 80 + digest[5] % 480, 60 + digest[6] % 240, 30 + digest[7] % 90
        caption = html.escape(request.prompt[:80])
        duration = float(_duration(request.params)) if animated else 0.0
        motion = (
            f'<animate attributeName="cx" values="{cx};{640 - cx};{cx}" dur="{duration:g}s" '
            'repeatCount="indefinite"/>'
            if animated
            else ""
        )
        svg = (
            '<svg xmlns="http://www.w3.org/2000/svg" width="640" height="360" '
            'viewBox="0 0 640 360">'
            f'<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">'
            f'<stop offset="0" stop-color="hsl({hue_a},70%,45%)"/>'
            f'<stop offset="1" stop-color="hsl({hue_b},70%,25%)"/></linearGradient></defs>'
            '<rect width="640" height="360" fill="url(#g)"/>'
            f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="hsla({(hue_a + 180) % 360},80%,70%,0.8)">'
            f"{motion}</circle>"
            '<text x="20" y="340" font-family="sans-serif" font-size="16" fill="#fff">'
            f"{caption}</text>"
            "</svg>"
        )
        url = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
        metadata: dict[str, Any] = {
            "provider": "sandbox",
            "seed": request.seed[:16],
            "width": 640,
            "height": 360,
            "kind": "video" if animated else "image",
            "model": "sandbox-video-1" if animated else "sandbox-image-1",
        }
        if animated:
            metadata["duration_s"] = duration
        return ProviderResult(
            media_url=url,
            media_type="image/svg+xml",
            metadata=metadata,
            tokens_in=_tokens(request.prompt),
            images=0 if animated else 1,
            video_seconds=duration,
        )


def _duration(params: Any) -> float:
    duration = (params or {}).get("duration") or {}
    for key in ("target", "max", "min"):
        if duration.get(key):
            return float(duration[key])
    return 5.0

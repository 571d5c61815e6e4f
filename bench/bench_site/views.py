"""Ceiling endpoints: what the stack costs before any genpipe logic runs.

Both are plain DRF ``APIView`` subclasses with the project's default authentication,
permission, throttle, parser and renderer classes, so they pay the same per-request
framework cost (token lookup, user throttle in Redis, JSON parse/render) as the product.
"""

from __future__ import annotations

import hashlib

from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from generations.models import Generation, OperationType, Purpose, Strategy


class NoopApi(APIView):
    """Read ceiling: auth + throttle + render, nothing else."""

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class InsertSerializer(serializers.Serializer):  # type: ignore[type-arg]
    prompt = serializers.CharField(max_length=500)
    workspace_id = serializers.IntegerField(min_value=1)


class InsertApi(APIView):
    """Write ceiling: validate a tiny body and insert one Generation row, nothing else.

    The row goes to the workspace named in the body (the harness uses a dedicated
    ``bench-ceiling`` workspace that no worker ever processes).
    """

    def post(self, request: Request) -> Response:
        serializer = InsertSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        prompt: str = serializer.validated_data["prompt"]
        row = Generation.objects.create(
            workspace_id=serializer.validated_data["workspace_id"],
            operation_type=OperationType.TEXT_TO_IMAGE,
            provider_id="sandbox",
            purpose=Purpose.ADAPTIVE,
            strategy=Strategy.ONCE,
            name="bench insert",
            config={"prompt": prompt},
            reproducible_hash=hashlib.sha256(prompt.encode()).hexdigest(),
            final_prompt=prompt,
        )
        return Response({"id": str(row.id)}, status=status.HTTP_201_CREATED)

"""Cache endpoints (staff only): statistics, and invalidating one slot."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from caching.stats import cache_stats
from core.schema import error_responses

from .selectors import workspace_any_resolve
from .services.invalidation import generation_slot_invalidate


class CacheStatsApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(responses=OpenApiTypes.OBJECT, summary="Hit rate, entries and backend")
    def get(self, request: Request) -> Response:
        return Response(cache_stats())


class SlotQuerySerializer(serializers.Serializer):
    workspace = serializers.CharField(
        max_length=64, help_text="Id or slug of the slot's workspace (any workspace: staff only)."
    )
    key = serializers.RegexField(  # scene and player ids are free text: spaces included
        r"^generation:.+\Z",
        max_length=1000,
        trim_whitespace=False,
        help_text="A generation cache key, e.g. `generation:text_to_image|adaptive|…|once|v1`.",
        error_messages={"invalid": "Only generation cache keys (generation:…) can be deleted."},
    )


class SlotDeletedSerializer(serializers.Serializer):
    workspace = serializers.IntegerField()
    key = serializers.CharField()
    deleted = serializers.BooleanField(help_text="Whether the slot was in the cache.")
    invalidated = serializers.IntegerField(
        help_text="Generations filed under the slot that stopped answering identical "
        "requests (pending, processing or completed ones; marked even if the slot was gone)."
    )


SLOT_DELETE_DOC = """Invalidate one cache slot: the next identical request creates a new generation.

Deletes the slot and marks every pending, processing or completed generation of the
workspace filed under the key as invalidated, in one transaction: such a generation no
longer answers identical requests, neither through deduplication (same reproducible hash)
nor through the slot. It is not deleted and keeps its status and result: a client that
requested it before still reads it by id. Idempotent (a second call reports
`deleted: false, invalidated: 0`). An unreachable cache is a `503 cache_unreachable` and
changes nothing. Bulk invalidation: `manage.py flush_generation_cache` or the dev panel's
cache monitor, with the same meaning.
"""


class CacheSlotApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        parameters=[SlotQuerySerializer],
        responses={200: SlotDeletedSerializer, **error_responses(400, 401, 403, 404, 503)},
        summary="Invalidate one cache slot (staff): the next identical request generates again",
        description=SLOT_DELETE_DOC,
    )
    def delete(self, request: Request) -> Response:
        query = SlotQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        workspace_id = workspace_any_resolve(query.validated_data["workspace"])
        key = query.validated_data["key"]
        outcome = generation_slot_invalidate(workspace_id=workspace_id, key=key)
        return Response(
            SlotDeletedSerializer(
                {
                    "workspace": workspace_id,
                    "key": key,
                    "deleted": bool(outcome.deleted),
                    "invalidated": outcome.invalidated,
                }
            ).data
        )

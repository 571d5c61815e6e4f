"""HTTP endpoints of the generations API: parse, call one service, render."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from core.errors import ValidationFailed
from core.throttling import ScopedRateThrottle, UserRateThrottle

from .create_input import create_input_read
from .errors import LegacyPayloadRejected, is_legacy_payload
from .fast_validation import fast_validated
from .filters import GenerationFilter, generation_filters_clean, query_parameters_check
from .models import Workspace
from .openapi import (
    ACTION_ERRORS,
    BODY_ERRORS,
    CREATE_ERRORS,
    CREATE_EXAMPLES,
    LIST_ERRORS,
    PREFER_WAIT,
    READ_ERRORS,
    RETRY_ERRORS,
    SIMPLE_EXAMPLES,
    SOCIAL_EXAMPLES,
    VALIDATE_DOC,
    VALIDATE_ERRORS,
    VALIDATE_EXAMPLES,
)
from .pagination import GenerationCursorPagination
from .rendering import PAGE_FIELDS, generation_document, generation_page_json
from .selectors import generation_get, generation_list, generation_rows, workspace_resolve
from .serializers import (
    GenerationCreateSerializer,
    GenerationSerializer,
    SimpleImageToVideoSerializer,
    SocialBuildResultSerializer,
    SocialBuildSerializer,
    ValidationResultSerializer,
    snake_case_keys,
)
from .services.creation import CreateOutcome, generation_retry
from .services.lifecycle import generation_cancel
from .services.social import social_map
from .services.submission import generation_submit, request_validate, simple_request_shape

# The list's filters, its pagination, and DRF's format override (the browsable API's).
LIST_PARAMETERS = {
    *GenerationFilter.base_filters,
    GenerationCursorPagination.cursor_query_param,
    GenerationCursorPagination.page_size_query_param,
    *([api_settings.URL_FORMAT_OVERRIDE] if api_settings.URL_FORMAT_OVERRIDE else []),
}


def _body(request: Request) -> dict[str, Any]:
    data = request.data
    if not isinstance(data, dict):
        raise ValidationFailed.single("invalid_body", "body", "The body must be a JSON object.")
    return data


def _structured(request: Request) -> dict[str, Any]:
    body = _body(request)
    if is_legacy_payload(body):
        raise LegacyPayloadRejected()
    return snake_case_keys(body)


def _render(outcome: CreateOutcome) -> Response:
    generation = outcome.generation
    code = status.HTTP_201_CREATED if outcome.reused is None else status.HTTP_200_OK
    return Response(generation_document(generation, reused=outcome.reused), status=code)


def _create(
    request: Request, body: dict[str, Any], data: dict[str, Any], *, new_body: bool = False
) -> Response:
    workspace = workspace_resolve(user=request.user, workspace_id=data.get("workspace_id"))
    outcome = generation_submit(
        workspace=workspace,
        user=request.user,
        data=data,
        body=body,
        idempotency_key=request.headers.get("Idempotency-Key"),
        new_body=new_body,
    )
    return _render(outcome)


@extend_schema_view(
    get=extend_schema(responses={200: GenerationSerializer(many=True), **LIST_ERRORS})
)
class GenerationListCreateApi(ListAPIView):
    serializer_class = GenerationSerializer
    pagination_class = GenerationCursorPagination
    filterset_class = GenerationFilter
    throttle_scope = "generation_create"

    def get_throttles(self):  # type: ignore[no-untyped-def]
        # POST is limited by the (tighter) create rate alone, reads by the user rate alone:
        # one throttle per request, one cache round trip less.
        wanted = ScopedRateThrottle if self.request.method == "POST" else UserRateThrottle
        return [t for t in super().get_throttles() if isinstance(t, wanted)]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return generation_list(user=self.request.user)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # GenerationFilter and GenerationSerializer, read without their per-request cost.
        query_parameters_check(request.query_params, allowed=LIST_PARAMETERS)
        conditions = generation_filters_clean(request.query_params, user=request.user)
        rows = generation_rows(user=request.user, conditions=conditions, fields=PAGE_FIELDS)
        paginator = GenerationCursorPagination()
        page = paginator.paginate_rows(rows, request, view=self)
        next_link, previous_link = paginator.get_next_link(), paginator.get_previous_link()
        return Response(
            generation_page_json(page, next_link=next_link, previous_link=previous_link)
        )

    @extend_schema(
        request=GenerationCreateSerializer,
        responses={201: GenerationSerializer, 200: GenerationSerializer, **CREATE_ERRORS},
        parameters=[
            OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER),
            *PREFER_WAIT,
        ],
        summary="Create a generation from a structured request (or reuse an identical one)",
        examples=CREATE_EXAMPLES,
    )
    def post(self, request: Request) -> Response:
        def read() -> tuple[dict[str, Any], dict[str, Any]]:
            body = _structured(request)
            data = fast_validated(GenerationCreateSerializer, body)
            if data is None:  # not accepted outright: DRF validates, and writes the errors
                serializer = GenerationCreateSerializer(data=body)
                serializer.is_valid(raise_exception=True)
                data = dict(serializer.validated_data)
            return body, data

        body, data, remembered = create_input_read(request, read)  # once per distinct body
        return _create(request, body, data, new_body=not remembered)


class SimpleImageToVideoApi(APIView):
    throttle_scope = "generation_create"

    @extend_schema(
        request=SimpleImageToVideoSerializer,
        responses={201: GenerationSerializer, 200: GenerationSerializer, **CREATE_ERRORS},
        summary="Minimal image-to-video request for thin clients",
        examples=SIMPLE_EXAMPLES,
    )
    def post(self, request: Request) -> Response:
        body = snake_case_keys(_body(request))
        serializer = SimpleImageToVideoSerializer(data=body)
        serializer.is_valid(raise_exception=True)
        structured = simple_request_shape(serializer.validated_data)
        full = GenerationCreateSerializer(data=structured)
        full.is_valid(raise_exception=True)
        return _create(request, body, dict(full.validated_data))


class GenerationDetailApi(APIView):
    @extend_schema(responses={200: GenerationSerializer, **READ_ERRORS}, parameters=PREFER_WAIT)
    def get(self, request: Request, generation_id: str) -> Response:
        generation = generation_get(user=request.user, generation_id=generation_id)
        return Response(generation_document(generation))


class GenerationCancelApi(APIView):
    @extend_schema(request=None, responses={200: GenerationSerializer, **ACTION_ERRORS})
    def post(self, request: Request, generation_id: str) -> Response:
        generation = generation_get(user=request.user, generation_id=generation_id)
        cancelled = generation_cancel(
            generation=generation, actor=f"user:{request.user.get_username()}"
        )
        return Response(generation_document(cancelled))


class GenerationRetryApi(APIView):
    throttle_scope = "generation_create"

    @extend_schema(request=None, responses={201: GenerationSerializer, **RETRY_ERRORS})
    def post(self, request: Request, generation_id: str) -> Response:
        generation = generation_get(user=request.user, generation_id=generation_id)
        outcome = generation_retry(generation=generation, user=request.user)
        return _render(outcome)


class GenerationValidateApi(APIView):
    @extend_schema(
        request=GenerationCreateSerializer,
        responses={200: ValidationResultSerializer, **VALIDATE_ERRORS},
        summary="Check a create request without creating anything",
        description=VALIDATE_DOC,
        examples=VALIDATE_EXAMPLES,
    )
    def post(self, request: Request) -> Response:
        user = request.user

        def workspace_for(data: dict[str, Any]) -> Workspace:
            return workspace_resolve(user=user, workspace_id=data.get("workspace_id"))

        return Response(request_validate(body=_body(request), workspace_for=workspace_for))


class SocialContextBuildApi(APIView):
    @extend_schema(
        request=SocialBuildSerializer,
        responses={200: SocialBuildResultSerializer, **BODY_ERRORS},
        summary="Map relationship values to a tier, intimacy level and content rating",
        examples=SOCIAL_EXAMPLES,
    )
    def post(self, request: Request) -> Response:
        serializer = SocialBuildSerializer(data=snake_case_keys(_body(request)))
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        world_max = data.get("world_max_rating")
        if world_max is None:
            world_max = workspace_resolve(
                user=request.user, workspace_id=data.get("workspace_id")
            ).max_content_rating
        mapping = social_map(
            values=data["relationship_values"],
            world_max_rating=world_max,
            user_max_rating=data.get("user_max_rating"),
        )
        return Response(mapping.as_dict())

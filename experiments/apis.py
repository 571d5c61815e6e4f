"""HTTP endpoints of the prompt library, feedback and experiments: parse, call, render."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ValidationFailed
from core.schema import results_list
from generations.models import PromptFamily, Workspace
from generations.selectors import generation_get, workspace_resolve
from generations.serializers import snake_case_keys
from generations.services.submission import request_prompt_preview

from . import experiment, feedback, library
from .openapi import (
    EXPERIMENT_RESPONSE,
    FAMILY_EXAMPLE,
    FEEDBACK_REQUEST,
    READ_ERRORS,
    RENDER_REQUEST,
    RENDER_RESPONSE,
    VERSION_EXAMPLE,
    WRITE_ERRORS,
)
from .serializers import (
    FamilyPatchSerializer,
    FamilySerializer,
    FamilyWriteSerializer,
    FeedbackSerializer,
    FeedbackWriteSerializer,
    MetricSerializer,
    MetricWriteSerializer,
    PromoteSerializer,
    RenderResultSerializer,
    RenderSerializer,
    VersionPatchSerializer,
    VersionSerializer,
    VersionWriteSerializer,
)

WORKSPACE = OpenApiParameter(
    "workspace_id", str, description="Workspace id or slug (needed with several workspaces)."
)


def _body(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise ValidationFailed.single("invalid_body", "body", "The body must be a JSON object.")
    return dict(request.data)


def _workspace(request: Request, body: dict[str, Any] | None = None) -> Workspace:
    named = (body or {}).get("workspace_id") or request.query_params.get("workspace_id")
    return workspace_resolve(user=request.user, workspace_id=named)


def _family(request: Request, slug: str, body: dict[str, Any] | None = None) -> PromptFamily:
    return library.family_get(workspace=_workspace(request, body), slug=slug)


def _valid(serializer_class: Any, body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    serializer = serializer_class(data=body, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class FamilyListCreateApi(APIView):
    @extend_schema(
        parameters=[WORKSPACE],
        responses={200: results_list(FamilySerializer, "PromptFamilyList"), **READ_ERRORS},
        operation_id="v1_prompt_families_list",
    )
    def get(self, request: Request) -> Response:
        families = library.family_list(workspace=_workspace(request))
        return Response({"results": FamilySerializer(families, many=True).data})

    @extend_schema(
        request=FamilyWriteSerializer,
        responses={201: FamilySerializer, **WRITE_ERRORS},
        examples=[FAMILY_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        data = _valid(FamilyWriteSerializer, _body(request))
        family = library.family_create(workspace=_workspace(request, data), data=data)
        return Response(FamilySerializer(family).data, status=status.HTTP_201_CREATED)


class FamilyDetailApi(APIView):
    @extend_schema(parameters=[WORKSPACE], responses={200: FamilySerializer, **READ_ERRORS})
    def get(self, request: Request, slug: str) -> Response:
        return Response(FamilySerializer(_family(request, slug)).data)

    @extend_schema(request=FamilyPatchSerializer, responses={200: FamilySerializer, **WRITE_ERRORS})
    def patch(self, request: Request, slug: str) -> Response:
        data = _valid(FamilyPatchSerializer, _body(request))
        family = library.family_update(family=_family(request, slug, data), data=data)
        return Response(FamilySerializer(family).data)

    @extend_schema(parameters=[WORKSPACE], responses={204: None, **READ_ERRORS})
    def delete(self, request: Request, slug: str) -> Response:
        library.family_delete(family=_family(request, slug))
        return Response(status=status.HTTP_204_NO_CONTENT)


class VersionListCreateApi(APIView):
    @extend_schema(
        parameters=[WORKSPACE],
        responses={200: results_list(VersionSerializer, "PromptVersionList"), **READ_ERRORS},
        operation_id="v1_prompt_families_versions_list",
    )
    def get(self, request: Request, slug: str) -> Response:
        versions = library.version_list(family=_family(request, slug))
        return Response({"results": VersionSerializer(versions, many=True).data})

    @extend_schema(
        parameters=[WORKSPACE],
        request=VersionWriteSerializer,
        responses={201: VersionSerializer, **WRITE_ERRORS},
        examples=[VERSION_EXAMPLE],
    )
    def post(self, request: Request, slug: str) -> Response:
        family = _family(request, slug)
        version = library.version_create(
            family=family, data=_valid(VersionWriteSerializer, _body(request))
        )
        return Response(VersionSerializer(version).data, status=status.HTTP_201_CREATED)


class VersionDetailApi(APIView):
    @extend_schema(parameters=[WORKSPACE], responses={200: VersionSerializer, **READ_ERRORS})
    def get(self, request: Request, slug: str, number: int) -> Response:
        version = library.version_get(family=_family(request, slug), number=number)
        return Response(VersionSerializer(version).data)

    @extend_schema(
        parameters=[WORKSPACE],
        request=VersionPatchSerializer,
        responses={200: VersionSerializer, **WRITE_ERRORS},
        summary="Change a version's weight or labels (the template is immutable)",
    )
    def patch(self, request: Request, slug: str, number: int) -> Response:
        version = library.version_get(family=_family(request, slug), number=number)
        data = _valid(VersionPatchSerializer, _body(request))
        return Response(VersionSerializer(library.version_update(version=version, data=data)).data)


class VersionActivateApi(APIView):
    active = True

    @extend_schema(
        parameters=[WORKSPACE], request=None, responses={200: VersionSerializer, **READ_ERRORS}
    )
    def post(self, request: Request, slug: str, number: int) -> Response:
        version = library.version_get(family=_family(request, slug), number=number)
        version = library.version_activate(version=version, active=self.active)
        return Response(VersionSerializer(version).data)


class VersionDeactivateApi(VersionActivateApi):
    active = False


class PromptRenderApi(APIView):
    @extend_schema(
        request=RenderSerializer,
        responses={200: RenderResultSerializer, **WRITE_ERRORS},
        examples=[RENDER_REQUEST, RENDER_RESPONSE],
        summary="The prompt a create with these fields would use (creates nothing)",
    )
    def post(self, request: Request) -> Response:
        data = _valid(RenderSerializer, snake_case_keys(_body(request)))
        resolution = request_prompt_preview(workspace=_workspace(request, data), data=data)
        version = resolution.prompt_version
        return Response(
            {
                "final_prompt": resolution.final_prompt,
                "prompt_version_id": str(version.id) if version else None,
                "variables": resolution.variables,
                "missing_variables": resolution.missing,
            }
        )


class MetricListCreateApi(APIView):
    @extend_schema(
        parameters=[WORKSPACE],
        responses={200: results_list(MetricSerializer, "FeedbackMetricList"), **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        metrics = feedback.metric_list(workspace=_workspace(request))
        return Response({"results": MetricSerializer(metrics, many=True).data})

    @extend_schema(request=MetricWriteSerializer, responses={201: MetricSerializer, **WRITE_ERRORS})
    def post(self, request: Request) -> Response:
        data = _valid(MetricWriteSerializer, _body(request))
        metric = feedback.metric_create(workspace=_workspace(request, data), data=data)
        return Response(MetricSerializer(metric).data, status=status.HTTP_201_CREATED)


class GenerationFeedbackApi(APIView):
    @extend_schema(responses={200: results_list(FeedbackSerializer, "FeedbackList"), **READ_ERRORS})
    def get(self, request: Request, generation_id: str) -> Response:
        generation = generation_get(user=request.user, generation_id=generation_id)
        rows = feedback.feedback_list(generation=generation)
        return Response({"results": FeedbackSerializer(rows, many=True).data})

    @extend_schema(
        request=FeedbackWriteSerializer,
        responses={201: FeedbackSerializer, 200: FeedbackSerializer, **WRITE_ERRORS},
        examples=[FEEDBACK_REQUEST],
        summary="Rate a generation (one value per metric and rater; a repeat replaces it)",
    )
    def post(self, request: Request, generation_id: str) -> Response:
        generation = generation_get(user=request.user, generation_id=generation_id)
        data = _valid(FeedbackWriteSerializer, _body(request))
        row, created = feedback.feedback_submit(
            generation=generation, data=data, rater=f"user:{request.user.get_username()}"
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(FeedbackSerializer(row).data, status=code)


class ExperimentApi(APIView):
    @extend_schema(
        parameters=[WORKSPACE],
        responses={200: OpenApiTypes.OBJECT, **READ_ERRORS},
        examples=[EXPERIMENT_RESPONSE],
        summary="Per-version statistics and the sequential verdict",
    )
    def get(self, request: Request, slug: str) -> Response:
        return Response(experiment.experiment_report(family=_family(request, slug)))


class ExperimentPromoteApi(APIView):
    @extend_schema(
        request=PromoteSerializer,
        responses={200: VersionSerializer, **WRITE_ERRORS},
        summary="Make the winner (or the named version) the only active version",
    )
    def post(self, request: Request, slug: str) -> Response:
        data = _valid(PromoteSerializer, _body(request))
        version = experiment.experiment_promote(
            family=_family(request, slug, data), version_number=data.get("version")
        )
        return Response(VersionSerializer(version).data)

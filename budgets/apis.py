"""``/api/v1/budgets`` and ``/api/v1/spend``: parse, call one service, render."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ApiError, NotFound, ValidationFailed
from core.schema import error_responses
from generations.selectors import ascii_digits, workspace_resolve

from .models import Budget
from .selectors import GROUPS, budget_list, can_write, spend_report, workspaces_visible
from .serializers import BudgetSerializer, SpendReportSerializer


class BudgetForbidden(ApiError):
    status_code = 403
    code = "permission_denied"


def _body(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise ValidationFailed.single("invalid_body", "body", "The body must be a JSON object.")
    return request.data


def _writable(request: Request, workspace_id: int) -> None:
    if not can_write(request.user, workspace_id):
        raise BudgetForbidden("Only the workspace's owners and admins may change budgets.")


def _workspace_id(value: object) -> int:
    """A workspace id as sent (a JSON integer or ASCII digits), else ``400 invalid``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and ascii_digits(value):
        return int(value)
    raise ValidationFailed.single("invalid", "workspace_id", "Must be a workspace id.")


class BudgetListCreateApi(APIView):
    @extend_schema(responses={200: BudgetSerializer(many=True), **error_responses(401, 403)})
    def get(self, request: Request) -> Response:
        budgets = budget_list(user=request.user).order_by("workspace_id", "id")
        workspace = request.query_params.get("workspace_id")
        if workspace:
            budgets = budgets.filter(workspace_id=_workspace_id(workspace))
        return Response(BudgetSerializer(budgets[:500], many=True).data)

    @extend_schema(
        request=BudgetSerializer,
        responses={201: BudgetSerializer, **error_responses(400, 401, 403, 404)},
    )
    def post(self, request: Request) -> Response:
        body = _body(request)
        if request.user.is_staff and body.get("workspace_id") not in (None, ""):
            workspace_id = _workspace_id(body["workspace_id"])
            workspace = workspaces_visible(request.user).filter(id=workspace_id).first()
            if workspace is None:
                raise NotFound("Unknown workspace.", code="workspace_not_found")
        else:
            workspace = workspace_resolve(user=request.user, workspace_id=body.get("workspace_id"))
        _writable(request, workspace.id)
        serializer = BudgetSerializer(data=body)
        serializer.is_valid(raise_exception=True)
        data = {k: v for k, v in serializer.validated_data.items() if k != "workspace_id"}
        budget = Budget.objects.create(workspace=workspace, **data)
        return Response(BudgetSerializer(budget).data, status=status.HTTP_201_CREATED)


class BudgetDetailApi(APIView):
    def _get(self, request: Request, budget_id: int) -> Budget:
        budget = budget_list(user=request.user).filter(id=budget_id).first()
        if budget is None:
            raise NotFound("Unknown budget.", code="budget_not_found")
        return budget

    @extend_schema(responses={200: BudgetSerializer, **error_responses(401, 404)})
    def get(self, request: Request, budget_id: int) -> Response:
        return Response(BudgetSerializer(self._get(request, budget_id)).data)

    @extend_schema(
        request=BudgetSerializer,
        responses={200: BudgetSerializer, **error_responses(400, 401, 403, 404)},
    )
    def patch(self, request: Request, budget_id: int) -> Response:
        budget = self._get(request, budget_id)
        _writable(request, budget.workspace_id)
        body = {k: v for k, v in _body(request).items() if k != "workspace_id"}
        serializer = BudgetSerializer(budget, data=body, partial=True)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            for name, value in serializer.validated_data.items():
                setattr(budget, name, value)
            budget.save()
        return Response(BudgetSerializer(budget).data)

    @extend_schema(responses={204: None, **error_responses(401, 403, 404)})
    def delete(self, request: Request, budget_id: int) -> Response:
        budget = self._get(request, budget_id)
        _writable(request, budget.workspace_id)
        budget.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


def _when(request: Request, name: str, default: datetime) -> datetime:
    raw = request.query_params.get(name)
    if not raw:
        return default
    value = parse_datetime(raw)
    if value is None:
        day = parse_date(raw) if len(raw) == 10 else None
        if day is None:
            raise ValidationFailed.single("invalid", name, "Use an ISO date or date-time.")
        value = datetime.combine(day, time.min)
        if name == "to":
            value += timedelta(days=1)  # a date "to" includes that day
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_fixed_timezone(0))
    return value


class SpendApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("group_by", str, enum=sorted(GROUPS)),
            OpenApiParameter("from", str),
            OpenApiParameter("to", str),
            OpenApiParameter("workspace_id", int),
        ],
        responses={200: SpendReportSerializer, **error_responses(400, 401, 404)},
    )
    def get(self, request: Request) -> Response:
        group_by = request.query_params.get("group_by") or "provider"
        if group_by not in GROUPS:
            raise ValidationFailed.single(
                "invalid_choice", "group_by", "One of: " + ", ".join(sorted(GROUPS)) + "."
            )
        now = timezone.now()
        end = _when(request, "to", now)
        start = _when(request, "from", end - timedelta(days=30))
        if start >= end:
            raise ValidationFailed.single("invalid_range", "from", "`from` must be before `to`.")
        workspaces = workspaces_visible(request.user)
        wanted = request.query_params.get("workspace_id")
        if wanted:
            if not wanted.isdigit():
                raise ValidationFailed.single("invalid", "workspace_id", "Must be an id.")
            workspaces = workspaces.filter(id=int(wanted))
            if not workspaces.exists():
                raise NotFound("Unknown workspace.", code="workspace_not_found")
        ids = list(workspaces.values_list("id", flat=True))
        report = spend_report(workspace_ids=ids, group_by=group_by, start=start, end=end)
        return Response(SpendReportSerializer(report).data)

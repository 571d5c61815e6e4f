"""HTTP endpoints of the webhooks API: parse, call one service, render."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ValidationFailed

from .models import Delivery
from .openapi import (
    ACTION_ERRORS,
    CREATE_ERRORS,
    CREATE_EXAMPLES,
    DELIVERY_LIST_EXAMPLES,
    ENDPOINT_EXAMPLES,
    LIST_ERRORS,
    READ_ERRORS,
    REDELIVER_EXAMPLES,
    ROTATE_EXAMPLES,
    UPDATE_ERRORS,
    UPDATE_EXAMPLES,
)
from .pagination import DeliveryCursorPagination
from .selectors import (
    delivery_get,
    delivery_list,
    endpoint_get,
    endpoint_list,
    workspace_for_write,
)
from .serializers import (
    DeliverySerializer,
    EndpointCreatedSerializer,
    EndpointCreateSerializer,
    EndpointInputSerializer,
    EndpointSerializer,
)
from .services.deliveries import delivery_redeliver
from .services.endpoints import (
    endpoint_create,
    endpoint_delete,
    endpoint_rotate_secret,
    endpoint_update,
)


def _body(request: Request) -> dict:  # type: ignore[type-arg]
    if not isinstance(request.data, dict):
        raise ValidationFailed.single("invalid_body", "body", "The body must be a JSON object.")
    return request.data


@extend_schema_view(
    get=extend_schema(
        responses={200: EndpointSerializer(many=True), **LIST_ERRORS},
        summary="List the webhook endpoints of your workspaces (secrets never shown)",
    )
)
class WebhookListCreateApi(ListAPIView):
    serializer_class = EndpointSerializer
    pagination_class = None

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return endpoint_list(user=self.request.user).order_by("id")

    @extend_schema(
        request=EndpointCreateSerializer,
        responses={201: EndpointCreatedSerializer, **CREATE_ERRORS},
        summary="Register a webhook endpoint; the response holds its secret, shown once",
        examples=CREATE_EXAMPLES,
    )
    def post(self, request: Request) -> Response:
        serializer = EndpointCreateSerializer(data=_body(request))
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        workspace = workspace_for_write(user=request.user, workspace_id=data.get("workspace_id"))
        endpoint, secret = endpoint_create(
            workspace=workspace,
            url=data["url"],
            events=data["events"],
            enabled=data["enabled"],
            description=data["description"],
        )
        return Response(
            EndpointCreatedSerializer(endpoint, context={"secret": secret}).data,
            status=status.HTTP_201_CREATED,
        )


class WebhookDetailApi(APIView):
    @extend_schema(responses={200: EndpointSerializer, **READ_ERRORS}, examples=ENDPOINT_EXAMPLES)
    def get(self, request: Request, webhook_id: int) -> Response:
        endpoint = endpoint_get(user=request.user, endpoint_id=webhook_id)
        return Response(EndpointSerializer(endpoint).data)

    @extend_schema(
        request=EndpointInputSerializer(partial=True),
        responses={200: EndpointSerializer, **UPDATE_ERRORS},
        summary="Change an endpoint; enabling it again clears its failure streak",
        examples=UPDATE_EXAMPLES,
    )
    def patch(self, request: Request, webhook_id: int) -> Response:
        endpoint = endpoint_get(user=request.user, endpoint_id=webhook_id, write=True)
        serializer = EndpointInputSerializer(data=_body(request), partial=True)
        serializer.is_valid(raise_exception=True)
        endpoint = endpoint_update(
            endpoint=endpoint, data=dict(serializer.validated_data), now=timezone.now()
        )
        return Response(EndpointSerializer(endpoint).data)

    @extend_schema(request=None, responses={204: None, **READ_ERRORS})
    def delete(self, request: Request, webhook_id: int) -> Response:
        endpoint = endpoint_get(user=request.user, endpoint_id=webhook_id, write=True)
        endpoint_delete(endpoint=endpoint)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookRotateSecretApi(APIView):
    @extend_schema(
        request=None,
        responses={200: EndpointCreatedSerializer, **READ_ERRORS},
        summary="New secret (shown once); the old one still signs during the grace period",
        examples=ROTATE_EXAMPLES,
    )
    def post(self, request: Request, webhook_id: int) -> Response:
        endpoint = endpoint_get(user=request.user, endpoint_id=webhook_id, write=True)
        endpoint, secret = endpoint_rotate_secret(endpoint=endpoint, now=timezone.now())
        return Response(EndpointCreatedSerializer(endpoint, context={"secret": secret}).data)


@extend_schema_view(
    get=extend_schema(
        responses={200: DeliverySerializer(many=True), **READ_ERRORS},
        summary="Deliveries of an endpoint, newest first, each with every attempt",
        examples=DELIVERY_LIST_EXAMPLES,
    )
)
class WebhookDeliveryListApi(ListAPIView):
    serializer_class = DeliverySerializer
    pagination_class = DeliveryCursorPagination

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request
            return Delivery.objects.none()
        endpoint = endpoint_get(user=self.request.user, endpoint_id=self.kwargs["webhook_id"])
        return delivery_list(endpoint=endpoint)


class WebhookRedeliverApi(APIView):
    @extend_schema(
        request=None,
        responses={202: DeliverySerializer, **ACTION_ERRORS},
        summary="Send a delivery again now (same webhook-id and body)",
        examples=REDELIVER_EXAMPLES,
    )
    def post(self, request: Request, webhook_id: int, delivery_id: int) -> Response:
        endpoint = endpoint_get(user=request.user, endpoint_id=webhook_id, write=True)
        delivery = delivery_get(endpoint=endpoint, delivery_id=delivery_id)
        delivery = delivery_redeliver(delivery=delivery, now=timezone.now())
        delivery = delivery_list(endpoint=endpoint).get(id=delivery.id)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

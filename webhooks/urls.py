from django.urls import path

from . import apis

app_name = "webhooks"

urlpatterns = [
    path("webhooks", apis.WebhookListCreateApi.as_view(), name="list-create"),
    path("webhooks/<int:webhook_id>", apis.WebhookDetailApi.as_view(), name="detail"),
    path(
        "webhooks/<int:webhook_id>/rotate-secret",
        apis.WebhookRotateSecretApi.as_view(),
        name="rotate-secret",
    ),
    path(
        "webhooks/<int:webhook_id>/deliveries",
        apis.WebhookDeliveryListApi.as_view(),
        name="deliveries",
    ),
    path(
        "webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver",
        apis.WebhookRedeliverApi.as_view(),
        name="redeliver",
    ),
]

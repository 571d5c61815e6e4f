"""WebSocket routes (Channels), mounted by ``genpipe_site.asgi``."""

from django.urls import path

from .consumers import GenerationEventsConsumer, TokenAuthMiddleware

websocket_urlpatterns = [
    path("ws/v1/generations", GenerationEventsConsumer.as_asgi()),
]


def websocket_application() -> TokenAuthMiddleware:
    from channels.routing import URLRouter

    return TokenAuthMiddleware(URLRouter(websocket_urlpatterns))

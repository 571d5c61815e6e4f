"""ASGI entry point (``uvicorn genpipe_site.asgi:application``, or gunicorn with
``uvicorn_worker.UvicornWorker``): everything the WSGI application serves (the API, the
admin, static files through WhiteNoise) plus the SSE streams, ``Prefer: wait`` and the
WebSocket at ``/ws/v1/generations``.

Django runs each request's synchronous code in a thread of its own under ASGI, so a
persistent database connection would stay behind with that thread: the ASGI process
closes its connections after each request (``DB_CONN_MAX_AGE=0`` unless set) and, on
PostgreSQL, borrows them from a pool of the process (``DATABASE_POOL=1`` unless set), so a
request does not pay for a new connection, nor a ``Prefer: wait`` for three.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genpipe_site.settings")
os.environ.setdefault("DB_CONN_MAX_AGE", "0")
os.environ.setdefault("DATABASE_POOL", "1")

from django.core.asgi import get_asgi_application

django_application = get_asgi_application()  # sets Django up before the imports below

from channels.routing import ProtocolTypeRouter  # noqa: E402

from streams.prefer import PreferWait  # noqa: E402
from streams.routing import websocket_application  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": PreferWait(django_application),
        "websocket": websocket_application(),
    }
)

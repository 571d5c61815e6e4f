"""Publishers and the worker get different broker timeouts (README "Timeouts")."""

from __future__ import annotations

import pytest
from celery import Celery, signals
from django.conf import settings

pytestmark = pytest.mark.redis


def test_publishers_give_up_fast_and_the_worker_gets_its_own_longer_timeouts():
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("the socket options are the Redis transport's")
    app = Celery("probe")
    app.config_from_object("django.conf:settings", namespace="CELERY")
    publisher = app.conf.broker_transport_options
    assert publisher["socket_timeout"] == publisher["socket_connect_timeout"] == 0.25
    assert publisher["max_retries"] == 0  # no reconnect loop inside a request
    assert app.conf.broker_connection_timeout == 0.25

    # What `celery worker` sends before it opens any connection.
    signals.celeryd_init.send(sender="probe@test", instance=None, conf=app.conf, options={})
    worker = app.conf.broker_transport_options
    # Above kombu's 1 s server-side BRPOP timeout: an idle queue never times a read out.
    assert worker["socket_timeout"] == settings.BROKER_WORKER_SOCKET_TIMEOUT == 10.0
    assert "max_retries" not in worker
    assert worker["visibility_timeout"] == publisher["visibility_timeout"]
    assert app.conf.broker_connection_timeout == 10.0
    assert app.conf.broker_connection_max_retries is None  # reconnect forever, never exit

"""pytest fixtures for the fake provider servers; load with
``pytest_plugins = ["tests.fakes.fixtures"]`` in the root conftest.

* ``openai_server`` -- a :class:`FakeOpenAIServer` without auth.
* ``make_openai_server(api_key=None, **kwargs)`` -- factory; kwargs go to the constructor
  (e.g. ``reply=``).
* ``jobs_server`` -- a :class:`FakeJobsServer` without auth, ``polls_to_finish=2``.
* ``make_jobs_server(api_key=None, polls_to_finish=2, **kwargs)`` -- factory; kwargs go to
  the constructor (e.g. ``fail_next_jobs=``).

Every server a fixture made is closed at teardown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fakes.jobs import FakeJobsServer
from tests.fakes.openai import FakeOpenAIServer

__all__ = ["jobs_server", "make_jobs_server", "make_openai_server", "openai_server"]


@pytest.fixture
def make_openai_server() -> Iterator[Callable[..., FakeOpenAIServer]]:
    servers: list[FakeOpenAIServer] = []

    def make(api_key: str | None = None, **kwargs: Any) -> FakeOpenAIServer:
        server = FakeOpenAIServer(api_key, **kwargs)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def openai_server(make_openai_server: Callable[..., FakeOpenAIServer]) -> FakeOpenAIServer:
    return make_openai_server()


@pytest.fixture
def make_jobs_server() -> Iterator[Callable[..., FakeJobsServer]]:
    servers: list[FakeJobsServer] = []

    def make(
        api_key: str | None = None, polls_to_finish: int | None = 2, **kwargs: Any
    ) -> FakeJobsServer:
        server = FakeJobsServer(api_key, polls_to_finish=polls_to_finish, **kwargs)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def jobs_server(make_jobs_server: Callable[..., FakeJobsServer]) -> FakeJobsServer:
    return make_jobs_server()

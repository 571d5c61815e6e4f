from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _webhook_settings(settings: Any) -> None:
    """Local receivers (127.0.0.1) allowed, and a compressed retry schedule."""
    settings.GENPIPE_WEBHOOK_ALLOW_PRIVATE = True
    settings.GENPIPE_WEBHOOK_RETRY_SCHEDULE = "0.2,0.2,0.2"

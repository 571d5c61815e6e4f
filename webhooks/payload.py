"""The webhook body. The event object itself is the domain's (``generations.events``);
webhooks wrap it in the Standard Webhooks body ``{"type", "timestamp", "data"}``.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder


def webhook_body(event: dict[str, Any]) -> str:
    """The Standard Webhooks body of an event object (a generation event above, a budget
    alert from ``budgets.alerts.budget_alert_event``), minified: these exact bytes are
    signed and sent."""
    envelope = {"type": event["type"], "timestamp": event["at"], "data": event}
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder)

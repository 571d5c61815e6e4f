"""Hand deliveries to the workers (Celery), after the current transaction commits."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction

from core.outages import outage_fail_fast, outage_failure, outage_success
from generations.services.dispatch import BROKER_ERRORS

logger = logging.getLogger("genpipe.webhooks")


def delivery_enqueue(*, delivery_ids: Iterable[int], delay_s: float = 0.0) -> None:
    """Publish ``webhooks.deliver`` for each delivery once the transaction commits.

    A delay longer than ``GENPIPE_WEBHOOK_MAX_COUNTDOWN_S`` is not published at all (a
    countdown past the broker's visibility timeout would be redelivered early): the
    sweeper sends the delivery when it is due. A failed publish is logged once per
    outage, never raised; the sweeper sends it later too. Duplicates are harmless: the
    task claims the delivery with a conditional update.
    """
    ids = list(delivery_ids)
    if not ids or delay_s > float(settings.GENPIPE_WEBHOOK_MAX_COUNTDOWN_S):
        return
    from ..tasks import deliver_webhook  # tasks import services; resolve at call time

    def publish() -> None:
        if outage_fail_fast("broker"):
            return
        try:
            for delivery_id in ids:
                deliver_webhook.apply_async(
                    args=[delivery_id], countdown=delay_s or None, retry=False
                )
        except BROKER_ERRORS as exc:
            outage_failure("broker", exc)
            logger.debug("could not enqueue webhook deliveries: %s", exc)
            return
        except Exception:
            logger.exception("could not enqueue webhook deliveries")
            return
        outage_success("broker")

    transaction.on_commit(publish)

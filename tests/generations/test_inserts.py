"""The create's two rows in one statement store what two ORM saves store."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db.models.signals import post_save
from django.forms.models import model_to_dict
from django.utils import timezone

from generations.models import Generation, GenerationEvent, Provider, Workspace
from generations.services.inserts import generation_rows_insert

pytestmark = [pytest.mark.django_db]


NOW = timezone.now()


def _rows(workspace: Workspace, sandbox: Provider) -> tuple[Generation, GenerationEvent]:
    now = NOW
    generation = Generation(
        workspace=workspace,
        provider=sandbox,
        operation_type="text_to_image",
        purpose="adaptive",
        strategy="once",
        name="n",
        config={"config": {"prompt": "é ✓"}, "priority": 5},
        canonical_params={"a": [1, 2.5, None, True]},
        reproducible_hash="h" * 64,
        cache_key="k",
        template_variables={"x": "y"},
        final_prompt="p",
        social_context=None,
        priority=7,
        enqueued_at=now,
        estimated_cost_usd=Decimal("0.012345"),
    )
    event = GenerationEvent(
        generation=generation,
        from_status="",
        to_status="pending",
        reason="created",
        actor="user:u",
        at=now,
    )
    return generation, event


IGNORED = {"id", "generation"}


def _stored(generation: Generation, event: GenerationEvent) -> tuple[dict[str, Any], ...]:
    row = Generation.objects.get(pk=generation.pk)
    stored_event = GenerationEvent.objects.get(pk=event.pk)
    assert stored_event.generation_id == generation.pk
    assert row.created_at == generation.created_at and row.updated_at == generation.updated_at
    generation_fields = {
        k: v
        for k, v in model_to_dict(row).items()
        if k not in IGNORED | {"created_at", "updated_at"}
    }
    event_fields = {k: v for k, v in model_to_dict(stored_event).items() if k not in IGNORED}
    return generation_fields, event_fields


def test_one_statement_stores_what_two_saves_store(workspace, sandbox):
    generation, event = _rows(workspace, sandbox)
    generation_rows_insert(generation, event)
    assert event.pk is not None and not generation._state.adding and not event._state.adding
    reference, reference_event = _rows(workspace, sandbox)
    reference.save(force_insert=True)
    reference_event.save(force_insert=True)
    assert _stored(generation, event) == _stored(reference, reference_event)


def test_a_save_listener_gets_the_orm_path(workspace, sandbox):
    heard: list[object] = []

    def listen(sender: object, instance: object, **_: Any) -> None:
        heard.append(instance)

    post_save.connect(listen, sender=GenerationEvent, weak=False)
    try:
        generation, event = _rows(workspace, sandbox)
        generation_rows_insert(generation, event)
    finally:
        post_save.disconnect(listen, sender=GenerationEvent)
    assert heard == [event]
    assert GenerationEvent.objects.filter(generation=generation).count() == 1

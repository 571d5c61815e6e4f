"""Generations of every shape a list page shows, and the page as the ORM, ``GenerationFilter``,
DRF's cursor pagination, ``GenerationSerializer`` and DRF's own JSON renderer wrote it before
the list read rows: the reference the served page must equal (``page_matches``).

Used in-process (PostgreSQL) and in an embedded-default subprocess (SQLite)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.http import QueryDict
from django.test import RequestFactory
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from generations.filters import GenerationFilter
from generations.models import Generation, PromptFamily, PromptVersion, Workspace
from generations.pagination import GenerationCursorPagination
from generations.selectors import generation_list
from generations.serializers import GenerationSerializer

URL = "/api/v1/generations"
BASE = datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=UTC)

# JSON values that orjson and json.dumps write alike, and those they do not (small floats,
# integers beyond 64 bits, exponents), strings with every kind of escape, nesting.
JSON_VALUES: list[Any] = [
    {"name": "Zoé 🐉 東京", "sep": "a\u2028b\u2029c", "ctl": "\x01\x1f\x7f\t\n\r\b\f", "q": '"\\/'},
    {"small": 1e-05, "tiny": 3.5e-07, "edge": 0.0001, "neg": -2.5e-06, "sub": 1e-10},
    {"big": 2**70, "negative": -(2**64), "u64": 2**64 - 1, "i64": -(2**63)},
    {"large": 1.5e300, "e16": 1e16, "float": 12345.678, "half": 0.5, "whole": 3.0},
    {"nested": [[], {}, [1, [2, [3.25]]], None, True, False], "": "empty key"},
    {"seed": "12345678901234567890123", "text": "a pre-rendered one-shot e-mail 2e+5 0.00001"},
    {},
]


def seed_variety(*, workspace: Workspace, user: Any) -> list[Generation]:
    """One generation per shape a page shows: every status, nulls and values in each
    nullable column, decimals, whole-second and fractional datetimes, every fallback, a
    retry and a prompt version, and the JSON values above in each JSON column."""
    family = PromptFamily.objects.create(workspace=workspace, slug="lines", title="Lines")
    version = PromptVersion.objects.create(family=family, version_number=1, template="{x}")
    made: list[Generation] = []
    fallbacks: list[dict[str, Any] | None] = [
        {"mode": "placeholder"},
        {"mode": "default_content", "default_content_id": "intro-card"},
        {"mode": "skip"},
        {"mode": "retry", "max_retries": 2},
        None,
    ]
    statuses = ["completed", "failed", "pending", "processing", "cancelled", "failed", "failed"]
    for i in range(21):
        status = statuses[i % len(statuses)]
        value = JSON_VALUES[i % len(JSON_VALUES)]
        node: dict[str, Any] = {"prompt": f"p{i}", "generation_type": "dialogue"}
        fallback = fallbacks[i % len(fallbacks)]
        if fallback is not None:
            node["fallback"] = fallback
        made.append(
            Generation.objects.create(
                workspace=workspace,
                created_by=user,
                operation_type=["dialogue", "text_to_image", "npc_response"][i % 3],
                provider_id="sandbox",
                purpose="adaptive",
                strategy=["once", "always"][i % 2],
                name=f"gen {i}" if i % 2 else "",
                description="line one\nline two" if i % 3 else "",
                config={"config": node, "extra": value} if i % 4 else {"config": "not a dict"},
                canonical_params=value,
                reproducible_hash=f"{i:064x}",
                cache_key=f"generation:key-{i}" if i % 2 else "",
                prompt_version=version if i % 5 == 1 else None,
                template_variables=value if i % 2 else {},
                final_prompt=f"final {i} ✓",
                social_context=None if i % 3 else {"tier": "friend", "values": value},
                status=status,
                priority=i % 11,
                scheduled_at=BASE + timedelta(seconds=i) if i % 4 == 2 else None,
                started_at=None
                if status == "pending"
                else BASE + timedelta(seconds=i, microseconds=1),
                completed_at=BASE + timedelta(seconds=i + 1) if status != "pending" else None,
                failover_from="sandbox-b" if i % 6 == 5 else "",
                latency_ms=None if i % 2 else 1000 + i,
                error_code="provider_timeout" if status == "failed" else "",
                error_message="slow\u2028down" if status == "failed" else "",
                retry_count=i % 3,
                parent=made[i - 1] if i % 7 == 3 else None,
                result=value if i % 3 == 1 else None,
                tokens_in=i * 10,
                tokens_out=2**31 - 1 if i == 4 else i,
                cost_usd=[Decimal("0"), Decimal("1234.567891"), Decimal("0.000001")][i % 3],
                estimated_cost_usd=Decimal("99999999.999999") if i == 7 else Decimal("0.04"),
                attempt_count=i % 4,
            )
        )
    # Datetimes with and without microseconds, and runs of equal created_at (the cursor
    # then carries an offset).
    for i, generation in enumerate(made):
        created = BASE + timedelta(seconds=i // 3, microseconds=0 if i % 2 else 120)
        Generation.objects.filter(id=generation.id).update(
            created_at=created, updated_at=created + timedelta(microseconds=i * 1000)
        )
    return made


def reference_page(user: Any, url: str) -> bytes:
    """The page at ``url`` as the list wrote it from models and serializers."""
    django_request = RequestFactory().get(url)
    django_request.user = user
    request = Request(django_request)
    data = QueryDict(mutable=True)
    data.update(request.query_params)
    filterset = GenerationFilter(data, queryset=generation_list(user=user), request=django_request)
    assert filterset.is_valid(), filterset.errors
    paginator = GenerationCursorPagination()
    page = paginator.paginate_queryset(filterset.qs, request)
    assert page is not None
    body = {
        "next": paginator.get_next_link(),
        "previous": paginator.get_previous_link(),
        "results": GenerationSerializer(page, many=True).data,
    }
    return JSONRenderer().render(body)


def pages_compared(client: Any, user: Any, queries: list[str]) -> int:
    """Walk every query's pages forward to the end and back to the start, comparing each
    served page with ``reference_page``; the number of pages compared."""
    compared = 0
    for query in queries:
        url = f"{URL}?{query}"
        last = url
        for direction in ("next", "previous"):
            while url:
                served = client.get(url)
                assert served.status_code == 200, served.content
                page_matches(served.content, reference_page(user, url), url)
                compared += 1
                last, url = url, served.json()[direction]
            url = last if direction == "next" else ""
    return compared


QUERIES = [
    "limit=3",
    "limit=50",
    "limit=1",
    "limit=4&status=failed",
    "limit=2&provider=sandbox&strategy=once",
    "limit=5&operation_type=dialogue",
    "limit=3&created_after=2026-03-01T12:00:02Z&created_before=2026-03-01T13:00:05.5%2B01:00",
    "limit=3&workspace=studio",
]


# A list row's JSON columns, in the order the page shows them.
JSON_COLUMNS = ("template_variables", "canonical_params", "config", "social_context", "result")


def page_matches(served: bytes, reference: bytes, url: str = "") -> None:
    """On SQLite the served page is the reference byte for byte. On PostgreSQL it is the
    reference once parsed (every value, every key in the same order at every level) and,
    byte for byte, the reference with each JSON column's value written as PostgreSQL's
    ``jsonb`` text writes it (``jsonb_text_embedded``)."""
    if connection.vendor != "postgresql":
        assert served == reference, url
        return
    assert JSONRenderer().render(json.loads(served)) == reference, url
    assert served == jsonb_text_embedded(reference), url


def jsonb_text_embedded(reference: bytes) -> bytes:
    """``reference`` with each row's JSON column values replaced by their ``jsonb`` text
    (read from the database), U+2028 and U+2029 escaped as the renderer escapes them."""
    doc = json.loads(reference)
    ids = [row["id"] for row in doc["results"]]
    if not ids:
        return reference
    columns = ", ".join(f"{name}::text" for name in JSON_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id::text, {columns} FROM {Generation._meta.db_table} WHERE id::text = ANY(%s)",
            [ids],
        )
        texts = {row[0]: row[1:] for row in cursor.fetchall()}
    parts: list[bytes] = []
    done = at = 0
    for row in doc["results"]:
        at = reference.index(b'"id":"%s"' % row["id"].encode(), at)
        for name, text in zip(JSON_COLUMNS, texts[row["id"]], strict=True):
            if row[name] is None:
                assert text is None, name
                continue
            key = b'"%s":' % name.encode()
            found = reference.index(key + JSONRenderer().render(row[name]), at)
            escaped = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
            parts += [reference[done:found], key, escaped.encode()]
            at = done = found + len(key) + len(JSONRenderer().render(row[name]))
    return b"".join([*parts, reference[done:]])

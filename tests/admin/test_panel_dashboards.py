"""The dashboards, as a staff user sees them: one success rate, a reason for every health
state, counts and error types that link to the generations they count, time series per
hour, and the auto-refresh each page starts with."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from generations.models import (
    Generation,
    ProviderAttempt,
)
from tests.admin.pages import changelist_ids, hrefs, html, status_total

URL = "/api/v1/generations"
CHANGELIST = reverse("admin:generations_generation_changelist")
PROVIDERS = reverse("admin:genpipe_providers")
CACHE = reverse("admin:genpipe_cache")


# --- One success rate ------------------------------------------------------------------


@pytest.mark.parametrize("source", ["database", pytest.param("redis", marks=pytest.mark.redis)])
def test_provider_page_has_one_success_rate_the_telemetry_api_agrees_with(
    panel, staff_api, mix, settings, source, request
):
    if source == "database":
        settings.REDIS_URL = ""
    else:
        request.getfixturevalue("telemetry_redis")
    page = html(panel.get(PROVIDERS))
    api = staff_api.get(f"{URL}/telemetry/providers/sandbox").json()
    expected = api["last_24h"]["success_rate"]
    assert expected == round(2 / 3, 4)  # 2 completed, 1 failed; the pending one is neither
    definition = re.search(r'id="gp-success-definition">(.*?)</p>', page, re.S).group(1)
    assert (
        "completed ÷ (completed + failed)" in definition and "last_24h.success_rate" in definition
    )
    shown = re.findall(r'class="gp-success"[^>]*>([^<]+)<', page)
    assert len(shown) >= 3  # the card, the providers table and the operations table
    card = re.search(r'data-provider="sandbox">.*?class="gp-success"[^>]*>([^<]+)<', page, re.S)
    table = re.search(r'<tr data-provider="sandbox">.*?</tr>', page, re.S).group(0)
    assert card.group(1) == "66.7 %"
    assert re.search(r'class="gp-success">([^<]+)<', table).group(1) == "66.7 %"
    for value in shown:
        assert re.fullmatch(r"\d+\.\d %|—", value), value
    # Nothing else on the page is called a success rate: the call-based figures say calls.
    assert page.lower().count("success rate") == page.count("Success rate") + page.count(
        "success rate</th>"
    )
    assert ">0.6667<" not in page and "67%" not in page


def test_degraded_operation_row_states_its_reason(panel, mix, settings):
    """Retries rescued every generation of the last hour (100 % success), but a quarter of
    the calls failed: the row says DEGRADED and why."""
    settings.REDIS_URL = ""
    done = Generation.objects.get(id=mix["talk"])
    now = timezone.now()
    for number in range(2, 12):
        ProviderAttempt.objects.create(
            generation=done,
            provider_id="sandbox",
            attempt_number=number,
            operation_type=done.operation_type,
            started_at=now - timedelta(seconds=30),
            finished_at=now - timedelta(seconds=29),
            outcome="failed" if number % 4 == 0 else "succeeded",
            error_code="sandbox_busy" if number % 4 == 0 else "",
        )
    page = html(panel.get(PROVIDERS))
    row = re.search(rf'<tr data-operation="{done.operation_type}">.*?</tr>', page, re.S).group(0)
    assert "gp-health-degraded" in row
    assert re.search(r'class="gp-success">100\.0 %<', row)
    reasons = re.findall(r'<div class="gp-reason">([^<]+)</div>', row)
    assert reasons == ["2 of 11 calls failed over the last hour (degraded above 10%)"]


def test_every_health_state_but_healthy_lists_a_reason(panel, mix, settings):
    settings.REDIS_URL = ""
    page = html(panel.get(PROVIDERS))
    for row in re.findall(r"<tr data-(?:provider|operation)=.*?</tr>", page, re.S):
        healthy = "gp-health-healthy" in row
        assert healthy == ('class="gp-reason"' not in row), row


# --- Counts and errors link to the generations they count --------------------------------


def test_counts_link_to_the_filtered_list_that_counts_the_same(panel, mix, settings):
    settings.REDIS_URL = ""
    page = html(panel.get(PROVIDERS))
    row = re.search(r'<tr data-provider="sandbox">.*?</tr>', page, re.S).group(0)
    cells = re.findall(r'<td><a href="([^"]+)">(\d+)</a></td>', row)
    assert len(cells) == 5  # 24 h: generations, completed, failed, cancelled; all time
    for href, count in cells:
        listed = html(panel.get(unescape(href)))
        assert status_total(listed) == int(count), href
    day, completed, failed = (unescape(h) for h, _ in cells[:3])
    assert "provider__id__exact=sandbox" in day and "finished=24h" in day
    assert changelist_ids(html(panel.get(failed))) == {mix["failed"]}
    assert changelist_ids(html(panel.get(completed))) == {mix["done"], mix["talk"]}


def test_error_types_link_to_the_generations_that_had_them(panel, mix, settings):
    settings.REDIS_URL = ""
    page = html(panel.get(PROVIDERS))
    errors = re.search(r'id="gp-errors">.*?</table>', page, re.S).group(0)
    row = re.search(r"<tr><td>sandbox</td>.*?sandbox_busy.*?</tr>", errors, re.S).group(0)
    links = set(hrefs(row))
    assert len(links) == 1
    link = links.pop()
    assert "error=sandbox_busy" in link and "provider__id__exact=sandbox" in link
    listed = html(panel.get(link))
    assert changelist_ids(listed) == {mix["failed"]}
    assert "error type" in listed  # the sidebar shows the filter in use


# --- Time series ------------------------------------------------------------------------------


def test_provider_page_charts_latency_and_volume_per_hour(panel, mix, settings):
    settings.REDIS_URL = ""
    page = html(panel.get(PROVIDERS))
    pair = re.search(r'<div class="gp-chart-pair" data-provider="sandbox">.*?</div>', page, re.S)
    charts = re.findall(r"<svg .*?</svg>", pair.group(0), re.S)
    assert len(charts) == 2
    volume, latency = charts
    assert "generations finished per hour" in volume
    hour = timezone.now().strftime("%H:00")
    assert f"<title>{hour} completed: 2</title>" in volume
    assert f"<title>{hour} failed: 1</title>" in volume
    assert "latency percentiles per hour" in latency
    samples = sorted(
        Generation.objects.filter(provider_id="sandbox", latency_ms__isnull=False)
        .exclude(status="pending")
        .values_list("latency_ms", flat=True)
    )
    assert len(samples) == 3
    p50 = samples[1]  # nearest rank: ⌈0.5 · 3⌉ = 2
    assert f"<title>{hour} p50: " in latency
    points = re.findall(rf"<title>{hour} (p\d+): ([\d,.]+) ms</title>", latency)
    assert dict(points) == {"p50": f"{p50:,.0f}" if p50 >= 10 else f"{p50:,.2g}"}  # p95: 20+


@pytest.mark.parametrize("backend", ["database", pytest.param("redis", marks=pytest.mark.redis)])
def test_cache_page_charts_the_hit_rate_per_hour(
    panel, api, make_generation, settings, backend, request
):
    if backend == "database":
        settings.REDIS_URL = ""
    else:
        request.getfixturevalue("telemetry_redis")
    first = make_generation()
    assert make_generation() == first  # a hit
    assert make_generation() == first  # another
    page = html(panel.get(CACHE))
    charts = re.search(r'id="gp-cache-charts">(.*?)</div>', page, re.S).group(1)
    hit_rate, lookups = re.findall(r"<svg .*?</svg>", charts, re.S)
    hour = timezone.now().strftime("%H:00")
    assert f"<title>{hour} hit rate: 67 %</title>" in hit_rate
    assert len(re.findall(r"<circle ", hit_rate)) == 1  # one hour with lookups
    assert f"<title>{hour} misses: 1</title>" in lookups


# --- Auto-refresh settings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "query", "interval"),
    [(None, None, 30), (60, None, 60), (0, None, 0), (30, "5", 5), (30, "0", 0), (30, "1", 30)],
)
def test_dashboards_start_with_the_configured_refresh(panel, settings, setting, query, interval):
    if setting is not None:
        settings.GENPIPE_PANEL_REFRESH_S = setting
    for name in ("genpipe_panel", "genpipe_providers", "genpipe_cache", "genpipe_validation"):
        params = {"refresh": query} if query is not None else {}
        page = html(panel.get(reverse(f"admin:{name}"), params))
        assert f'id="gp-refresh" data-interval="{interval}"' in page, name
        assert re.search(rf'<option value="{interval}" selected>', page), name
        assert "devpanel/refresh" in page and "data-gp-live" in page, name

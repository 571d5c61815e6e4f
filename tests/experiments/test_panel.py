"""Dev panel: the experiment page, its promote form, feedback on the generation page,
feedback beside latency and cost in provider telemetry, and the demo's experiment."""

from __future__ import annotations

import pytest
from django.test import Client

from experiments.demo import demo_feedback_ensure
from experiments.models import Feedback
from generations.models import PromptFamily, PromptVersion
from tests.experiments.test_api import _ab, _create, _dialogue


@pytest.fixture
def staff(db, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-1")
    client = Client()
    client.force_login(user)
    return client


def _rate(api, generation_id, value, rater="r"):
    response = api.post(
        f"/api/v1/generations/{generation_id}/feedback",
        {"metric": "rating", "value": value, "rater_id": rater},
        format="json",
    )
    assert response.status_code in (200, 201), response.content


def test_experiment_page_and_promote_form(api, staff, no_dispatch):
    _ab(api)
    for pt, value in (("a", 4), ("b", 2), ("c", 5)):
        _rate(api, _create(api, **_dialogue(pt))["id"], value)
    family = PromptFamily.objects.get()
    page = staff.get(f"/admin/experiments/feedbackmetric/panel/{family.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="gp-verdict"' in html and "collecting" in html
    assert 'data-version="1"' in html and 'data-version="2"' in html
    assert "<svg" in html and "csrfmiddlewaretoken" in html
    promoted = staff.post(
        f"/admin/experiments/feedbackmetric/panel/{family.pk}/promote/", {"version": "2"}
    )
    assert promoted.status_code == 302
    assert list(
        PromptVersion.objects.filter(is_active=True).values_list("version_number", flat=True)
    ) == [2]
    assert staff.get("/admin/experiments/feedbackmetric/panel/").status_code == 200


def test_generation_page_shows_feedback(api, staff, no_dispatch):
    generation = _create(api)
    _rate(api, generation["id"], 4, rater="player-77")
    page = staff.get(f"/admin/generations/generation/{generation['id']}/change/")
    assert page.status_code == 200
    assert "player-77" in page.content.decode()


def test_provider_telemetry_has_feedback_means(api, staff_api, no_dispatch):
    for i, value in enumerate((2, 4)):
        _rate(api, _create(api, config={"prompt": f"p{i}"})["id"], value)
    report = staff_api.get("/api/v1/generations/telemetry/providers/sandbox").json()
    assert report["feedback"] == {"rating": {"n": 2, "mean": 3.0}}


def test_demo_feedback_is_idempotent(api, no_dispatch):
    _ab(api)
    PromptFamily.objects.update(slug="npc-greeting")
    for pt in ("a", "b", "c", "d"):
        _create(api, **_dialogue(pt, template_id="npc-greeting"))
    workspace = PromptFamily.objects.get().workspace
    first = demo_feedback_ensure(workspace=workspace)
    rows = sorted(
        Feedback.objects.values_list("generation_id", "metric__name", "rater_id", "value")
    )
    assert first == 4 * 3 * 2 and len(rows) == first
    demo_feedback_ensure(workspace=workspace)
    assert (
        sorted(Feedback.objects.values_list("generation_id", "metric__name", "rater_id", "value"))
        == rows
    )

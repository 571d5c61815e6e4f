"""The cost estimate before create: text by tokens, images each, video per second."""

from __future__ import annotations

from decimal import Decimal

from generations.services.pricing import cost_estimate
from tests.builders import create_body


def test_text_is_prompt_tokens_plus_the_output_allowance(sandbox, settings):
    settings.GENPIPE_BUDGET_TEXT_OUTPUT_TOKENS = 500
    prompt = "x" * 4000  # 1000 tokens
    estimate = cost_estimate(sandbox, "dialogue", prompt, {})
    assert estimate == Decimal("0.00015") + Decimal("0.0003")
    allowance = {"style": {"sandbox": {"max_tokens": 1000}}}
    assert cost_estimate(sandbox, "dialogue", prompt, allowance) == Decimal("0.00075")


def test_an_image_is_one_image_plus_its_prompt(sandbox):
    assert cost_estimate(sandbox, "text_to_image", "abcd" * 1000, {}) == Decimal("0.04015")


def test_video_uses_max_then_target_then_five_seconds(sandbox):
    assert cost_estimate(sandbox, "image_to_video", "", {"duration": {"max": 8, "target": 4}}) == (
        Decimal("0.4")
    )
    assert cost_estimate(sandbox, "image_to_video", "", {"duration": {"target": 4}}) == Decimal(
        "0.2"
    )
    assert cost_estimate(sandbox, "text_to_video", "", {}) == Decimal("0.25")


def test_validate_and_the_generation_json_show_the_estimate(api, no_dispatch):
    body = create_body()
    validated = api.post("/api/v1/generations/validate", body, format="json").json()
    assert validated["estimated_cost_usd"] == "0.040001"
    created = api.post("/api/v1/generations", body, format="json").json()
    assert created["estimated_cost_usd"] == "0.040001"
    again = api.get(f"/api/v1/generations/{created['id']}").json()
    assert again["estimated_cost_usd"] == "0.040001"

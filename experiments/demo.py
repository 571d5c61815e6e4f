"""Demo feedback: players rate the demo's ``npc-greeting`` lines (idempotent)."""

from __future__ import annotations

import hashlib

from generations.models import Generation, Workspace

from .feedback import feedback_submit, metric_create, metric_list

DEMO_FAMILY = "npc-greeting"
RATERS = 3
# Version 2 reads better: its players rate it about half a star higher.
BASE_RATING = {1: 3, 2: 4}


def _spread(text: str) -> int:
    """-1, 0 or +1, fixed for a given text (no randomness: reruns write the same values)."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) % 3 - 1


def demo_feedback_ensure(*, workspace: Workspace) -> int:
    """Rate every demo generation of the A/B family; returns how many values exist."""
    if "skipped" not in {m.name for m in metric_list(workspace=workspace)}:
        metric_create(
            workspace=workspace,
            data={"name": "skipped", "kind": "boolean", "higher_is_better": False},
        )
    generations = Generation.objects.filter(
        workspace=workspace, prompt_version__family__slug=DEMO_FAMILY
    ).select_related("prompt_version", "workspace")
    count = 0
    for generation in generations:
        assert generation.prompt_version is not None
        base = BASE_RATING.get(generation.prompt_version.version_number, 3)
        for rater in range(RATERS):
            key = f"{generation.id}:{rater}"
            rating = min(5, max(1, base + _spread(key)))
            feedback_submit(
                generation=generation,
                data={"metric": "rating", "value": rating, "rater_id": f"demo-player-{rater}"},
                rater="demo",
            )
            skipped = _spread("skip:" + key) == 1 and rating <= 3
            feedback_submit(
                generation=generation,
                data={"metric": "skipped", "value": skipped, "rater_id": f"demo-player-{rater}"},
                rater="demo",
            )
            count += 2
    return count

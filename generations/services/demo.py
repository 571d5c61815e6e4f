"""The demo world of ``manage.py load_demo``: a workspace to click through and call.

For local development only. The demo superuser ``demo`` has the well-known password
``demo-password`` and the member ``writer`` has ``writer-password``; never load the demo
into a database that anyone else can reach.

What it sets up, in the workspace ``demo`` ("Demo Studio", max rating ``romantic``,
default provider ``sandbox``):

* the users ``demo`` (staff superuser, owner, API token) and ``writer`` (member);
* the sandbox provider (recreated if it was deleted) with a realistic ``latency_ms``
  (400 by default), a ``failure_rate`` of 0.1 and one retry, so some attempts fail, a few
  generations fail for good and can be retried;
* the prompt families ``npc-greeting`` (two active versions, A/B weights 1 and 1, using
  ``{{npc_name}}`` and ``{{mood_to}}`` with defaults) and ``scene-transition`` (one version);
* a mix of generations of every kind (images, NPC lines, transitions, image-to-video,
  variations, environments), created through the real create flow exactly like the API
  does it: the body is validated by ``GenerationCreateSerializer``, then handed to
  ``generation_create``. Some requests repeat earlier ones on purpose and are reused via
  dedup or the cache slot instead of creating a row. New rows are enqueued to the Celery
  workers when their transaction commits.

Idempotent: users, the workspace, memberships, the token and prompt families are created
when missing and never duplicated; what exists is left as it is (existing prompt versions,
the workspace's settings, and the sandbox's settings, which the demo sets only on the run
that creates the demo workspace or the sandbox row, so values edited in the admin stay;
``latency_ms`` passed explicitly is the one exception). The demo user's login is reset to
the documented one. Generations are only added while the workspace holds fewer than the
target number; later runs continue the request sequence where the last one stopped.
``demo_loaded`` tells whether the demo workspace exists (``load_demo --once`` then does
nothing).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from core.errors import ValidationFailed

from ..hooks import demo_extensions
from ..models import (
    ContentRating,
    Generation,
    OperationType,
    PromptFamily,
    PromptVersion,
    Provider,
    Workspace,
)
from ..serializers import GenerationCreateSerializer
from .accounts import api_token_create, membership_ensure
from .creation import generation_create
from .demo_requests import CYCLE, NAME_PATTERN, WRITER_SLOTS, demo_request

WORKSPACE_SLUG = "demo"
WORKSPACE_NAME = "Demo Studio"
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password"  # local development only
WRITER_USERNAME = "writer"
WRITER_PASSWORD = "writer-password"  # local development only
SANDBOX_ID = "sandbox"
DEFAULT_GENERATIONS = 40
DEFAULT_LATENCY_MS = 400
FAILURE_RATE = 0.1

# The row migration 0002 creates; recreated with these values if it was deleted.
SANDBOX_DEFAULTS: dict[str, Any] = {
    "name": "Sandbox (offline, deterministic)",
    "adapter": Provider.Adapter.SANDBOX,
    "operation_types": [operation.value for operation in OperationType],
    "price_per_1k_input_tokens": Decimal("0.000150"),
    "price_per_1k_output_tokens": Decimal("0.000600"),
    "price_per_image": Decimal("0.040000"),
    "price_per_video_second": Decimal("0.050000"),
}

Progress = Callable[[str], None]


class DemoError(Exception):
    """The demo cannot be loaded (a demo request was refused, or bad arguments)."""


@dataclass(frozen=True)
class PromptVersionSpec:
    version_number: int
    template: str
    variables: dict[str, str | None]
    weight: int = 1


@dataclass(frozen=True)
class PromptFamilySpec:
    slug: str
    title: str
    description: str
    versions: tuple[PromptVersionSpec, ...]


PROMPT_FAMILIES: tuple[PromptFamilySpec, ...] = (
    PromptFamilySpec(
        slug="npc-greeting",
        title="NPC greeting",
        description="What an NPC says when the player walks up. Two versions under A/B test.",
        versions=(
            PromptVersionSpec(
                1,
                "{{npc_name}} greets the player in one short line, sounding {{mood_to}}.",
                {"npc_name": "the innkeeper", "mood_to": "friendly"},
            ),
            PromptVersionSpec(
                2,
                "Write one line of dialogue: {{npc_name}} notices the player and says "
                "hello. Tone: {{mood_to}}. Stay in character, no narration.",
                {"npc_name": "the innkeeper", "mood_to": "friendly"},
            ),
        ),
    ),
    PromptFamilySpec(
        slug="scene-transition",
        title="Scene transition",
        description="A short cinematic bridge between two authored scenes.",
        versions=(
            PromptVersionSpec(
                1,
                "Cinematic transition from {{from_scene}} to {{to_scene}}, the mood shifting "
                "from {{mood_from}} to {{mood_to}}. Smooth camera move, no cuts.",
                {"from_scene": None, "to_scene": None, "mood_from": "calm", "mood_to": "calm"},
            ),
        ),
    ),
)


@dataclass(frozen=True)
class DemoWorld:
    workspace: Workspace
    demo_user: Any
    writer: Any
    token: str
    provider: Provider


@dataclass
class DemoResult:
    token: str
    username: str = DEMO_USERNAME
    password: str = DEMO_PASSWORD
    workspace_slug: str = WORKSPACE_SLUG
    target: int = DEFAULT_GENERATIONS
    total: int = 0
    created: int = 0
    reused: Counter[str] = field(default_factory=Counter)


def _user_ensure(username: str, password: str, *, superuser: bool) -> Any:
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    if user is None:
        email = f"{username}@example.com"
        if superuser:
            return user_model.objects.create_superuser(username, email, password)
        return user_model.objects.create_user(username, email, password)
    changed = []
    if superuser and not (user.is_staff and user.is_superuser):
        user.is_staff = user.is_superuser = True
        changed += ["is_staff", "is_superuser"]
    if not user.is_active:
        user.is_active = True
        changed.append("is_active")
    if not user.check_password(password):
        user.set_password(password)
        changed.append("password")
    if changed:
        user.save(update_fields=changed)
    return user


def _families_ensure(workspace: Workspace) -> None:
    for spec in PROMPT_FAMILIES:
        family, _ = PromptFamily.objects.get_or_create(
            workspace=workspace,
            slug=spec.slug,
            defaults={"title": spec.title, "description": spec.description},
        )
        for version in spec.versions:
            PromptVersion.objects.get_or_create(
                family=family,
                version_number=version.version_number,
                defaults={
                    "template": version.template,
                    "variables": version.variables,
                    "weight": version.weight,
                    "is_active": True,
                },
            )


def demo_loaded() -> bool:
    """Whether the demo workspace exists (a load ran before)."""
    return Workspace.objects.filter(slug=WORKSPACE_SLUG).exists()


@transaction.atomic
def demo_world_ensure(*, latency_ms: int | None = None) -> DemoWorld:
    """Users, workspace, memberships, token, sandbox settings and prompt families: what is
    missing is created, what exists is kept (see the module docstring)."""
    provider, new_provider = Provider.objects.get_or_create(
        id=SANDBOX_ID, defaults=SANDBOX_DEFAULTS
    )
    workspace = Workspace.objects.filter(slug=WORKSPACE_SLUG).first()
    if workspace is None or new_provider:
        provider.settings = {
            **(provider.settings or {}),
            "latency_ms": DEFAULT_LATENCY_MS if latency_ms is None else latency_ms,
            "failure_rate": FAILURE_RATE,
            # One retry: most injected failures recover (attempts show them), some do not,
            # so the dashboards show attempt errors, failed generations and a health state.
            "max_retries": 1,
        }
        provider.enabled = True
        provider.save(update_fields=["settings", "enabled", "updated_at"])
    elif latency_ms is not None and (provider.settings or {}).get("latency_ms") != latency_ms:
        provider.settings = {**(provider.settings or {}), "latency_ms": latency_ms}
        provider.save(update_fields=["settings", "updated_at"])
    if workspace is None:
        workspace = Workspace.objects.create(
            slug=WORKSPACE_SLUG,
            name=WORKSPACE_NAME,
            max_content_rating=ContentRating.ROMANTIC,
            default_provider=provider,
        )
    demo_user = _user_ensure(DEMO_USERNAME, DEMO_PASSWORD, superuser=True)
    writer = _user_ensure(WRITER_USERNAME, WRITER_PASSWORD, superuser=False)
    token = api_token_create(username=DEMO_USERNAME, workspace_slug=WORKSPACE_SLUG)
    membership_ensure(user=writer, workspace=workspace, role="member")
    _families_ensure(workspace)
    return DemoWorld(workspace, demo_user, writer, token, provider)


def _next_index(workspace: Workspace) -> int:
    """One past the highest demo request number that created a row in the workspace."""
    names = Generation.objects.filter(workspace=workspace, name__startswith="demo #")
    numbers = [
        int(match.group(1))
        for name in names.values_list("name", flat=True)
        if (match := NAME_PATTERN.match(name))
    ]
    return max(numbers, default=-1) + 1


def _submit(world: DemoWorld, index: int) -> str | None:
    """Validate and create demo request ``index`` like the API does; returns ``reused``."""
    body = demo_request(index)
    serializer = GenerationCreateSerializer(data=body)
    if not serializer.is_valid():
        raise DemoError(f"demo request #{index} is invalid: {serializer.errors}")
    user = world.writer if index % CYCLE in WRITER_SLOTS else world.demo_user
    try:
        outcome = generation_create(
            workspace=world.workspace, user=user, data=dict(serializer.validated_data)
        )
    except ValidationFailed as exc:
        raise DemoError(f"demo request #{index} was refused: {exc.message} {exc.fields}") from exc
    return outcome.reused


def demo_generations_fill(
    *, world: DemoWorld, target: int, progress: Progress | None = None
) -> DemoResult:
    """Create demo generations until the workspace holds ``target`` (never deletes)."""
    result = DemoResult(token=world.token, target=target)
    total = Generation.objects.filter(workspace=world.workspace).count()
    index = _next_index(world.workspace)
    budget = max(0, target - total) * 2 + CYCLE  # bounds the loop if everything is reused
    requests = 0
    while total < target and requests < budget:
        reused = _submit(world, index)
        index += 1
        requests += 1
        if reused is None:
            result.created += 1
            total += 1
            if progress and result.created % 10 == 0:
                progress(
                    f"  {result.created} generations created "
                    f"({requests} requests, {sum(result.reused.values())} reused)"
                )
        else:
            result.reused[reused] += 1
    result.total = total
    return result


def demo_load(
    *,
    generations: int = DEFAULT_GENERATIONS,
    latency_ms: int | None = None,
    progress: Progress | None = None,
) -> DemoResult:
    """Load (or top up) the demo world; see the module docstring. Safe to run again.
    ``latency_ms`` (``None``: keep the sandbox's, 400 ms on the first load)."""
    if generations < 0 or (latency_ms is not None and latency_ms < 0):
        raise DemoError("generations and latency_ms must not be negative")
    world = demo_world_ensure(latency_ms=latency_ms)
    result = demo_generations_fill(world=world, target=generations, progress=progress)
    # Apps above generations add their part of the demo (experiments: players' feedback on
    # the A/B family), named in settings like the other extension points.
    for extend in demo_extensions():
        extend(workspace=world.workspace)
    return result

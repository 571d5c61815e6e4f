"""Closed vocabularies of the domain: ratings, operations, statuses, strategies, purposes."""

from __future__ import annotations

from django.db import models


class ContentRating(models.TextChoices):
    """Content rating scale of the social context, least to most permissive."""

    SFW = "sfw", "SFW"
    ROMANTIC = "romantic", "Romantic"
    MATURE_IMPLIED = "mature_implied", "Mature (implied)"
    RESTRICTED = "restricted", "Restricted"


class OperationType(models.TextChoices):
    TEXT_TO_IMAGE = "text_to_image"
    IMAGE_TO_IMAGE = "image_to_image"
    TEXT_TO_VIDEO = "text_to_video"
    IMAGE_TO_VIDEO = "image_to_video"
    VIDEO_EXTEND = "video_extend"
    VIDEO_TRANSITION = "video_transition"
    FUSION = "fusion"
    DIALOGUE = "dialogue"
    NPC_RESPONSE = "npc_response"


TEXT_OPERATIONS = frozenset({OperationType.DIALOGUE, OperationType.NPC_RESPONSE})
IMAGE_OPERATIONS = frozenset({OperationType.TEXT_TO_IMAGE, OperationType.IMAGE_TO_IMAGE})


class Status(models.TextChoices):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_STATUSES = frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELLED})
# A generation in one of these statuses answers identical requests (dedup and its cache
# slot) until its slot is invalidated.
REUSABLE_STATUSES = (Status.PENDING, Status.PROCESSING, Status.COMPLETED)


class Strategy(models.TextChoices):
    ONCE = "once"
    PER_PLAYTHROUGH = "per_playthrough"
    PER_PLAYER = "per_player"
    ALWAYS = "always"


class Purpose(models.TextChoices):
    GAP_FILL = "gap_fill"
    VARIATION = "variation"
    ADAPTIVE = "adaptive"
    AMBIENT = "ambient"

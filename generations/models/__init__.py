"""Persistent state of the generation pipeline.

Rows only: every write with a side effect goes through ``generations.services``; a status
changes in ``generations.services.lifecycle`` and nowhere else.
"""

from .accounts import Workspace, WorkspaceMembership
from .generations import Generation, GenerationEvent, GenerationQuerySet, ProviderAttempt
from .idempotency import IdempotencyRecord
from .prompts import Allocation, PromptAssignment, PromptFamily, PromptVersion
from .providers import Provider, ProviderBreaker
from .vocabulary import (
    IMAGE_OPERATIONS,
    REUSABLE_STATUSES,
    TERMINAL_STATUSES,
    TEXT_OPERATIONS,
    ContentRating,
    OperationType,
    Purpose,
    Status,
    Strategy,
)

__all__ = [
    "IMAGE_OPERATIONS",
    "REUSABLE_STATUSES",
    "TERMINAL_STATUSES",
    "TEXT_OPERATIONS",
    "Allocation",
    "ContentRating",
    "Generation",
    "GenerationEvent",
    "GenerationQuerySet",
    "IdempotencyRecord",
    "OperationType",
    "PromptAssignment",
    "PromptFamily",
    "PromptVersion",
    "Provider",
    "ProviderAttempt",
    "ProviderBreaker",
    "Purpose",
    "Status",
    "Strategy",
    "Workspace",
    "WorkspaceMembership",
]

"""Node ``generation_type`` → operation type, and what each operation needs.

NPC text is its own pair of operations (``dialogue``, ``npc_response``): they produce text
and are served by text providers. Unknown generation types are rejected, never mapped.
"""

from __future__ import annotations

from .models import OperationType

GENERATION_TYPES: dict[str, str] = {
    "text_to_image": OperationType.TEXT_TO_IMAGE,
    "image_edit": OperationType.IMAGE_TO_IMAGE,
    "image_to_video": OperationType.IMAGE_TO_VIDEO,
    "video_extend": OperationType.VIDEO_EXTEND,
    "transition": OperationType.VIDEO_TRANSITION,
    "fusion": OperationType.FUSION,
    "variation": OperationType.TEXT_TO_VIDEO,
    "environment": OperationType.TEXT_TO_VIDEO,
    "dialogue": OperationType.DIALOGUE,
    "npc_response": OperationType.NPC_RESPONSE,
}

# Operations whose provider input is a prompt: the resolved final prompt must not be blank.
PROMPT_REQUIRED = frozenset(
    {
        OperationType.TEXT_TO_IMAGE,
        OperationType.IMAGE_TO_IMAGE,
        OperationType.TEXT_TO_VIDEO,
        OperationType.IMAGE_TO_VIDEO,
        OperationType.DIALOGUE,
        OperationType.NPC_RESPONSE,
    }
)

# Purposes that make sense per generation type; other combinations only warn.
USUAL_PURPOSES: dict[str, frozenset[str]] = {
    "transition": frozenset({"gap_fill", "variation", "adaptive"}),
    "variation": frozenset({"variation", "adaptive"}),
    "dialogue": frozenset({"variation", "adaptive", "ambient"}),
    "environment": frozenset({"ambient", "adaptive"}),
    "npc_response": frozenset({"adaptive", "variation"}),
}


def operation_for(generation_type: str) -> str:
    """The operation type of a generation type (KeyError for an unknown one)."""
    return GENERATION_TYPES[generation_type]

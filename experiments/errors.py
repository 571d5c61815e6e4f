"""Error codes of the prompt library, feedback and experiments API."""

from __future__ import annotations

from core.errors import Conflict, NotFound


class FamilyNotFound(NotFound):
    code = "prompt_family_not_found"

    def __init__(self) -> None:
        super().__init__("Prompt family not found.")


class VersionNotFound(NotFound):
    code = "prompt_version_not_found"

    def __init__(self) -> None:
        super().__init__("Prompt version not found.")


class NoWinner(Conflict):
    code = "no_winner"

    def __init__(self) -> None:
        super().__init__("The experiment has no winner yet; name the version to promote.")

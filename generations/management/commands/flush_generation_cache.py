"""``manage.py flush_generation_cache``: invalidate generation cache slots (all or filtered).

Exit status: 0 when the flush ran (also when nothing matched), 1 on invalid arguments or an
unreachable cache (argparse's own usage errors exit with 2).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from caching.flush import STRATEGIES, FlushError, FlushResult
from generations.models import Workspace
from generations.services.invalidation import generation_slots_flush

LISTED = 50  # slots listed with --verbosity 2


class Command(BaseCommand):
    help = (
        "Invalidate generation cache slots: --all, or those matching every given filter. "
        "Each slot is deleted and the pending, processing or completed generations filed "
        "under it are marked invalidated, so the next identical request creates a new "
        "generation (deduplication no longer answers with the old one). The old generations "
        "keep their status and result and stay readable by id. Telemetry, cache statistics "
        "and throttles are never touched."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="Every slot of every workspace.")
        parser.add_argument(
            "--strategy", metavar="S", help=f"Slots of one strategy ({', '.join(STRATEGIES)})."
        )
        parser.add_argument(
            "--workspace", metavar="SLUG_OR_ID", help="Slots of one workspace (slug or id)."
        )
        parser.add_argument(
            "--scene", metavar="SCENE_ID", help="Slots whose from or to scene is SCENE_ID."
        )
        parser.add_argument(
            "--key",
            metavar="CACHE_KEY",
            help="One cache key (generation:…|v1): in --workspace, else in every workspace.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Show what would be deleted; delete nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        filters = {name: options[name] for name in ("strategy", "workspace", "scene", "key")}
        given = {name: value for name, value in filters.items() if value not in (None, "")}
        if options["all"] and given:
            raise CommandError("--all cannot be combined with filters; use one or the other.")
        if not options["all"] and not given:
            raise CommandError(
                "Nothing selected: pass --all, or at least one of --strategy, --workspace, "
                "--scene, --key."
            )
        workspace = _workspace(given["workspace"]) if "workspace" in given else None
        verbosity = int(options["verbosity"])

        def progress(scanned: int, matched: int) -> None:
            if verbosity >= 1:
                self.stderr.write(f"  scanned {scanned} slots, {matched} matching…")

        try:
            result = generation_slots_flush(
                strategy=given.get("strategy"),
                workspace_id=workspace.id if workspace is not None else None,
                scene=given.get("scene"),
                key=given.get("key"),
                dry_run=options["dry_run"],
                sample_size=LISTED,
                progress=progress,
            )
        except FlushError as exc:
            raise CommandError(str(exc)) from exc
        self._report(result, given, workspace, verbosity)

    def _report(
        self,
        result: FlushResult,
        given: dict[str, str],
        workspace: Workspace | None,
        verbosity: int,
    ) -> None:
        if verbosity < 1:
            return
        scope = ", ".join(
            f"{name}={workspace.slug} (#{workspace.id})"
            if name == "workspace" and workspace is not None
            else f"{name}={value}"
            for name, value in given.items()
        )
        noun = "slot" if result.matched == 1 else "slots"
        if result.dry_run:
            head = f"Would delete {result.matched} generation cache {noun} (dry run: nothing "
            head += "was deleted)"
        else:
            head = f"Deleted {result.deleted} generation cache {noun}"
        self.stdout.write(f"{head}; selection: {scope or 'all'}.")
        if not result.dry_run:
            self.stdout.write(
                f"Invalidated {result.invalidated} generation(s): identical requests generate "
                "again."
            )
        for strategy in STRATEGIES:
            self.stdout.write(f"  {strategy}: {result.by_strategy.get(strategy, 0)}")
        others = result.matched - sum(result.by_strategy.get(s, 0) for s in STRATEGIES)
        if others:
            self.stdout.write(f"  other: {others}")
        if verbosity >= 2:
            self.stdout.write(f"Scanned {result.scanned} slots.")
            for slot in result.sample:
                self.stdout.write(f"  workspace {slot.workspace_id}  {slot.cache_key}")
            if result.matched > len(result.sample):
                self.stdout.write(f"  … and {result.matched - len(result.sample)} more")


def _workspace(value: str) -> Workspace:
    """A workspace by id (all digits) or slug, as the API resolves ``workspace_id``."""
    lookup = {"id": int(value)} if value.isascii() and value.isdigit() else {"slug": value}
    workspace = Workspace.objects.filter(**lookup).first()
    if workspace is None:
        raise CommandError(f"No workspace {value!r} (give its slug or numeric id).")
    return workspace

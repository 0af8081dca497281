"""``hexbus dead-letters sweep``: retry or remove the dead letters a filter takes, in batches."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ...application.dead_letter_sweep import DeadLetterFilter, DeadLetterSweep, SweepAction
from .apps import AppOption
from .dead_letters import YesOption, dead_letters
from .operations import console, emit_json, errors, fail, open_container, operator_errors

TIME_FORMATS = ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"]


@dead_letters.command("sweep")
def sweep(  # noqa: PLR0917 (Typer passes each option by name)
    action: Annotated[
        SweepAction,
        typer.Argument(help="retry or remove the dead letters that match.", show_default=False),
    ],
    queue: Annotated[str | None, typer.Option("--queue", help="Only this queue's.")] = None,
    handler: Annotated[str | None, typer.Option("--handler", help="Only this handler's.")] = None,
    error_type: Annotated[
        str | None,
        typer.Option("--error-type", help="Only this error: full name or class name."),
    ] = None,
    since: Annotated[
        datetime | None,
        typer.Option("--since", formats=TIME_FORMATS, help="Failed at or after (with zone)."),
    ] = None,
    until: Annotated[
        datetime | None,
        typer.Option("--until", formats=TIME_FORMATS, help="Failed at or before (with zone)."),
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=10_000, help="Dead letters per batch.")
    ] = 100,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count the matches; change nothing.")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
    yes: YesOption = False,
    app: AppOption = None,
) -> None:
    """Retry or remove the dead letters matching every filter given, oldest first, in batches, with a progress bar.

    Counts the matches first and asks before acting (unless --yes); --dry-run only counts. Dead letters that cannot be retried stay and are counted as skipped.
    """
    if since and until and since > until:
        raise fail("--since must not be after --until: that window holds nothing", 2)
    where = DeadLetterFilter(
        queue=queue, handler=handler, error_type=error_type, since=since, until=until
    )
    container = open_container(app)
    sweeper = DeadLetterSweep(container.dead_letters())
    with operator_errors(container):
        matched = sweeper.count(where)
    what = "dead letter(s)" + ("" if where.empty else " matching")
    if dry_run or matched == 0:
        if json_output:
            emit_json({"action": "count", "matched": matched})
        else:
            console.print(
                f"{matched:,} {what}" + (" (dry run: nothing changed)" if dry_run else "")
            )
        return
    if not yes:
        typer.confirm(f"{action.value.capitalize()} {matched:,} {what}?", abort=True)
    with (
        operator_errors(container),
        Progress(
            TextColumn(f"{action.value} in batches of {batch_size:,}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=errors,
        ) as progress,
    ):
        task = progress.add_task(action.value, total=matched)
        result = sweeper.sweep(
            where,
            action,
            batch_size=batch_size,
            progress=lambda done, of: progress.update(task, completed=done, total=of),
        )
    if json_output:
        emit_json(
            {
                "action": action.value,
                "matched": result.matched,
                "done": result.done,
                "skipped": result.skipped,
            }
        )
        return
    verb = "retried" if action is SweepAction.RETRY else "removed"
    console.print(
        f"{verb} {result.done:,} of {result.matched:,} {what}"
        + (f"; {result.skipped:,} skipped (cannot be retried, or gone)" if result.skipped else "")
    )

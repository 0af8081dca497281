"""``hexbus events list``: a queue's events by state, newest first, through the EventBrowser."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Column, Table

from ...ports.browsing import BrowseState, EventFilter, EventSummary
from .apps import AppOption
from .events import events
from .operations import (
    JsonOption,
    console,
    emit_json,
    id_column,
    iso,
    open_container,
    operator_errors,
    shown,
    warn_if_unknown,
)


def summary_json(row: EventSummary) -> dict[str, Any]:
    """One row for machines (the event's header only, never its payload)."""
    return {
        "event_id": str(row.event_id),
        "event_type": row.event_type,
        "queue": row.queue,
        "state": row.state.value,
        "handlers": list(row.handlers),
        "at": iso(row.at),
        "attempts": row.attempts,
        "correlation_id": row.correlation_id,
        "causation_id": row.causation_id,
        "dead_letter_id": row.dead_letter_id,
    }


@events.command("list")
def list_events(  # noqa: PLR0917 (Typer passes each option by name)
    queue: Annotated[
        str, typer.Option("--queue", "-q", help="The queue, as 'hexbus stats' names it.")
    ],
    state: Annotated[
        BrowseState,
        typer.Option(
            "--state",
            "-s",
            case_sensitive=False,
            help="waiting, scheduled, running, retrying, succeeded (within retention) or dead.",
        ),
    ],
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="At most this many.")] = 50,
    cursor: Annotated[
        int, typer.Option("--cursor", min=0, help="Start where the previous page said 'more'.")
    ] = 0,
    event_type: Annotated[str | None, typer.Option("--type", help="Only this event type.")] = None,
    correlation_id: Annotated[
        str | None, typer.Option("--correlation-id", help="Only events of this correlation.")
    ] = None,
    causation_id: Annotated[
        str | None,
        typer.Option("--causation-id", help="Only events caused by this event id."),
    ] = None,
    json_output: JsonOption = False,
    app: AppOption = None,
) -> None:
    """List a queue's events in one state, newest first: event id, type, handlers, time, attempts.

    Each call reads a bounded window of the index that orders the state, so a rare filter may print a short page and a 'more: --cursor N' line: run it again with that cursor to go on.
    """
    container = open_container(app)
    where = EventFilter(
        event_type=event_type, correlation_id=correlation_id, causation_id=causation_id
    )
    with operator_errors(container):
        warn_if_unknown(container, queue)
        page = container.browser().browse(queue, state, cursor=cursor, limit=limit, where=where)
    if json_output:
        emit_json(
            {
                "queue": queue,
                "state": state.value,
                "items": [summary_json(row) for row in page.items],
                "next_cursor": page.next_cursor,
                "scanned": page.scanned,
            }
        )
        return
    if not page.items:
        console.print(f"no {state.value} events on queue {escape(queue)} in this window")
    else:
        table = Table(
            id_column("event id"),
            "type",
            "handlers",
            Column("at (UTC)", no_wrap=True),
            "attempts",
            title=f"{state.value} on {escape(queue)}, newest first",
        )
        for row in page.items:
            table.add_row(
                str(row.event_id),
                escape(row.event_type or "-"),
                escape(", ".join(row.handlers) or "-"),
                shown(row.at),
                str(row.attempts),
            )
        console.print(table)
    if page.next_cursor is not None:
        console.print(f"[dim]more: --cursor {page.next_cursor}[/]")

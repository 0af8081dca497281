"""``hexbus events show``: where each handler is with one event, read through the QueueMonitor."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import typer
from rich.markup import escape
from rich.table import Table

from ...application.event_detail import CAUSED_LIMIT, EventDetail, event_detail
from ...ports.browsing import EventSummary
from ...ports.monitoring import EventStatus, HandlerState, HandlerStatus
from .apps import AppOption
from .dead_letters import revealed_text
from .operations import (
    JsonOption,
    console,
    emit_json,
    errors,
    fail,
    iso,
    milliseconds,
    open_container,
    operator_errors,
    shown,
)

events = typer.Typer(
    name="events",
    help="Look up, list and act on events: each handler's state, a queue's events by state, "
    "promote, reschedule or cancel a scheduled event.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


def parse_event_id(raw: str) -> UUID:
    """The UUID in ``raw``, or a one-line error and exit status 2."""
    try:
        return UUID(raw.strip())
    except ValueError:
        raise fail(
            f"{raw!r} is not an event id: expected a UUID such as "
            "3f2b8c1e-4a5d-4e6f-8a9b-0c1d2e3f4a5b",
            2,
        ) from None


def handler_json(status: HandlerStatus) -> dict[str, Any]:
    """One handler's status for machines."""
    return {
        "handler": status.handler,
        "queue": status.queue,
        "state": status.state.value,
        "attempts": status.attempts,
        "last_error": status.last_error,
        "updated_at": iso(status.updated_at),
        "started_at": iso(status.started_at),
        "duration_ms": milliseconds(status.duration),
        "next_attempt_at": iso(status.next_attempt_at),
        "progress": status.progress,
        "log": [
            {"at": iso(line.at), "attempt": line.attempt, "text": line.text} for line in status.log
        ],
    }


STATE_STYLE = {
    HandlerState.SUCCEEDED: "green",
    HandlerState.FAILED: "yellow",
    HandlerState.DEAD: "bold red",
    HandlerState.RUNNING: "cyan",
    HandlerState.CANCELLED: "dim",
}


def print_event_status(status: EventStatus) -> None:
    """A header with the event's type and times, then one row per handler."""
    overall = status.state
    console.print(
        f"event [bold]{status.event_id}[/]  type {escape(status.event_type or '?')}  "
        f"published {shown(status.published_at)} UTC"
        + (f"  due {shown(status.due_at)} UTC" if status.due_at else "")
        + f"  state [{STATE_STYLE.get(overall, 'default')}]{overall.value}[/]"
    )
    table = Table(
        "handler",
        "queue",
        "state",
        "attempts",
        "updated (UTC)",
        "started (UTC)",
        "took ms",
        "next attempt (UTC)",
        "progress",
        "last error",
    )
    for handler in status.handlers:
        took = milliseconds(handler.duration)
        table.add_row(
            escape(handler.handler),
            escape(handler.queue),
            f"[{STATE_STYLE.get(handler.state, 'default')}]{handler.state.value}[/]",
            str(handler.attempts),
            shown(handler.updated_at),
            shown(handler.started_at),
            "-" if took is None else f"{took:,.1f}",
            shown(handler.next_attempt_at),
            "-" if handler.progress is None else f"{handler.progress:g} %",
            escape(handler.last_error or "-"),
        )
    console.print(table)
    for handler in status.handlers:
        if handler.log:
            console.print(f"[bold]{escape(handler.handler)}[/] log:")
            for line in handler.log:
                console.print(
                    f"  {shown(line.at)}  attempt {line.attempt}  {escape(line.text)}",
                    highlight=False,
                )
    if any(h.queue == "?" for h in status.handlers):
        errors.print(
            "[dim]queue '?': this process does not know that handler; pass the --app your "
            "workers use[/]"
        )


def caused_json(row: EventSummary) -> dict[str, Any]:
    """One caused event for machines (its header only)."""
    return {
        "event_id": str(row.event_id),
        "event_type": row.event_type,
        "queue": row.queue,
        "state": row.state.value,
        "handlers": list(row.handlers),
    }


def print_chain(detail: EventDetail, message: str | None) -> None:
    """The held event (payload in clear where a key opens it), its cause and what it caused."""
    if detail.held is not None:
        console.print(f"[bold]event[/] (held in {escape(detail.held.found_in)})")
        console.print(message, markup=False, highlight=False, soft_wrap=True)
    else:
        console.print("[dim]event: no copy held any more (succeeded or cancelled)[/]")
    cause = detail.caused_by
    if cause is not None:
        console.print(
            f"caused by [bold]{cause.event_id}[/]  type {escape(cause.event_type or '?')}"
        )
    caused = detail.caused
    if caused.items:
        table = Table("caused event", "type", "queue", "state", title="events it caused")
        for row in caused.items:
            table.add_row(
                str(row.event_id), escape(row.event_type or "?"), escape(row.queue), row.state.value
            )
        console.print(table)
    if not caused.complete:
        console.print(
            f"[dim]more caused events may exist: {caused.scanned:,} entries read; "
            "raise --caused-limit[/]"
        )


@events.command("show")
def show_event(
    event_id: Annotated[str, typer.Argument(help="The event's id (a UUID).", show_default=False)],
    caused_limit: Annotated[
        int,
        typer.Option(
            "--caused-limit",
            min=1,
            max=200,
            help="List at most this many of the events it caused (newest first).",
        ),
    ] = CAUSED_LIMIT,
    json_output: JsonOption = False,
    app: AppOption = None,
) -> None:
    """Show an event's status per handler (state, attempts, last error and times), the event
    itself while the bus still holds it (payload in clear where this command has the key),
    the event that caused it and the events it caused.

    Exit status 1 when nothing is known of the event: it was never published to this bus, or its record expired (succeeded events are kept 24 h, others 7 days, unless HEXBUS_TRACK_STATUS=false).
    """
    parsed = parse_event_id(event_id)
    container = open_container(app)
    with operator_errors(container):
        detail = event_detail(
            parsed,
            monitor=container.monitor(),
            browser=container.browser(),
            dead_letters=container.dead_letters(),
            caused_limit=caused_limit,
        )
    if detail is None:
        raise fail(
            f"no status for event {parsed}: it was never published to this bus, or its "
            "record expired (succeeded: 24 h; failed, dead, pending: 7 days), or status "
            "tracking is off (HEXBUS_TRACK_STATUS=false)",
            1,
        )
    status = detail.status
    message = revealed_text(container, detail.held.envelope) if detail.held else None
    if json_output:
        cause = detail.caused_by
        emit_json(
            {
                "event_id": str(status.event_id),
                "event_type": status.event_type,
                "state": status.state.value,
                "published_at": iso(status.published_at),
                "due_at": iso(status.due_at),
                "handlers": [handler_json(h) for h in status.handlers],
                "message": message,
                "message_found_in": detail.held.found_in if detail.held else None,
                "caused_by": None
                if cause is None
                else {"event_id": cause.event_id, "event_type": cause.event_type},
                "caused": [caused_json(row) for row in detail.caused.items],
                "caused_complete": detail.caused.complete,
                "caused_scanned": detail.caused.scanned,
            }
        )
    else:
        print_event_status(status)
        print_chain(detail, message)

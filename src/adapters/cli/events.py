"""``hexbus events show``: where each handler is with one event, read through the QueueMonitor."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import typer
from rich.markup import escape
from rich.table import Table

from ...ports.monitoring import EventStatus, HandlerState, HandlerStatus
from .apps import AppOption
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


@events.command("show")
def show_event(
    event_id: Annotated[str, typer.Argument(help="The event's id (a UUID).", show_default=False)],
    json_output: JsonOption = False,
    app: AppOption = None,
) -> None:
    """Show an event's status per handler: state, attempts, last error and times.

    Exit status 1 when nothing is known of the event: it was never published to this bus, or its record expired (succeeded events are kept 24 h, others 7 days, unless HEXBUS_TRACK_STATUS=false).
    """
    parsed = parse_event_id(event_id)
    container = open_container(app)
    with operator_errors(container):
        status = container.monitor().event_status(parsed)
    if status is None:
        raise fail(
            f"no status for event {parsed}: it was never published to this bus, or its "
            "record expired (succeeded: 24 h; failed, dead, pending: 7 days), or status "
            "tracking is off (HEXBUS_TRACK_STATUS=false)",
            1,
        )
    if json_output:
        emit_json(
            {
                "event_id": str(status.event_id),
                "event_type": status.event_type,
                "state": status.state.value,
                "published_at": iso(status.published_at),
                "due_at": iso(status.due_at),
                "handlers": [handler_json(h) for h in status.handlers],
            }
        )
    else:
        print_event_status(status)

"""``hexbus events promote|reschedule|cancel``: act on an event published for later."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

import typer

from .apps import AppOption
from .events import events, parse_event_id
from .operations import console, fail, open_container, operator_errors, shown

EventArgument = Annotated[
    str, typer.Argument(help="The scheduled event's id (a UUID).", show_default=False)
]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]

NOT_PENDING = (
    "event {id} is not waiting for a due time: it was never published with a delay, is "
    "already queued or handled, or was cancelled ('hexbus events show {id}' says which)"
)


@events.command("promote")
def promote(event_id: EventArgument, app: AppOption = None) -> None:
    """Run a scheduled event now: its due time becomes now, and it is queued within a moment."""
    parsed = parse_event_id(event_id)
    container = open_container(app)
    now = container.clock().now()
    with operator_errors(container):
        moved = container.scheduler().reschedule(parsed, at=now)
    if not moved:
        raise fail(NOT_PENDING.format(id=parsed), 1)
    console.print(f"promoted {parsed}: due now ({shown(now)} UTC)")


@events.command("reschedule")
def reschedule(
    event_id: EventArgument,
    delay: Annotated[
        float | None,
        typer.Option("--delay", min=0, metavar="SECONDS", help="Due this many seconds from now."),
    ] = None,
    at: Annotated[
        datetime | None,
        typer.Option(
            "--at",
            formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"],
            help="Due at this time, with its zone: 2026-03-02T09:00:00+0000.",
        ),
    ] = None,
    app: AppOption = None,
) -> None:
    """Move a scheduled event to a new due time (give --delay or --at)."""
    if (delay is None) == (at is None):
        raise fail("give exactly one of --delay SECONDS and --at TIME", 2)
    parsed = parse_event_id(event_id)
    container = open_container(app)
    due = at or container.clock().now() + timedelta(seconds=delay or 0)
    with operator_errors(container):
        moved = container.scheduler().reschedule(parsed, at=due)
    if not moved:
        raise fail(NOT_PENDING.format(id=parsed), 1)
    console.print(f"rescheduled {parsed}: due {shown(due)} UTC")


@events.command("cancel")
def cancel(event_id: EventArgument, yes: YesOption = False, app: AppOption = None) -> None:
    """Cancel a scheduled event before it is due: none of its handlers will run (asks first unless --yes)."""
    parsed = parse_event_id(event_id)
    container = open_container(app)
    if not yes:
        typer.confirm(f"Cancel event {parsed}? None of its handlers will run", abort=True)
    with operator_errors(container):
        cancelled = container.scheduler().cancel(parsed)
    if not cancelled:
        raise fail(NOT_PENDING.format(id=parsed), 1)
    console.print(f"cancelled {parsed}")

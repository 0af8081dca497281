"""``hexbus scheduler`` and ``hexbus schedules``: recurring events and due-time upkeep."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ...container import create_container
from ..dramatiq.maintenance import Maintenance, MaintenanceTimings
from ..dramatiq.worker import handler_queues
from .apps import AppOption, load_app
from .operations import JsonOption, emit_json, iso, operator_errors, shown

console = Console(emoji=False)
log = logging.getLogger("hexbus.scheduler")


def schedules(json_output: JsonOption = False, app: AppOption = None) -> None:
    """List the recurring schedules of --app: rule, time zone, catch-up policy, next fire and last tick.

    The last tick is the state the schedulers share (Redis with USE_QUEUE_EVENT_BUS=true); reading it writes nothing.
    """
    container = create_container()
    load_app(container, app)
    recurring = container.recurring()
    rows = []
    with operator_errors(container):
        for schedule in recurring.schedules:
            last = recurring.last_tick(schedule)
            rows.append((schedule, last, recurring.next_fire_after(schedule, last)))
    if json_output:
        emit_json(
            {
                "schedules": [
                    {
                        "name": schedule.name,
                        "rule": schedule.rule,
                        "timezone": schedule.timezone,
                        "catch_up": schedule.catch_up.value,
                        "next_fire": iso(next_fire),
                        "last_tick": iso(last),
                        "description": schedule.description,
                    }
                    for schedule, last, next_fire in rows
                ]
            }
        )
        return
    table = Table(
        "schedule",
        "rule",
        "time zone",
        "catch-up",
        "next fire (UTC)",
        "last tick (UTC)",
        "what",
        title="schedules",
    )
    for schedule, last, next_fire in rows:
        table.add_row(
            escape(schedule.name),
            escape(schedule.rule),
            escape(schedule.timezone),
            schedule.catch_up.value,
            shown(next_fire),
            shown(last),
            escape(schedule.description),
        )
    console.print(table)


def scheduler(
    app: AppOption = None,
    interval: Annotated[
        float,
        typer.Option(
            "--interval",
            min=0.05,
            max=60,
            help="Seconds between checks of the recurring schedules (delayed events move at their due times).",
        ),
    ] = 0.5,
) -> None:
    """Publish recurring events when due, and move delayed events into their queues at their due times.

    Run as many as you like for availability: each tick's event_id is derived from the schedule and the tick time, so a tick fires once however many schedulers see it. Needs USE_QUEUE_EVENT_BUS=true. Stops on SIGTERM or Ctrl-C.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    container = create_container()
    load_app(container, app)
    settings = container.settings()
    if not settings.use_queue_event_bus:
        raise typer.BadParameter(
            "the scheduler serves the Redis bus: set USE_QUEUE_EVENT_BUS=true "
            "(on the in-memory bus, schedules fire as its clock advances)"
        )
    recurring = container.recurring()
    upkeep = Maintenance(
        container.redis_client(),
        container.redis_keys(),
        broker_id="scheduler",
        queues=handler_queues(container.processor()),
        timings=MaintenanceTimings(
            heartbeat_timeout=settings.worker.heartbeat_timeout,
            route_grace=settings.worker.route_grace,
            unrouted_retention=settings.unrouted_retention,
        ),
        clock=container.clock(),
    )
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    console.print(
        f"scheduler: {len(recurring.schedules)} schedule(s), checking every {interval}s; "
        "moving delayed events at their due times"
    )
    # The mover wakes at each due time on its own thread (ADR 0019); recurring ticks are
    # checked every interval here.
    upkeep.start_mover()
    try:
        while not stopping.wait(interval):
            try:
                fired = recurring.run_due()
            except Exception:
                log.exception("scheduler step failed; trying again in %ss", interval)
                continue
            if fired:
                log.info("published %d recurring event(s)", fired)
    finally:
        upkeep.stop()
    console.print("scheduler stopped")

"""``hexbus outbox``: the transactional outbox on PostgreSQL (ADR 0020).

``relay`` publishes committed outbox rows to the event bus (run one or several: they share the
rows safely); ``stats`` shows the backlog; ``migrate`` applies the library's tables. All of them
need ``DATABASE_URL``. The relay needs the event classes to decode the rows: give it your app
(``--app`` or ``HEXBUS_APP``); a row whose type it does not know stays in the outbox, with the
error, until a relay that knows it comes.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Annotated, Any

import typer
from rich.table import Table

from ...container import Container, create_container
from ...domain.errors import ConfigurationError
from ...ports.unit_of_work import OutboxStats
from ..observability.logging_config import configure_logging
from .apps import AppOption, load_app
from .operations import JsonOption, console, emit_json, operator_errors

outbox = typer.Typer(
    name="outbox",
    help=(
        "The transactional outbox on PostgreSQL (DATABASE_URL): 'relay' publishes the events "
        "committed by units of work to the bus, 'stats' shows what waits, 'migrate' creates "
        "the tables."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
)


def _container(app: str | None) -> Container:
    container = create_container()
    if not container.settings().postgres.enabled:
        raise ConfigurationError(
            "DATABASE_URL",
            "is not set: the outbox lives in PostgreSQL (postgresql://user:password@host/db)",
        )
    load_app(container, app)
    return container


def stats_json(stats: OutboxStats) -> dict[str, Any]:
    """The machine form of the outbox's backlog (as the HTTP API serves it)."""
    return {
        "rows": stats.rows,
        "retrying": stats.retrying,
        "oldest_age_seconds": None
        if stats.oldest_age is None
        else round(stats.oldest_age.total_seconds(), 3),
        "max_attempts": stats.max_attempts,
        "last_error": stats.last_error,
    }


@outbox.command("stats")
def outbox_stats(json_output: JsonOption = False) -> None:
    """Show the outbox's backlog: rows waiting for a relay, how many failed to publish and wait for a retry, the age of the oldest, the latest error."""
    container = _container(None)
    with operator_errors(container):
        stats = container.outbox_monitor().stats()
    if json_output:
        emit_json(stats_json(stats))
        return
    table = Table("waiting", "retrying", "oldest (s)", "most attempts", "last error",
                  title="hexbus outbox")  # fmt: skip
    oldest = "-" if stats.oldest_age is None else f"{stats.oldest_age.total_seconds():.1f}"
    table.add_row(str(stats.rows), str(stats.retrying), oldest, str(stats.max_attempts),
                  stats.last_error or "-")  # fmt: skip
    console.print(table)


@outbox.command("migrate")
def outbox_migrate() -> None:
    """Create or upgrade the outbox and inbox tables (Alembic, version table hexbus_alembic_version). Safe to run again, and from several processes at once."""
    container = _container(None)
    from ..postgres.schema import upgrade  # noqa: PLC0415 - needs the postgres extra

    console.print("applying hexbus's migrations ...")
    with operator_errors(container):
        upgrade(container.database_engine())
    console.print("the outbox and inbox tables are up to date")


@outbox.command("relay")
def outbox_relay(
    app: AppOption = None,
    until_empty: Annotated[
        bool,
        typer.Option(
            "--until-empty",
            help="Publish what is committed now, then exit (rows that failed wait for the next run).",
        ),
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the final totals as one JSON object.")
    ] = False,
) -> None:
    """Publish the events committed to the outbox to the event bus, and keep doing it.

    Takes committed rows in batches (HEXBUS_OUTBOX_BATCH) with FOR UPDATE SKIP LOCKED, so several relays can run at once; publishes each batch with publish_all (a row published again after a crash is a duplicate the bus ignores) and deletes it in the same transaction. Wakes on LISTEN/NOTIFY when a unit of work commits, and looks anyway every HEXBUS_OUTBOX_POLL_INTERVAL. A row the bus refuses (Redis down) stays and is retried with a backoff up to HEXBUS_OUTBOX_MAX_BACKOFF; an oldest row older than HEXBUS_OUTBOX_ALERT_AGE raises an alert.

    The app (--app or HEXBUS_APP) provides the event classes the rows are decoded with. It publishes to the bus USE_QUEUE_EVENT_BUS selects. Progress goes to stdout as it relays; SIGTERM or Ctrl-C stops it after the batch in flight.
    """
    container = _container(app)
    settings = container.settings()
    configure_logging(
        settings.observability.log_json,
        level=settings.observability.log_level.upper(),
        secrets=settings.secrets(),
    )
    relay = container.outbox_relay()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    last = {"published": -1}

    def progress(totals: Any) -> None:
        if totals.published != last["published"] and not json_output:
            last["published"] = totals.published
            console.print(
                f"relayed {totals.published} (duplicates {totals.duplicates}, "
                f"deferred {totals.deferred})",
                highlight=False,
            )

    with operator_errors(container):
        totals = (
            relay.drain(progress=progress) if until_empty else relay.run(stop, progress=progress)
        )
    if json_output:
        emit_json(totals.as_dict())
    else:
        console.print(
            f"outbox relay stopped: {totals.published} published, {totals.duplicates} "
            f"duplicates, {totals.deferred} deferred"
            + (f" (last error: {totals.last_error})" if totals.last_error else ""),
            highlight=False,
        )


def start_relay_thread(container: Container) -> tuple[threading.Event, threading.Thread]:
    """The relay in a thread of this process (``hexbus worker --outbox-relay``)."""
    relay = container.outbox_relay()
    stop = threading.Event()
    thread = threading.Thread(
        target=relay.run, args=(stop,), name="hexbus-outbox-relay", daemon=True
    )
    thread.start()
    return stop, thread


__all__ = ["outbox", "start_relay_thread", "stats_json"]

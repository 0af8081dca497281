"""The ``hexbus`` command line program.

Each command builds the container from the environment, the same way every process does, so
what ``hexbus handlers`` lists is what a worker will run. Errors that hexbus raises on purpose
are printed as one readable line with exit status 2; anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ... import __version__
from ...container import create_container
from ...domain.errors import HexbusError
from ...ports.handlers import RateLimit
from . import (  # noqa: F401 (they add their commands to events and dead-letters)
    dead_letter_sweep,
    event_actions,
    event_listing,
)
from .apps import AppOption, require_app
from .dead_letters import dead_letters
from .events import events
from .keys import keys
from .live_workers import workers
from .operations import clean, dashboard, queues, scrub, stats
from .outbox import outbox
from .routes import routes
from .scheduling import scheduler, schedules
from .worker import worker, worker_process

app = typer.Typer(
    name="hexbus",
    help=(
        "hexbus: a ports-and-adapters event bus.\n\n"
        "The adapter is chosen by USE_QUEUE_EVENT_BUS (false: in-memory, the default; true: "
        "Dramatiq/Redis, configured by REDIS_URL or REDIS_HOST/REDIS_PORT/REDIS_USERNAME/"
        "REDIS_PASSWORD/REDIS_DB/REDIS_TLS)."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
# Piped output (CI logs, grep) gets wide tables instead of rich's 80-column default.
console = Console(emoji=False) if sys.stdout.isatty() else Console(width=160, emoji=False)
# soft_wrap: an error stays one line however narrow the terminal (or a pipe).
errors = Console(stderr=True, soft_wrap=True, emoji=False)


@app.command()
def version() -> None:
    """Print the hexbus version."""
    console.print(__version__)


@app.command("config")
def show_config(
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the settings in force as one JSON object.")
    ] = False,
) -> None:
    """Check the settings from the environment and list every one: its value in force, its default and what it means (secrets redacted).

    Exits with status 2 and names the variable when a setting is invalid.
    """
    settings = create_container().settings()
    if json_output:
        typer.echo(json.dumps(settings.describe(), indent=2))
        return
    table = Table("setting", "value", "default", "meaning", title="hexbus settings")
    for group in settings.groups:
        table.add_section()
        table.add_row(f"[bold]{group.title}[/]", "", "", "")
        described = group.describe()
        for declared in group.declared():
            value = described.get(declared.name, "(in REDIS_URL)")
            table.add_row(declared.name, value, declared.default_text, declared.description)
    console.print(table)
    if not settings.optional:
        console.print("[dim]HTTP API settings: install hexbus[dashboard] to use and list them[/]")


@app.command()
def handlers(
    event_type: Annotated[
        str | None, typer.Option("--event-type", "-e", help="Only handlers of this event type.")
    ] = None,
    app: AppOption = None,
) -> None:
    """List the handlers your app registers, with their queue, retries, timeout, priority and rate limit.

    The app is --app or HEXBUS_APP ('package.module:function'), e.g. --app hexbus.examples.clinic:register.
    """
    container = create_container()
    require_app(container, app, "hexbus handlers")
    processor = container.processor()
    specs = [spec for spec in processor if not event_type or spec.event_type == event_type]
    table = Table(title="registered handlers")
    # Names are identifiers to copy and grep: as wide as the longest, never cut or wrapped;
    # the rate limit's prose wraps instead.
    for column, width in (
        ("handler", max((len(spec.name) for spec in specs), default=0)),
        ("event type", max((len(spec.event_type) for spec in specs), default=0)),
        ("queue", max((len(spec.queue) for spec in specs), default=0)),
    ):
        table.add_column(column, no_wrap=True, min_width=max(width, len(column)))
    for column in ("retries", "backoff", "timeout", "priority"):
        table.add_column(column, no_wrap=True)
    table.add_column("rate limit", overflow="fold")
    for spec in specs:
        retry = spec.retry
        table.add_row(
            spec.name,
            spec.event_type,
            spec.queue,
            str(retry.max_retries),
            f"{retry.min_backoff.total_seconds():g}s..{retry.max_backoff.total_seconds():g}s",
            f"{spec.timeout.total_seconds():g}s" if spec.timeout else "-",
            spec.priority.name.lower(),
            _describe_limit(spec.rate_limit),
        )
    console.print(table)


@app.command()
def demo(
    store: Annotated[
        str,
        typer.Option(
            "--store",
            help=(
                "memory (default): the in-memory bus on virtual time, no server. postgres: the "
                "clinic on PostgreSQL (DATABASE_URL, else a private cluster started with initdb "
                "and pg_ctl) and the Redis bus (REDIS_URL, else a private redis-server), its "
                "events through the transactional outbox and a relay, the payment confirmation "
                "through the inbox; real time, a few seconds; needs the 'postgres' extra."
            ),
        ),
    ] = "memory",
) -> None:
    """Walk through the clinic example (hexbus.examples.clinic) on the in-memory bus, narrating each step.

    No server is needed and it takes well under a second: time is virtual, so retry backoff passes instantly.

    It books an appointment (patient confirmation by email and WhatsApp, doctor notified, reminders and an auto-cancel scheduled), delivers a payment webhook twice (the second is a duplicate and runs nothing; a receipt is sent, the appointment becomes CONFIRMED and its auto-cancel is cancelled), issues an invoice, cancels another appointment (its timers cancelled, patient and doctor told), makes the email provider time out twice (retries with backoff, then success), takes SMS down and rejects a doctor's address (dead letters: retries exhausted, and non-retryable), lists the dead letters and retries them once fixed.

    Then virtual time runs: the unpaid appointment is auto-cancelled after 30 minutes, the 24 h reminder fires, a freed slot is offered to the waitlist and passes on when the offer expires after 15 minutes, the medicine jobs run at 00:00 and 06:00, and the 1 h reminders fire.

    Each line is a virtual timestamp and what the bus did: events published (accepted or duplicate), handlers run, succeeded or failed (attempt n/N, retry at), dead letters. It ends with a summary table; exit status 1 if any flow misbehaved.
    """
    if store not in ("memory", "postgres"):
        raise typer.BadParameter("expected memory or postgres", param_hint="--store")
    wide = console if console.is_terminal else Console(width=110)
    if store == "postgres":
        postgres_demo = importlib.import_module("hexbus.examples.clinic.postgres_demo")
        raise typer.Exit(postgres_demo.run_postgres_demo(wide))
    # Loaded here, not imported at the top: the library imports no example (an import-linter
    # contract), and no other command pays for loading it.
    clinic_demo = importlib.import_module("hexbus.examples.clinic.demo")
    # Piped (CI, a file), rich would wrap at 80 columns; the trace reads better wider.
    raise typer.Exit(clinic_demo.run_demo(console if console.is_terminal else Console(width=110)))


app.command()(worker)
app.command("worker-process", hidden=True)(worker_process)
app.command()(scheduler)
app.command()(schedules)
app.command()(stats)
app.command()(workers)
app.add_typer(events)
app.add_typer(dead_letters)
app.add_typer(queues)
app.add_typer(routes)
app.add_typer(keys)
app.add_typer(outbox)
app.command()(clean)
app.command()(dashboard)


def run() -> None:
    """Entry point of the ``hexbus`` script: clear one-line errors instead of tracebacks."""
    try:
        app()
    except HexbusError as error:
        errors.print(f"[bold red]error:[/] {escape(scrub(str(error)))}")
        sys.exit(2)


def _describe_limit(limit: RateLimit | None) -> str:
    if limit is None:
        return "-"
    key = limit.key if isinstance(limit.key, str) else getattr(limit.key, "__name__", "key")
    return f"{limit.limit}/{limit.period.total_seconds():g}s per {key} ({limit.name})"

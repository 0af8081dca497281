"""Operators' commands on queues: ``hexbus stats``, ``queues pause|resume``, ``clean``,
``dashboard``; and what every operator command shares (``events``, ``dead-letters`` too).

They read and act only through the ports the container provides (``QueueMonitor``,
``QueueControl``), so they work the same on either adapter. On the in-memory bus they see the
bus of their own short-lived process, which starts empty: a note on stderr says so, because an
empty table is otherwise indistinguishable from an idle deployment.

Errors are one readable line with exit status 2: hexbus's own, and redis-py's translated here
(an unreachable server names its URL, redacted, instead of showing a traceback).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import redis
import typer
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from ...container import Container, create_container
from ...domain.errors import EventBusUnavailable, HexbusError
from ...ports.monitoring import HandlerState, QueueStats, UnroutedStats
from ...settings import Settings
from ..redaction import redact_text
from .apps import AppOption, load_app

# Piped output (CI logs, grep) gets wide tables instead of rich's 80-column default.
console = Console() if sys.stdout.isatty() else Console(width=160)
# Soft wrap: an error or note stays one line however narrow, so it greps and logs whole.
errors = Console(stderr=True, soft_wrap=True)

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON for machines instead of a table.")
]


# --- shared by the operators' commands --------------------------------------------------------


def open_container(app: str | None) -> Container:
    """The container built from the environment, with ``--app``'s handlers registered."""
    container = create_container()
    load_app(container, app)
    if not container.settings().use_queue_event_bus:
        errors.print(
            "[dim]note: USE_QUEUE_EVENT_BUS is false: this is the in-memory bus of this command's "
            "own process, empty at start; set USE_QUEUE_EVENT_BUS=true to operate a Redis "
            "deployment[/]"
        )
    return container


@contextlib.contextmanager
def operator_errors(container: Container) -> Iterator[None]:
    """Report hexbus's errors, and redis-py's translated, as one line with exit status 2.

    ``run()`` does the same for every command; doing it here too keeps the line whole however
    narrow the terminal, and gives the same exit status under Typer's CliRunner.
    """
    try:
        yield
    except redis.RedisError as error:
        raise fail(
            f"Redis could not answer ({type(error).__name__}: {error}){where(container)}", 2
        ) from error
    except EventBusUnavailable as error:
        raise fail(f"{error}{where(container)}", 2) from error
    except HexbusError as error:
        raise fail(str(error), 2) from error


def where(container: Container) -> str:
    """Which Redis (redacted) and what to check: the adapters' errors do not know the URL."""
    url = container.settings().redis.redacted_url()
    return f"; Redis is {url}: check that it runs and that REDIS_URL (or REDIS_HOST/REDIS_PORT/...) points at it"


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address to listen on) is this machine only."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind_warning(host: str, allowed_hosts: tuple[str, ...]) -> str | None:
    """What to say when ``hexbus dashboard`` listens beyond this machine (None: loopback)."""
    if is_loopback(host):
        return None
    return (
        f"listening on {host}, not a loopback address: anyone who can reach this port can "
        "read the queue counts and /health and try tokens, and tokens cross the network in "
        "clear unless TLS is in front. Serve it behind a TLS reverse proxy, and set "
        f"HEXBUS_ALLOWED_HOSTS to the names clients use (now: {','.join(allowed_hosts)})"
    )


def fail(message: str, status: int) -> typer.Exit:
    """Print ``message`` as one error line; return the Exit to raise with ``status``.

    Every URL in it is redacted and every secret in force masked (a driver's error may quote
    the URL it was given, ADR 0016).
    """
    errors.print(f"[bold red]error:[/] {escape(scrub(message))}")
    return typer.Exit(status)


def scrub(text: str) -> str:
    """``text`` with URLs redacted and the secrets of this environment's settings masked."""
    return redact_text(text, environment_secrets())


def environment_secrets() -> tuple[str, ...]:
    """The secrets of the settings in ``os.environ`` (none when they do not even parse: the
    error saying so never echoes a secret)."""
    try:
        return Settings.from_env().secrets()
    except HexbusError:
        return ()


def emit_json(data: Any, *, compact: bool = False) -> None:
    """Plain JSON on stdout (no colour, no wrapping), one document."""
    if compact:
        typer.echo(json.dumps(data, separators=(",", ":")))
    else:
        typer.echo(json.dumps(data, indent=2))


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC, or None."""
    return None if moment is None else moment.astimezone(UTC).isoformat()


def shown(moment: datetime | None) -> str:
    """A time for a table: UTC to the second, '-' when absent."""
    return "-" if moment is None else f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S}"


def milliseconds(duration: timedelta | None) -> float | None:
    """A duration in ms (3 decimals), or None."""
    return None if duration is None else round(duration.total_seconds() * 1000, 3)


# --- hexbus stats -------------------------------------------------------------------------------


def stats_json(
    stats: list[QueueStats], bus: str, unrouted: list[UnroutedStats] | None = None
) -> dict[str, Any]:
    """The machine form of ``hexbus stats`` (field names as in the HTTP API's queue stats)."""
    unrouted = unrouted or []
    return {
        "at": iso(datetime.now(UTC)),
        "bus": bus,
        "unrouted": [
            {"event_type": u.event_type, "count": u.count, "kept": u.kept} for u in unrouted
        ],
        "unrouted_total": sum(u.count for u in unrouted),
        "queues": [
            {
                "queue": s.queue,
                "waiting": s.waiting,
                "scheduled": s.scheduled,
                "running": s.running,
                "succeeded": s.succeeded,
                "failed": s.failed,
                "dead": s.dead,
                "window_seconds": int(s.window.total_seconds()),
                "throughput_per_minute": round(s.throughput_per_minute, 3),
                "mean_duration_ms": milliseconds(s.mean_duration),
                "failure_rate": round(s.failure_rate, 4),
                "paused": s.paused,
                "problem": s.problem,
            }
            for s in stats
        ],
    }


def stats_table(stats: list[QueueStats]) -> Table:
    """One row per queue; the succeeded/failed columns name the window."""
    minutes = int(stats[0].window.total_seconds() // 60) if stats else 0
    table = Table(
        "queue",
        "waiting",
        "scheduled",
        "running",
        f"succeeded ({minutes} min)",
        f"failed ({minutes} min)",
        "dead",
        "throughput/min",
        "mean ms",
        "paused",
        title=f"hexbus queues at {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC",
        caption=_caption(stats),
    )
    for s in stats:
        mean = milliseconds(s.mean_duration)
        table.add_row(
            escape(s.queue),
            f"{s.waiting:,}",
            f"{s.scheduled:,}",
            f"{s.running:,}",
            f"{s.succeeded:,}",
            f"[red]{s.failed:,}[/]" if s.failed else "0",
            f"[bold red]{s.dead:,}[/]" if s.dead else "0",
            f"{s.throughput_per_minute:,.1f}",
            "-" if mean is None else f"{mean:,.1f}",
            "[yellow]paused[/]" if s.paused else "no",
        )
    return table


def _caption(stats: list[QueueStats]) -> str | None:
    """Nothing to show yet, or which queues' counts could not all be read, and why."""
    if not stats:
        return "no queues yet: register handlers (--app) or start a worker"
    broken = [f"{escape(s.queue)}: {escape(s.problem)}" for s in stats if s.problem]
    if broken:
        return "[red]counts not read (shown as 0)[/] " + "; ".join(broken)
    return None


def unrouted_table(unrouted: list[UnroutedStats]) -> Table:
    """Events accepted while no handler subscribed to their type (ADR 0015), per type."""
    width = max((len(u.event_type) for u in unrouted), default=0)
    table = Table(
        title="events no handler subscribes to (unrouted)",
        caption="kept ones go to the first handlers that subscribe to their type "
        "(HEXBUS_UNROUTED, HEXBUS_UNROUTED_RETENTION); see 'hexbus routes'",
    )
    table.add_column("event type", no_wrap=True, min_width=max(width, len("event type")))
    table.add_column("unrouted", justify="right")
    table.add_column("kept", justify="right")
    for u in unrouted:
        table.add_row(escape(u.event_type), f"[yellow]{u.count:,}[/]", f"{u.kept:,}")
    return table


def stats_view(stats: list[QueueStats], unrouted: list[UnroutedStats]) -> RenderableType:
    """The queue table, and the unrouted table when some event was unrouted."""
    if not unrouted:
        return stats_table(stats)
    return Group(stats_table(stats), unrouted_table(unrouted))


def stats(
    json_output: JsonOption = False,
    watch: Annotated[
        float | None,
        typer.Option(
            "--watch",
            min=0.2,
            metavar="SECONDS",
            help=(
                "Refresh every SECONDS until Ctrl-C (with --json: one JSON document per line "
                "each time)."
            ),
        ),
    ] = None,
    app: AppOption = None,
) -> None:
    """Show every queue's counts: waiting, scheduled, running, succeeded and failed in the stats window, dead letters, throughput per minute, mean handler time, and whether it is paused; and the events accepted while no handler subscribed to their type (unrouted), per type.

    Counts come from counters Redis keeps, so this is as quick with a million events queued as with ten. The window is HEXBUS_STATS_WINDOW_MINUTES (default 15).
    """
    container = open_container(app)
    monitor = container.monitor()
    bus = "queue" if container.settings().use_queue_event_bus else "in_memory"

    def read() -> tuple[list[QueueStats], list[UnroutedStats]]:
        return monitor.queue_stats(), monitor.unrouted()

    with operator_errors(container):
        if watch is None:
            current, unrouted = read()
            if json_output:
                emit_json(stats_json(current, bus, unrouted))
            else:
                console.print(stats_view(current, unrouted))
            return
        try:
            if json_output:
                while True:
                    current, unrouted = read()
                    emit_json(stats_json(current, bus, unrouted), compact=True)
                    time.sleep(watch)
            if not console.is_terminal:
                # Live redraws in place, which a pipe or a log cannot show: append instead.
                while True:
                    console.print(stats_view(*read()))
                    time.sleep(watch)
            with Live(stats_view(*read()), console=console, auto_refresh=False) as live:
                while True:
                    time.sleep(watch)
                    live.update(stats_view(*read()), refresh=True)
        except KeyboardInterrupt:
            pass  # Ctrl-C is how --watch ends: not an error


# --- hexbus queues pause|resume -------------------------------------------------------------------

queues = typer.Typer(
    name="queues",
    help="Pause and resume queues.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)

QueueArgument = Annotated[
    str, typer.Argument(help="The queue's name, as 'hexbus stats' shows it.", show_default=False)
]


def warn_if_unknown(container: Container, queue: str) -> None:
    """A typo must not pause nothing in silence: say when no handler or worker uses ``queue``."""
    known = {s.queue for s in container.monitor().queue_stats()}
    if queue not in known:
        errors.print(
            f"[yellow]warning:[/] no registered handler or worker uses queue "
            f"{escape(repr(queue))} (known: {escape(', '.join(sorted(known)) or 'none')}); "
            "pass --app to register your handlers if it is one of theirs"
        )


@queues.command("pause")
def pause_queue(queue: QueueArgument, app: AppOption = None) -> None:
    """Stop workers taking messages from QUEUE. Its messages are kept (and new ones still arrive) until 'hexbus queues resume'; handlers already running finish."""
    container = open_container(app)
    with operator_errors(container):
        warn_if_unknown(container, queue)
        container.queue_control().pause(queue)
    console.print(f"paused queue {escape(queue)}: its messages wait until it is resumed")


@queues.command("resume")
def resume_queue(queue: QueueArgument, app: AppOption = None) -> None:
    """Let workers take QUEUE's messages again, oldest first."""
    container = open_container(app)
    with operator_errors(container):
        control = container.queue_control()
        was_paused = queue in control.paused()
        control.resume(queue)
    if was_paused:
        console.print(f"resumed queue {escape(queue)}")
    else:
        console.print(f"queue {escape(queue)} was not paused; nothing changed")


# --- hexbus clean ---------------------------------------------------------------------------------


class CleanState(StrEnum):
    """What ``hexbus clean`` may remove."""

    SUCCEEDED = "succeeded"
    DEAD = "dead"


def clean(
    state: Annotated[
        CleanState,
        typer.Option(
            "--state",
            case_sensitive=False,
            help="succeeded: status records of fully succeeded events; dead: dead letters.",
            show_default=False,
        ),
    ],
    older_than: Annotated[
        int,
        typer.Option(
            "--older-than",
            min=0,
            max=10 * 365 * 24 * 3600,
            metavar="SECONDS",
            help="Remove only records older than this many seconds (0: all of them).",
            show_default=False,
        ),
    ],
    app: AppOption = None,
) -> None:
    """Remove succeeded status records or dead letters now, rather than waiting for their retention to expire (succeeded 24 h, dead letters HEXBUS_DEAD_LETTER_RETENTION).

    Removed dead letters cannot be retried: look at them first with 'hexbus dead-letters list'.
    """
    container = open_container(app)
    what = "succeeded event statuses" if state is CleanState.SUCCEEDED else "dead letters"
    with operator_errors(container), errors.status(f"removing {what}..."):
        removed = container.monitor().clean(
            state=HandlerState(state.value), older_than=timedelta(seconds=older_than)
        )
    age = f" older than {older_than:,} s" if older_than else ""
    console.print(f"removed {removed:,} {what}{age}")


# --- hexbus dashboard -----------------------------------------------------------------------------


def dashboard(
    host: Annotated[
        str, typer.Option("--host", help="Interface to listen on (0.0.0.0: every one).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    app: AppOption = None,
) -> None:
    """Serve the HTTP API and the dashboard page (uvicorn) until Ctrl-C or SIGTERM.

    The page is at /queues, the API's documentation at /docs, health at /health, /health/live and /health/ready, Prometheus metrics at /metrics. Without a token only counts and health are served; HEXBUS_API_READ_TOKEN reads dead letters, event status and the settings; HEXBUS_API_TOKEN also sees payloads and may retry, remove, clean and pause. Only the host names in HEXBUS_ALLOWED_HOSTS (localhost by default) are answered; a non-loopback --host prints a warning.
    """
    # Imported here: the web stack is only loaded by the command that serves it, and the HTTP
    # adapter first, so a missing 'dashboard' extra is reported with its install hint.
    from ..http.app import create_app  # noqa: PLC0415 - the web stack loads only here
    from ..http.settings import ApiSettings  # noqa: PLC0415 - likewise

    container = open_container(app)
    settings = container.settings()
    api = settings.group(ApiSettings)
    if api.api_token is None:
        errors.print(
            "[dim]note: HEXBUS_API_TOKEN is not set, so the API and dashboard change nothing "
            "and show no payload[/]"
        )
    if api.api_token is None and api.read_token is None:
        errors.print(
            "[dim]note: no token is set, so only counts and /health are served; set "
            "HEXBUS_API_READ_TOKEN to read dead letters and event status[/]"
        )
    warning = bind_warning(host, api.allowed_hosts)
    if warning:
        errors.print(f"[bold yellow]warning:[/] {escape(warning)}")
    shown_host = f"[{host}]" if ":" in host else host
    console.print(
        f"hexbus dashboard on http://{escape(shown_host)}:{port}/queues  "
        f"(API docs: /docs; bus: {settings.describe()['event bus']})"
    )
    import uvicorn  # noqa: PLC0415 - likewise

    uvicorn.run(create_app(container), host=host, port=port, log_level="info")

"""``hexbus worker``: the supervisor, and the hidden ``worker-process`` it starts."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from datetime import timedelta
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ...application.processor import DomainEventsProcessor
from ...container import Container, create_container
from ...ports.alerts import Alerter
from ...settings import Settings
from ..dramatiq.settings import QueueGroup, parse_layout
from ..dramatiq.supervisor import (
    CrashLoop,
    ProcessSpec,
    Supervisor,
    die_with_parent,
    parent_is,
)
from ..dramatiq.worker import handler_queues
from ..observability.logging_config import configure_logging
from ..observability.metrics_server import (
    MetricsEndpoint,
    MultiprocessDirectory,
    mark_this_process_dead,
)
from ..observability.outbox_gauges import OutboxCollector
from ..observability.settings import LOG_FORMAT
from ..redaction import redact_text
from .apps import AppOption, load_app, require_app
from .outbox import start_relay_thread

console = Console(stderr=True, emoji=False)
log = logging.getLogger("hexbus.worker")

QueuesOption = Annotated[
    str | None,
    typer.Option(
        "--queues",
        "-q",
        help=(
            "Worker layout, overriding HEXBUS_WORKER_QUEUES: comma-separated groups of "
            "'queue=threads', 'queue+queue=threads' or 'queue=threadsxprocesses', e.g. "
            "'payment=5,notification=10x2,ai-processing.high=2'. Queues of the app's handlers "
            "that it does not name still get a process."
        ),
    ),
]


def plan(
    settings: Settings, processor: DomainEventsProcessor, layout: str | None
) -> list[QueueGroup]:
    """The groups to run: ``--queues`` (or ``HEXBUS_WORKER_QUEUES``) when given, and one group
    per handler queue it does not name, at the concurrency the app declared for that queue
    (``processor.declare_queue``) or ``HEXBUS_DEFAULT_CONCURRENCY``."""
    configured = parse_layout("--queues", layout) if layout else settings.worker.layout
    groups = list(configured or ())
    covered = {queue for group in groups for queue in group.queues}
    declared = processor.queue_concurrency
    for queue in handler_queues(processor):
        if queue not in covered:
            threads = declared.get(queue, settings.worker.default_concurrency)
            groups.append(QueueGroup((queue,), threads))
    return groups


OutboxRelayOption = Annotated[
    bool,
    typer.Option(
        "--outbox-relay",
        help="Also run the outbox relay (hexbus outbox relay) in this process: needs DATABASE_URL.",
    ),
]


def worker(
    queues: QueuesOption = None, app: AppOption = None, outbox_relay: OutboxRelayOption = False
) -> None:
    """Run the worker processes that handle your app's events from Redis, and keep them running.

    The app (--app or HEXBUS_APP, 'package.module:function') registers the handlers; without one the command stops at once. Every queue its handlers use is served: by the groups of --queues (or HEXBUS_WORKER_QUEUES) that name it, else by a process of its own with the concurrency the app declared for it, or HEXBUS_DEFAULT_CONCURRENCY threads.

    One process per queue group (more with 'xN'), each running as many handlers at once as its group's thread count. A process that dies is restarted; one that keeps dying (HEXBUS_CRASH_LOOP_EXITS within HEXBUS_CRASH_LOOP_WINDOW) is reported with its last error, as a log line and an alert. The processes never outlive this one: if it is killed, they stop as on SIGTERM.

    SIGTERM or Ctrl-C lets handlers in flight finish (HEXBUS_SHUTDOWN_TIMEOUT), then exits.

    With --outbox-relay it also publishes the events units of work committed to the PostgreSQL outbox (DATABASE_URL), as `hexbus outbox relay` does, in a thread of this supervisor.
    """
    container = create_container()
    app = require_app(container, app, "hexbus worker")
    if outbox_relay and not container.settings().postgres.enabled:
        raise typer.BadParameter(
            "needs DATABASE_URL (the outbox is in PostgreSQL)", param_hint="--outbox-relay"
        )
    settings = container.settings()
    observability = settings.observability
    configure_logging(
        observability.log_json,
        level=observability.log_level.upper(),
        secrets=settings.secrets(),
    )
    groups = plan(settings, container.processor(), queues)
    if not groups:
        raise typer.BadParameter(
            f"{app} registered no handler, so there is nothing to serve", param_hint="--app"
        )
    with contextlib.ExitStack() as running:
        child_env = _serve_metrics(container, running, outbox=outbox_relay)
        watcher = container.threshold_watcher()
        watcher.start()
        running.callback(watcher.stop)
        if outbox_relay:
            stop_relay, relay_thread = start_relay_thread(container)
            running.callback(relay_thread.join, 10)
            running.callback(stop_relay.set)
        code = _supervise(settings, groups, app, child_env, container.alerter())
    raise typer.Exit(code)


def _serve_metrics(
    container: Container, running: contextlib.ExitStack, *, outbox: bool = False
) -> dict[str, str] | None:
    """Serve /metrics for all children (HEXBUS_METRICS_PORT), with the outbox's gauges when
    this supervisor relays it; returns the children's env."""
    observability = container.settings().observability
    if not observability.metrics or not observability.metrics_port:
        return None
    directory = MultiprocessDirectory(observability.metrics_dir)
    running.callback(directory.close)
    endpoint = MetricsEndpoint(
        directory,
        container.redis_monitor(),
        host=observability.metrics_host,
        port=observability.metrics_port,
        collectors=[OutboxCollector(container.outbox_monitor())] if outbox else (),
    )
    try:
        running.enter_context(endpoint)
    except OSError as error:
        console.print(
            f"[red]cannot serve metrics on {observability.metrics_host}:{observability.metrics_port}: {error}[/] (another port with HEXBUS_METRICS_PORT, or 0 for none)"
        )
        raise typer.Exit(1) from None
    console.print(f"Metrics: http://{observability.metrics_host}:{endpoint.port}/metrics")
    return {**os.environ, **directory.child_env()}


def _supervise(
    settings: Settings,
    groups: list[QueueGroup],
    app: str | None,
    child_env: dict[str, str] | None,
    alerter: Alerter,
) -> int:
    table = Table("queues", "threads", "processes", title="hexbus workers")
    specs = []
    if settings.observability.log_json is None:
        # The children's stderr is a pipe to this process: let them log as it would, not as
        # "not a terminal" would make them.
        log_format = "console" if sys.stderr.isatty() else "json"
        child_env = {**(child_env or os.environ), LOG_FORMAT.name: log_format}
    for group in groups:
        table.add_row(", ".join(group.queues), str(group.threads), str(group.processes))
        for index in range(group.processes):
            argv = [
                sys.executable,
                "-m",
                "hexbus.adapters.cli",
                "worker-process",
                "--queues",
                ",".join(group.queues),
                "--threads",
                str(group.threads),
                "--supervisor-pid",
                str(os.getpid()),
            ]
            if app:
                argv += ["--app", app]
            specs.append(ProcessSpec(f"{group.name}#{index + 1}", tuple(argv), child_env))
    console.print(table)
    console.print(f"Redis: {settings.redis.redacted_url()}  namespace: {settings.worker.namespace}")
    secrets = settings.secrets()
    supervisor = Supervisor(
        specs,
        shutdown_timeout=settings.worker.shutdown_timeout + timedelta(seconds=5),
        report=lambda line: console.print(
            f"[dim]supervisor:[/] {escape(redact_text(line, secrets))}", soft_wrap=True
        ),
        crash_loop=CrashLoop(
            exits=settings.worker.crash_loop_exits,
            window=settings.worker.crash_loop_window,
            report_every=settings.observability.alert_period,
        ),
        alerter=alerter,
    )
    return supervisor.run()


def worker_process(
    queues: Annotated[str, typer.Option("--queues", help="Comma-separated queues to consume.")],
    threads: Annotated[int, typer.Option("--threads", min=1, max=256, help="Handlers at once.")],
    app: AppOption = None,
    supervisor_pid: Annotated[
        int | None,
        typer.Option(
            "--supervisor-pid",
            hidden=True,
            help="The supervisor's pid: stop as on SIGTERM when it is gone.",
        ),
    ] = None,
) -> None:
    """One worker process (started by 'hexbus worker'; run it directly only to debug)."""
    if supervisor_pid is not None:
        # First thing: an orphan must not start consuming. The kernel sends SIGTERM when the
        # supervisor dies (Linux); the parent check covers one that died before we asked,
        # and systems without the death signal.
        die_with_parent(signal.SIGTERM)
        if not parent_is(supervisor_pid):
            console.print(f"supervisor (pid {supervisor_pid}) is gone: not starting")
            raise typer.Exit(0)
    container = create_container()
    settings = container.settings()
    configure_logging(
        settings.observability.log_json,
        level=settings.observability.log_level.upper(),
        secrets=settings.secrets(),
    )
    load_app(container, app)
    runtime = container.worker_runtime(
        queues=[q.strip() for q in queues.split(",") if q.strip()], threads=threads
    )
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    runtime.start()
    while not stopping.wait(1.0):
        if supervisor_pid is not None and not parent_is(supervisor_pid):
            log.warning("the supervisor (pid %d) is gone: stopping as on SIGTERM", supervisor_pid)
            break
    runtime.stop(settings.worker.shutdown_timeout)
    mark_this_process_dead()

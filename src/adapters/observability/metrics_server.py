"""``/metrics`` for a ``hexbus worker`` supervisor: its children's metrics summed, plus queues.

A worker process cannot serve its own metrics usefully: there are several per machine, they
restart, and Prometheus would need to know each one. Instead the supervisor owns a directory
where every child writes its values (prometheus_client's multiprocess mode, switched on in a
child by ``PROMETHEUS_MULTIPROC_DIR`` in its environment), and serves the sum on one port.
Counters of a child that died stay in the directory and keep counting in the sum, as a
Prometheus counter must; a restarted child writes new files under its new pid.

The directory is emptied at start: files from an earlier run would be added to this run's
counts, and a new child could even reuse a dead one's pid and file.

The endpoint binds ``HEXBUS_METRICS_HOST``, 127.0.0.1 by default (a scraper on another machine
needs it set, and a network that only it reaches), and answers ``/metrics`` only: any other
path is a 404, so a scan of the port learns nothing more (ADR 0016).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any
from wsgiref.simple_server import WSGIServer, make_server

from prometheus_client import make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer, _SilentHandler
from prometheus_client.multiprocess import mark_process_dead
from prometheus_client.registry import Collector

from ...ports.monitoring import QueueMonitor
from .metrics import MULTIPROC_ENV, exposition_registry

log = logging.getLogger("hexbus.metrics")


class MultiprocessDirectory:
    """The directory children write their metrics to: ``configured``, emptied, or a fresh
    temporary one that is removed again by :meth:`close`."""

    def __init__(self, configured: str | None = None) -> None:
        if configured:
            self.path = Path(configured)
            self.path.mkdir(parents=True, exist_ok=True)
            for stale in self.path.glob("*.db"):
                stale.unlink()
            self._owned = False
        else:
            self.path = Path(tempfile.mkdtemp(prefix="hexbus-metrics-"))
            self._owned = True

    def child_env(self) -> dict[str, str]:
        """What to add to a child's environment so it records into this directory."""
        return {MULTIPROC_ENV: str(self.path)}

    def close(self) -> None:
        """Remove the directory if it was made here (a configured one is left for inspection)."""
        if self._owned:
            shutil.rmtree(self.path, ignore_errors=True)


class MetricsEndpoint:
    """Serves the children's summed metrics and the queue gauges over HTTP on a thread.

    Use as a context manager, or :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        directory: MultiprocessDirectory,
        monitor: QueueMonitor,
        *,
        host: str,
        port: int,
        collectors: Iterable[Collector] = (),
    ) -> None:
        self.directory = directory
        self._monitor = monitor
        self._collectors = tuple(collectors)
        self._host = host
        self._port = port
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port served (the one the OS chose, when asked for port 0 explicitly)."""
        return self._server.server_port if self._server is not None else self._port

    def start(self) -> None:
        """Bind and serve; raises OSError when the port is taken (a misconfiguration worth
        failing the start for, rather than running without metrics unnoticed)."""
        registry = exposition_registry(
            self._monitor, multiproc_dir=str(self.directory.path), collectors=self._collectors
        )
        family, address = _family(self._host, self._port)

        class Server(ThreadingWSGIServer):
            address_family = family

        self._server = make_server(
            address,
            self._port,
            metrics_only(make_wsgi_app(registry)),
            Server,
            handler_class=_SilentHandler,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="hexbus-metrics", daemon=True
        )
        self._thread.start()
        log.info("metrics on http://%s:%d/metrics", self._host, self.port)

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> MetricsEndpoint:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def metrics_only(app: WsgiApp) -> WsgiApp:
    """``app`` on ``/metrics`` (prometheus_client's also answers every other path)."""

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") in ("/metrics", "/metrics/"):
            return app(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"not found: metrics are at /metrics\n"]

    return serve


def _family(host: str, port: int) -> tuple[socket.AddressFamily, str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, _, _, _, address = infos[0]
    return family, str(address[0])


def mark_this_process_dead() -> None:
    """Tidy this process's live-gauge files on a clean exit (a worker calls it as it leaves).

    hexbus records no live gauges today, so this is housekeeping for any an application adds;
    counters and histograms are kept on purpose (see the module docstring).
    """
    path = os.environ.get(MULTIPROC_ENV)
    if path:
        with contextlib.suppress(OSError):
            mark_process_dead(os.getpid(), path)  # type: ignore[no-untyped-call]

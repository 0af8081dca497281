"""Prometheus metrics of the bus: what was published, how each handler's runs went, how long.

Counters and the duration histogram are recorded by :class:`MetricsObserver` in whichever
process the step happens (publishers count publishing, workers count runs). With several
worker processes each keeps its own values; prometheus_client's multiprocess mode writes them
to files in ``PROMETHEUS_MULTIPROC_DIR``, and the ``hexbus worker`` supervisor sums the files
of all its children on ``/metrics`` (:mod:`.metrics_server`). That variable must be in the
environment before prometheus_client is first imported, which is why the supervisor sets it for
its children rather than the children setting it themselves.

Queue sizes are not counted here at all: they are read from the :class:`QueueMonitor`
(:mod:`.queue_gauges`), so they are right however many processes there are.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final
from uuid import UUID

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from ...application.observers import NullObserver
from ...domain.events import DomainEvent
from ...ports.dead_letters import DeadLetter
from ...ports.event_bus import PublishResult
from ...ports.handlers import HandlerSpec
from ...ports.monitoring import QueueMonitor
from .queue_gauges import QueueCollector

MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"

DURATION_BUCKETS: Final = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
)  # fmt: skip
"""From a cache hit to a handler that waits minutes on a slow outside service."""


class BusMetrics:
    """The metric families, registered once on ``registry``.

    prometheus_client refuses to register a name twice on one registry, and a process may
    build several containers (tests do): :func:`process_metrics` gives them all one instance.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.published = Counter(
            "hexbus_events_published",
            "Events offered to the bus, by outcome (accepted, scheduled, duplicate).",
            ["event_type", "outcome"],
            registry=self.registry,
        )
        self.handler_runs = Counter(
            "hexbus_handler_runs",
            "Handler attempts by outcome: succeeded, retried (failed, another attempt "
            "scheduled), failed (failed, none left), skipped (already done), dead "
            "(dead letters recorded, including messages that could not be read).",
            ["queue", "handler", "outcome"],
            registry=self.registry,
        )
        self.handler_duration = Histogram(
            "hexbus_handler_duration_seconds",
            "How long successful handler runs took.",
            ["queue", "handler"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )


_process_metrics: BusMetrics | None = None
_process_lock = threading.Lock()


def process_metrics() -> BusMetrics:
    """This process's metrics, made on first use."""
    global _process_metrics  # noqa: PLW0603 - one registry per process is prometheus's model
    with _process_lock:
        if _process_metrics is None:
            _process_metrics = BusMetrics()
        return _process_metrics


class MetricsObserver(NullObserver):
    """Counts publishing and handler runs into :class:`BusMetrics`."""

    def __init__(self, metrics: BusMetrics | None = None) -> None:
        self.metrics = metrics if metrics is not None else process_metrics()

    def published(self, event: DomainEvent, result: PublishResult) -> None:
        """One more event of this type with this outcome."""
        self.metrics.published.labels(event.event_type, result.outcome.value).inc()

    def handler_succeeded(
        self, event: DomainEvent, handler: HandlerSpec, attempt: int, duration: timedelta
    ) -> None:
        """A success, and its duration."""
        self._run(handler.queue, handler.name, "succeeded")
        self.metrics.handler_duration.labels(handler.queue, handler.name).observe(
            max(duration.total_seconds(), 0.0)
        )

    def handler_skipped(self, event: DomainEvent, handler: HandlerSpec) -> None:
        """A redelivery that found the work done."""
        self._run(handler.queue, handler.name, "skipped")

    def handler_failed(
        self,
        event: DomainEvent,
        handler: HandlerSpec,
        attempt: int,
        error: BaseException,
        retry_at: datetime | None,
    ) -> None:
        """A failed attempt: retried when another is scheduled, failed when not."""
        self._run(handler.queue, handler.name, "failed" if retry_at is None else "retried")

    def dead_lettered(self, dead_letter: DeadLetter) -> None:
        """A dead letter; a message no handler could take counts under handler ``""``."""
        self._run(dead_letter.queue, dead_letter.handler or "", "dead")

    def cancelled(self, event_id: UUID) -> None:
        """Not counted: cancelling is an operator's or a use case's choice, not the bus's work."""

    def _run(self, queue: str, handler: str, outcome: str) -> None:
        self.metrics.handler_runs.labels(queue, handler, outcome).inc()


class _Forward(Collector):
    """Offers another registry's metrics, so one exposition can join several sources."""

    def __init__(self, source: CollectorRegistry) -> None:
        self._source = source

    def collect(self) -> Iterable[Metric]:
        return self._source.collect()


def exposition_registry(
    monitor: QueueMonitor | None,
    *,
    metrics: BusMetrics | None = None,
    multiproc_dir: str | None = None,
    collectors: Iterable[Collector] = (),
) -> CollectorRegistry:
    """A registry of this process's (or, with ``multiproc_dir``, every process's) metrics plus
    the queue gauges of ``monitor`` and any other ``collectors`` (the outbox's gauges)."""
    # No auto-describe: the joined collectors have no describe(), and asking them to collect
    # at registration would read Redis for nothing.
    registry = CollectorRegistry(auto_describe=False)
    if multiproc_dir:
        MultiProcessCollector(registry, path=multiproc_dir)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Forward((metrics or process_metrics()).registry))
    if monitor is not None:
        registry.register(QueueCollector(monitor))
    for collector in collectors:
        registry.register(collector)
    return registry


def render_latest(monitor: QueueMonitor, *, metrics: BusMetrics | None = None) -> tuple[bytes, str]:
    """The text exposition for a ``/metrics`` route: (body, content type).

    For the dashboard/API process: its own counters (what it published) and the queue gauges.
    When that process itself runs in multiprocess mode (``PROMETHEUS_MULTIPROC_DIR`` set, as
    under a pre-forking server), the counters of every process sharing the directory.
    """
    registry = exposition_registry(
        monitor, metrics=metrics, multiproc_dir=os.environ.get(MULTIPROC_ENV) or None
    )
    return generate_latest(registry), CONTENT_TYPE_LATEST

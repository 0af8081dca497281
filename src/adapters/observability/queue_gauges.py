"""Queue sizes as Prometheus gauges, read from the :class:`QueueMonitor` at scrape time.

Not counted by any process: the monitor's counts live with the queues (in Redis, for the
production adapter), so the gauges are right with any number of worker processes, across
restarts, and whichever process serves them. A scrape costs one ``queue_stats()`` call, which
the monitor keeps constant-time however long the queues are, and one ``unrouted()`` call.

``hexbus_events_unrouted_total{event_type}`` is a counter mirrored the same way: Redis counts
the events accepted while no handler subscribed to their type (ADR 0015), whichever process
published them, and the collector reports that count as it stands; with it goes the gauge
``hexbus_events_unrouted_kept{event_type}``, those still kept for a later subscriber.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Final

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ...ports.monitoring import QueueMonitor, QueueStats, UnroutedStats

log = logging.getLogger("hexbus.metrics")

GAUGES: Final = (
    ("waiting", "Messages ready to run, not yet taken by a worker."),
    ("scheduled", "Messages held until a due time (delays, retries, rate-limit waits)."),
    ("running", "Messages taken by a worker and not yet settled."),
    ("dead", "Dead letters waiting for an operator."),
)


class QueueCollector(Collector):
    """``hexbus_queue_waiting|scheduled|running|dead{queue}``, ``hexbus_queue_paused{queue}``,
    and ``hexbus_monitor_up`` (0 when the monitor could not be read: then no queue gauges are
    reported, rather than stale or zero ones that would look healthy)."""

    def __init__(self, monitor: QueueMonitor) -> None:
        self._monitor = monitor

    def describe(self) -> Iterable[Metric]:
        """The families without samples, so registering never reads the monitor."""
        return [*self._families(), *self._unrouted_families()]

    def collect(self) -> Iterable[Metric]:
        """Read the monitor once and report every queue, and the unrouted events."""
        stats: list[QueueStats] | None = None
        unrouted: list[UnroutedStats] = []
        try:
            stats = self._monitor.queue_stats()
        except Exception as error:
            log.warning("queue stats unavailable for /metrics: %s", error)
        if stats is not None:
            try:  # a monitor that cannot say this still has its queue gauges reported
                unrouted = self._monitor.unrouted()
            except Exception as error:
                log.warning("unrouted counts unavailable for /metrics: %s", error)
        families = self._families()
        up = families.pop()
        up.add_metric([], 0.0 if stats is None else 1.0)
        if stats is not None:
            for queue in stats:
                for family, value in zip(families, _values(queue), strict=True):
                    family.add_metric([queue.queue], float(value))
        counted, kept = self._unrouted_families()
        for item in unrouted:
            counted.add_metric([item.event_type], float(item.count))
            kept.add_metric([item.event_type], float(item.kept))
        return [*families, up, counted, kept]

    @staticmethod
    def _unrouted_families() -> tuple[CounterMetricFamily, GaugeMetricFamily]:
        return (
            CounterMetricFamily(
                "hexbus_events_unrouted",
                "Events accepted while no handler subscribed to their type (counted by Redis).",
                labels=["event_type"],
            ),
            GaugeMetricFamily(
                "hexbus_events_unrouted_kept",
                "Unrouted events still kept for a handler that subscribes later.",
                labels=["event_type"],
            ),
        )

    @staticmethod
    def _families() -> list[GaugeMetricFamily]:
        families = [
            GaugeMetricFamily(f"hexbus_queue_{name}", help_text, labels=["queue"])
            for name, help_text in GAUGES
        ]
        families.append(
            GaugeMetricFamily(
                "hexbus_queue_paused", "1 while the queue is paused.", labels=["queue"]
            )
        )
        families.append(
            GaugeMetricFamily("hexbus_monitor_up", "1 when the queue monitor could be read.")
        )
        return families


def _values(stats: QueueStats) -> tuple[int, ...]:
    return (stats.waiting, stats.scheduled, stats.running, stats.dead, int(stats.paused))

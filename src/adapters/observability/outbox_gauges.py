"""The transactional outbox's backlog as Prometheus gauges, read when scraped.

Like the queue gauges (:mod:`.queue_gauges`), they are read through a port (the
:class:`~hexbus.ports.unit_of_work.OutboxMonitor`: one aggregate query), so every scrape sees
the same backlog whichever relay or process serves it. ``hexbus_outbox_oldest_age_seconds`` is
what to alert on: it grows while no relay publishes (all stopped, or the bus down).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ...ports.unit_of_work import OutboxMonitor


class OutboxCollector(Collector):
    """``hexbus_outbox_rows``, ``_retrying``, ``_oldest_age_seconds`` and ``_up``."""

    def __init__(self, monitor: OutboxMonitor) -> None:
        self.monitor = monitor

    def collect(self) -> Iterator[Metric]:
        """Read the backlog now; ``hexbus_outbox_up`` is 0 when the database did not answer."""
        up = GaugeMetricFamily("hexbus_outbox_up", "1 when the outbox could be read.")
        try:
            stats = self.monitor.stats()
        except Exception:  # a scrape must answer even with the database down
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily(
            "hexbus_outbox_rows", "Events committed and not yet published by a relay.",
            value=stats.rows,
        )  # fmt: skip
        yield GaugeMetricFamily(
            "hexbus_outbox_retrying", "Outbox rows a relay failed to publish, waiting to retry.",
            value=stats.retrying,
        )  # fmt: skip
        yield GaugeMetricFamily(
            "hexbus_outbox_oldest_age_seconds",
            "How long the oldest outbox row has waited (0 when empty).",
            value=0 if stats.oldest_age is None else stats.oldest_age.total_seconds(),
        )

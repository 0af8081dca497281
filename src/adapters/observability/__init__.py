"""Observability adapters: structured logs, Prometheus metrics and alerts.

Each is a :class:`~hexbus.ports.observer.BusObserver` (or feeds one), wired into every bus and
worker by the container's ``observers`` list: :class:`LoggingObserver` writes a line per step,
:class:`MetricsObserver` counts, :class:`AlertingObserver` tells a person when events go dead,
and :class:`ThresholdWatcher` (run by ``hexbus worker``) when queues fail or back up.
"""

from .alert_gate import AlertGate
from .alerters import BackgroundAlerter, LogAlerter, RecordingAlerter, WebhookAlerter
from .alerting import AlertingObserver
from .event_log import LoggingObserver
from .logging_config import configure_logging
from .metrics import BusMetrics, MetricsObserver, process_metrics, render_latest
from .metrics_server import MetricsEndpoint, MultiprocessDirectory, mark_this_process_dead
from .queue_gauges import QueueCollector
from .thresholds import ThresholdWatcher

__all__ = [
    "AlertGate",
    "AlertingObserver",
    "BackgroundAlerter",
    "BusMetrics",
    "LogAlerter",
    "LoggingObserver",
    "MetricsEndpoint",
    "MetricsObserver",
    "MultiprocessDirectory",
    "QueueCollector",
    "RecordingAlerter",
    "ThresholdWatcher",
    "WebhookAlerter",
    "configure_logging",
    "mark_this_process_dead",
    "process_metrics",
    "render_latest",
]

"""Watching the queues for slow trouble: a rising failure rate, a growing backlog, no broker.

Dead letters are noticed as they happen (:mod:`.alerting`); these conditions are not events
but states, visible only by looking. :class:`ThresholdWatcher` looks every ``interval`` through
the :class:`QueueMonitor` (one constant-time read, whatever the queue lengths) and alerts
at most once per ``period`` for each (kind, queue) while the condition lasts. It runs once per
deployment, beside the workers in the ``hexbus worker`` supervisor, since the monitor already
sees every worker process's work.

The thresholds are the ones the health endpoint uses (``HEXBUS_ALERT_FAILURE_RATE``,
``HEXBUS_ALERT_BACKLOG``; backlog = messages waiting, not those scheduled for later),
so a page and a red dashboard agree.
A failure rate also needs ``min_finished`` runs in the window: one failure out of two runs is
50 %, and not worth waking anyone.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from ...ports.alerts import Alert, Alerter, AlertKind, Severity
from ...ports.clock import Clock
from ...ports.monitoring import QueueMonitor, QueueStats
from ..clocks import SystemClock
from .alert_gate import AlertGate

log = logging.getLogger("hexbus.alerts")


class ThresholdWatcher:
    """Checks queue stats against thresholds; :meth:`check` once, or :meth:`start` a thread."""

    def __init__(
        self,
        monitor: QueueMonitor,
        alerter: Alerter,
        *,
        clock: Clock | None = None,
        failure_rate: float = 0.10,
        min_finished: int = 20,
        backlog: int = 1000,
        period: timedelta = timedelta(minutes=5),
        interval: timedelta = timedelta(seconds=30),
    ) -> None:
        self._monitor = monitor
        self._alerter = alerter
        self._clock = clock or SystemClock()
        self.failure_rate = failure_rate
        self.min_finished = max(min_finished, 1)
        self.backlog = backlog
        self.interval = interval
        self._gate = AlertGate(period)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> list[Alert]:
        """Look once; returns the alerts sent (those held back by the period are not)."""
        try:
            stats = self._monitor.queue_stats()
        except Exception as error:
            return self._send([self._unavailable(error)])
        candidates: list[Alert] = []
        for queue in stats:
            candidates += self._failure_rate(queue) + self._backlog(queue)
        return self._send(candidates)

    def start(self) -> None:
        """Check now and then every ``interval`` on a daemon thread, until :meth:`stop`."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="hexbus-thresholds", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (waits for a check in progress)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while True:
            try:
                self.check()
            except Exception:  # the watcher must outlive a bug in one check
                log.exception("threshold check failed")
            if self._stop.wait(self.interval.total_seconds()):
                return

    # --- the conditions --------------------------------------------------------------------

    def _failure_rate(self, stats: QueueStats) -> list[Alert]:
        finished = stats.succeeded + stats.failed
        if finished < self.min_finished or stats.failure_rate <= self.failure_rate:
            return []
        minutes = int(stats.window.total_seconds() // 60)
        return [
            self._alert(
                AlertKind.FAILURE_RATE,
                Severity.ERROR,
                stats.queue,
                title=f"Queue {stats.queue}: {stats.failure_rate:.0%} of runs failing",
                detail=(
                    f"{stats.failed} of {finished} runs failed in the last {minutes} min "
                    f"(threshold {self.failure_rate:.0%})."
                ),
                failed=stats.failed,
                finished=finished,
            )
        ]

    def _backlog(self, stats: QueueStats) -> list[Alert]:
        backlog = stats.waiting  # scheduled-for-later work is not late work
        if backlog <= self.backlog:
            return []
        return [
            self._alert(
                AlertKind.BACKLOG,
                Severity.WARNING,
                stats.queue,
                title=f"Queue {stats.queue}: backlog of {backlog}",
                detail=(
                    f"{stats.waiting} waiting (threshold {self.backlog}); "
                    f"{stats.running} running, {stats.scheduled} scheduled for later"
                    + ("; the queue is paused." if stats.paused else ".")
                ),
                waiting=stats.waiting,
                scheduled=stats.scheduled,
            )
        ]

    def _unavailable(self, error: Exception) -> Alert:
        log.warning("queue stats unavailable: %s", error)
        return self._alert(
            AlertKind.MONITOR_UNAVAILABLE,
            Severity.CRITICAL,
            "*",
            title="Queue monitor unavailable",
            detail=f"Reading the queue stats failed with {type(error).__name__}: {error}",
        )

    def _alert(
        self,
        kind: AlertKind,
        severity: Severity,
        queue: str,
        *,
        title: str,
        detail: str,
        **labels: object,
    ) -> Alert:
        return Alert(
            kind=kind,
            severity=severity,
            title=title,
            detail=detail,
            at=self._clock.now(),
            labels={"queue": queue, **labels},
        )

    def _send(self, candidates: list[Alert]) -> list[Alert]:
        sent = []
        for alert in candidates:
            if self._gate.admit((alert.kind, alert.labels["queue"]), alert.at) is not None:
                self._alerter.send(alert)
                sent.append(alert)
        return sent

"""Alerts: dead letters at once then rate-limited with a count, thresholds watched, webhook
delivery retried and never raised into the bus. Virtual time throughout; nothing sleeps."""

from __future__ import annotations

import json
import logging
import threading
from datetime import timedelta

import httpx
import pytest

from hexbus.adapters.clocks import VirtualClock
from hexbus.adapters.observability import (
    AlertGate,
    AlertingObserver,
    BackgroundAlerter,
    LogAlerter,
    RecordingAlerter,
    ThresholdWatcher,
    WebhookAlerter,
)
from hexbus.ports.alerts import Alert, AlertKind, Severity

from .conftest import (
    NOW,
    SECRET_DIAGNOSIS,
    SECRET_ERROR,
    SECRET_NAME,
    FakeMonitor,
    lab_bus,
    lab_result,
    queue_stats,
)

PERIOD = timedelta(minutes=5)


def an_alert(title: str = "Queue lab: backlog of 2000") -> Alert:
    return Alert(
        kind=AlertKind.BACKLOG,
        severity=Severity.WARNING,
        title=title,
        detail="2000 waiting",
        at=NOW,
        labels={"queue": "lab"},
    )


# --- the gate -------------------------------------------------------------------------------


def test_the_gate_admits_once_per_period_and_counts_what_it_held_back() -> None:
    gate = AlertGate(PERIOD)
    assert gate.admit("h", NOW) == 1
    assert gate.admit("h", NOW + timedelta(minutes=1)) is None
    assert gate.admit("h", NOW + timedelta(minutes=2)) is None
    assert gate.admit("other", NOW + timedelta(minutes=2)) == 1, "keys are independent"
    assert gate.admit("h", NOW + PERIOD) == 3, "this one and the two held back"
    assert gate.admit("h", NOW + PERIOD + timedelta(seconds=1)) is None


def test_the_gate_hands_over_held_counts_once_their_period_is_over() -> None:
    gate = AlertGate(PERIOD)
    gate.admit("h", NOW)
    gate.admit("h", NOW + timedelta(minutes=1))
    assert gate.holding
    assert gate.due(NOW + timedelta(minutes=4)) == []
    assert gate.due(NOW + PERIOD) == [("h", 1, NOW)]
    assert not gate.holding
    assert gate.admit("h", NOW + PERIOD + timedelta(minutes=1)) is None, "the period restarted"


# --- dead letters ---------------------------------------------------------------------------


def test_the_first_dead_letter_of_a_handler_is_alerted_at_once(clock: VirtualClock) -> None:
    alerter = RecordingAlerter()
    bus = lab_bus(AlertingObserver(alerter, clock=clock, period=PERIOD), clock=clock)
    event = lab_result(permanent=True)
    bus.publish(event)
    (alert,) = alerter.alerts
    (letter,) = bus.dead_letters.list().items
    assert alert.kind is AlertKind.DEAD_LETTER
    assert alert.severity is Severity.ERROR
    assert alert.title == "Event dead-lettered by lab.notify_doctor"
    assert str(event.event_id) in alert.detail
    assert letter.id in alert.detail
    assert alert.labels["handler"] == "lab.notify_doctor"
    assert alert.labels["queue"] == "lab"
    assert alert.labels["reason"] == "non_retryable"
    assert alert.at == clock.now()


def test_a_dead_letter_alert_carries_no_event_contents(clock: VirtualClock) -> None:
    alerter = RecordingAlerter()
    lab_bus(AlertingObserver(alerter, clock=clock), clock=clock).publish(lab_result(permanent=True))
    text = repr(alerter.alerts)
    for secret in (SECRET_NAME, SECRET_DIAGNOSIS, SECRET_ERROR):
        assert secret not in text


def test_more_dead_letters_within_the_period_make_one_later_alert_with_their_count(
    clock: VirtualClock,
) -> None:
    alerter = RecordingAlerter()
    bus = lab_bus(AlertingObserver(alerter, clock=clock, period=PERIOD), clock=clock)
    for _ in range(4):
        bus.publish(lab_result(permanent=True))
        clock.advance(timedelta(seconds=30))
    assert len(alerter.alerts) == 1
    clock.advance(PERIOD)
    bus.publish(lab_result(permanent=True))
    assert len(alerter.alerts) == 2, "one per period, however many went dead"
    assert alerter.alerts[1].title == "3 more event(s) dead-lettered by lab.notify_doctor"
    assert alerter.alerts[1].labels["count"] == "3"


def test_a_dead_letter_after_a_quiet_period_says_how_many_came_since_the_last_alert(
    clock: VirtualClock,
) -> None:
    alerter = RecordingAlerter()
    observer = AlertingObserver(alerter, clock=clock, period=PERIOD)
    bus = lab_bus(observer, clock=clock)
    bus.publish(lab_result(permanent=True))
    bus.publish(lab_result(permanent=True))
    clock.advance(PERIOD)
    # A message no handler could take: dead-lettered without a handler run before it.
    (letter,) = bus.dead_letters.list(limit=1).items
    observer.dead_lettered(letter)
    assert alerter.alerts[1].title == (
        "Event dead-lettered by lab.notify_doctor (1 more since the last alert)"
    )
    assert alerter.alerts[1].labels["count"] == "2"


def test_dead_letters_held_back_are_reported_when_their_period_ends_without_a_new_one(
    clock: VirtualClock,
) -> None:
    alerter = RecordingAlerter()
    observer = AlertingObserver(alerter, clock=clock, period=PERIOD)
    bus = lab_bus(observer, clock=clock)
    bus.publish(lab_result(permanent=True))
    bus.publish(lab_result(permanent=True))
    bus.publish(lab_result(permanent=True))
    clock.advance(PERIOD)
    bus.publish(lab_result())  # any later run gives the observer a chance to report
    assert [a.title for a in alerter.alerts] == [
        "Event dead-lettered by lab.notify_doctor",
        "2 more event(s) dead-lettered by lab.notify_doctor",
    ]
    observer.flush()
    assert len(alerter.alerts) == 2, "nothing is reported twice"


# --- thresholds -----------------------------------------------------------------------------


def watcher(
    monitor: FakeMonitor, alerter: RecordingAlerter, clock: VirtualClock
) -> ThresholdWatcher:
    return ThresholdWatcher(
        monitor,
        alerter,
        clock=clock,
        failure_rate=0.10,
        min_finished=20,
        backlog=1000,
        period=PERIOD,
    )


def test_a_failure_rate_above_the_threshold_is_alerted(clock: VirtualClock) -> None:
    alerter = RecordingAlerter()
    monitor = FakeMonitor(
        [queue_stats("lab", succeeded=80, failed=20), queue_stats("ok", succeeded=100)]
    )
    (alert,) = watcher(monitor, alerter, clock).check()
    assert alerter.alerts == [alert]
    assert alert.kind is AlertKind.FAILURE_RATE
    assert alert.labels["queue"] == "lab"
    assert alert.title == "Queue lab: 20% of runs failing"
    assert "20 of 100 runs failed in the last 15 min" in alert.detail


def test_a_failure_rate_over_too_few_runs_is_not_alerted(clock: VirtualClock) -> None:
    alerter = RecordingAlerter()
    monitor = FakeMonitor([queue_stats("lab", succeeded=10, failed=9)])
    assert watcher(monitor, alerter, clock).check() == []


def test_a_failure_rate_at_the_threshold_is_not_alerted(clock: VirtualClock) -> None:
    monitor = FakeMonitor([queue_stats("lab", succeeded=90, failed=10)])
    assert watcher(monitor, RecordingAlerter(), clock).check() == []


def test_a_backlog_above_the_threshold_is_alerted(clock: VirtualClock) -> None:
    alerter = RecordingAlerter()
    monitor = FakeMonitor([queue_stats("lab", waiting=1001, scheduled=500, running=5)])
    (alert,) = watcher(monitor, alerter, clock).check()
    assert alert.kind is AlertKind.BACKLOG
    assert alert.severity is Severity.WARNING
    assert alert.title == "Queue lab: backlog of 1001"


def test_work_scheduled_for_later_is_not_backlog(clock: VirtualClock) -> None:
    alerter = RecordingAlerter()
    monitor = FakeMonitor([queue_stats("reminders", waiting=10, scheduled=50_000)])
    assert watcher(monitor, alerter, clock).check() == []


def test_a_lasting_condition_is_alerted_once_per_period_per_kind_and_queue(
    clock: VirtualClock,
) -> None:
    alerter = RecordingAlerter()
    monitor = FakeMonitor([queue_stats("lab", waiting=5000), queue_stats("billing", waiting=5000)])
    watch = watcher(monitor, alerter, clock)
    assert len(watch.check()) == 2
    clock.advance(timedelta(seconds=30))
    assert watch.check() == []
    monitor.stats.append(queue_stats("lab", succeeded=50, failed=50))  # a new kind for lab
    assert [a.kind for a in watch.check()] == [AlertKind.FAILURE_RATE]
    clock.advance(PERIOD)
    assert len(watch.check()) == 3
    assert len(alerter.alerts) == 6


def test_an_unreadable_monitor_is_a_critical_alert_rate_limited_too(clock: VirtualClock) -> None:
    alerter = RecordingAlerter()
    monitor = FakeMonitor(error=ConnectionError("Connection refused"))
    watch = watcher(monitor, alerter, clock)
    (alert,) = watch.check()
    assert alert.kind is AlertKind.MONITOR_UNAVAILABLE
    assert alert.severity is Severity.CRITICAL
    assert "ConnectionError" in alert.detail
    assert watch.check() == []


def test_the_watcher_thread_checks_at_once_and_stops_when_asked(clock: VirtualClock) -> None:
    alerter = RecordingAlerter()
    watch = ThresholdWatcher(
        FakeMonitor([queue_stats("lab", waiting=5000)]),
        alerter,
        clock=clock,
        interval=timedelta(hours=1),
    )
    watch.start()
    watch.stop()  # the first check runs before the thread waits out the interval
    assert [a.kind for a in alerter.alerts] == [AlertKind.BACKLOG]


# --- alerters -------------------------------------------------------------------------------


class Webhook:
    """A fake receiver behind httpx's MockTransport: answers with the statuses given."""

    def __init__(self, *statuses: int | Exception) -> None:
        self.statuses = list(statuses)
        self.bodies: list[dict[str, object]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        status = self.statuses.pop(0) if self.statuses else 200
        if isinstance(status, Exception):
            raise status
        return httpx.Response(status)


def webhook_alerter(receiver: Webhook, waits: list[float]) -> WebhookAlerter:
    return WebhookAlerter(
        "https://hooks.example/services/T0/SECRET-TOKEN",
        attempts=3,
        client=httpx.Client(transport=httpx.MockTransport(receiver)),
        sleep=waits.append,
    )


def test_the_webhook_gets_the_alert_as_json() -> None:
    receiver = Webhook()
    waits: list[float] = []
    webhook_alerter(receiver, waits).send(an_alert())
    (body,) = receiver.bodies
    assert body["kind"] == "backlog"
    assert body["severity"] == "warning"
    assert body["title"] == "Queue lab: backlog of 2000"
    assert body["labels"] == {"queue": "lab"}
    assert body["at"] == NOW.isoformat()
    assert body["text"] == "[WARNING] Queue lab: backlog of 2000: 2000 waiting"
    assert waits == []


def test_the_webhook_is_retried_on_server_errors_and_network_errors() -> None:
    receiver = Webhook(503, httpx.ConnectError("refused"))
    waits: list[float] = []
    webhook_alerter(receiver, waits).send(an_alert())
    assert len(receiver.bodies) == 3
    assert len(waits) == 2, "waited between attempts, through the injected sleep"


def test_a_webhook_that_keeps_failing_is_logged_never_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver = Webhook(500, 500, 500, 500)
    waits: list[float] = []
    webhook_alerter(receiver, waits).send(an_alert())  # no exception
    assert len(receiver.bodies) == 3
    (record,) = [r for r in caplog.records if r.name == "hexbus.alerts"]
    assert record.levelno == logging.ERROR
    assert "hooks.example" in record.getMessage()
    assert "SECRET-TOKEN" not in caplog.text, "the webhook URL is a credential"


def test_a_rejected_webhook_is_not_retried(caplog: pytest.LogCaptureFixture) -> None:
    receiver = Webhook(404)
    waits: list[float] = []
    webhook_alerter(receiver, waits).send(an_alert())
    assert len(receiver.bodies) == 1
    assert "HTTP 404" in caplog.text


def test_the_log_alerter_logs_at_the_alert_severity(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="hexbus.alerts")
    LogAlerter().send(an_alert())
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert "Queue lab: backlog of 2000" in record.getMessage()


class Blocking:
    """An alerter whose deliveries wait until released, like a slow webhook."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.sent: list[Alert] = []

    def send(self, alert: Alert) -> None:
        self.release.wait(5)
        self.sent.append(alert)


def test_background_delivery_returns_at_once_and_delivers_later() -> None:
    inner = Blocking()
    alerter = BackgroundAlerter(inner)
    alerter.send(an_alert())  # would block for 5 s if it were delivered in this thread
    assert inner.sent == []
    inner.release.set()
    assert alerter.flush(timeout=5)
    assert len(inner.sent) == 1
    alerter.close()


def test_background_delivery_drops_beyond_its_capacity(caplog: pytest.LogCaptureFixture) -> None:
    inner = Blocking()
    alerter = BackgroundAlerter(inner, capacity=1)
    for index in range(4):
        alerter.send(an_alert(f"alert {index}"))
    inner.release.set()
    assert alerter.flush(timeout=5)
    assert 1 <= len(inner.sent) <= 2  # one may have been taken off the queue before it filled
    assert "alert queue full" in caplog.text
    alerter.close()

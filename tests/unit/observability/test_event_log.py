"""The event log: one line per step with searchable fields, and never the event's contents
unless HEXBUS_LOG_PAYLOADS says so (they may be patients' health data)."""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta
from typing import Any

from hexbus import DomainEventsProcessor
from hexbus.adapters.clocks import VirtualClock
from hexbus.adapters.in_memory import InMemoryEventBus
from hexbus.adapters.observability import LoggingObserver, configure_logging

from .conftest import (
    NOW,
    SECRET_DIAGNOSIS,
    SECRET_ERROR,
    SECRET_NAME,
    LabResultReady,
    lab_bus,
    lab_result,
)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def hexbus_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [line for line in lines(stream) if line.get("logger") == "hexbus.events"]


def run_every_step(observer: LoggingObserver, clock: VirtualClock) -> None:
    """Success, a retry then success, a dead letter, a duplicate, a schedule and a cancel."""
    bus = lab_bus(observer, clock=clock)
    ok = lab_result()
    bus.publish(ok)
    bus.publish(ok)  # duplicate
    bus.publish(lab_result(fail_times=1))
    bus.publish(lab_result(permanent=True))
    later = lab_result()
    bus.publish(later, delay=timedelta(hours=1))
    bus.cancel(later.event_id)


def test_no_event_contents_are_logged_by_default(
    json_log: io.StringIO, clock: VirtualClock
) -> None:
    run_every_step(LoggingObserver(), clock)
    output = json_log.getvalue()
    assert hexbus_lines(json_log), "the steps were logged"
    for secret in (SECRET_NAME, SECRET_DIAGNOSIS, SECRET_ERROR, "patient_name", "diagnosis"):
        assert secret not in output
    assert all("payload" not in line for line in lines(json_log))


def test_each_step_is_one_line_with_the_searchable_fields(
    json_log: io.StringIO, clock: VirtualClock
) -> None:
    run_every_step(LoggingObserver(), clock)
    messages = [line["event"] for line in hexbus_lines(json_log)]
    assert messages == [
        "event accepted",
        "handler started",
        "handler succeeded",
        "duplicate event ignored",
        "event accepted",
        "handler started",
        "handler failed, retry scheduled: attempt 2/3",
        "handler started",
        "handler succeeded",
        "event accepted",
        "handler started",
        "handler failed, no retry left",
        "event dead-lettered",
        "event scheduled",
        "scheduled event cancelled",
    ]
    started, succeeded = hexbus_lines(json_log)[1:3]
    assert started["queue"] == "lab"
    assert started["handler"] == "lab.notify_doctor"
    assert started["event_type"] == "test.observability.lab_result_ready"
    assert (started["attempt"], started["max_attempts"]) == (1, 3)
    assert started["level"] == "info"
    assert succeeded["duration_ms"] == 0.0  # virtual time stood still
    assert succeeded["event_id"] == started["event_id"]


def test_a_retry_line_says_which_attempt_comes_next_and_when(
    json_log: io.StringIO, clock: VirtualClock
) -> None:
    bus = lab_bus(LoggingObserver(), clock=clock)
    bus.publish(lab_result(fail_times=1))
    (retry,) = [line for line in hexbus_lines(json_log) if "retry" in line["event"]]
    assert retry["level"] == "warning"
    assert (retry["attempt"], retry["next_attempt"], retry["max_attempts"]) == (1, 2, 3)
    assert retry["retry_at"] == (NOW + timedelta(seconds=10)).isoformat()
    assert retry["error_type"] == "builtins.ValueError"


def test_a_dead_letter_line_points_at_the_record_not_its_contents(
    json_log: io.StringIO, clock: VirtualClock
) -> None:
    bus = lab_bus(LoggingObserver(), clock=clock)
    event = lab_result(permanent=True)
    bus.publish(event)
    (dead,) = [line for line in hexbus_lines(json_log) if line["event"] == "event dead-lettered"]
    (letter,) = bus.dead_letters.list().items
    assert dead["level"] == "error"
    assert dead["dead_letter_id"] == letter.id
    assert dead["event_id"] == str(event.event_id)
    assert dead["reason"] == "non_retryable"
    assert dead["error_type"] == "hexbus.domain.errors.NonRetryableError"
    assert dead["attempts"] == 1


def test_event_contents_are_logged_when_payload_logging_is_on(
    json_log: io.StringIO, clock: VirtualClock
) -> None:
    run_every_step(LoggingObserver(log_payloads=True), clock)
    output = json_log.getvalue()
    assert SECRET_NAME in output
    assert SECRET_ERROR in output
    accepted = next(line for line in hexbus_lines(json_log) if line["event"] == "event accepted")
    assert accepted["payload"]["payload"]["diagnosis"] == SECRET_DIAGNOSIS


def test_a_disabled_level_is_not_logged(json_log: io.StringIO, clock: VirtualClock) -> None:
    logging.getLogger("hexbus.events").setLevel(logging.WARNING)
    try:
        lab_bus(LoggingObserver(), clock=clock).publish(lab_result(fail_times=1))
    finally:
        logging.getLogger("hexbus.events").setLevel(logging.NOTSET)
    assert [line["event"] for line in hexbus_lines(json_log)] == [
        "handler failed, retry scheduled: attempt 2/3"
    ]


def test_standard_library_logging_comes_out_through_the_same_renderer(
    json_log: io.StringIO,
) -> None:
    logging.getLogger("some.library").warning("disk %s full", "/var", extra={"device": "sda"})
    (line,) = [line for line in lines(json_log) if line.get("logger") == "some.library"]
    assert line["event"] == "disk /var full"
    assert line["level"] == "warning"
    assert line["device"] == "sda"
    assert "timestamp" in line
    assert "pid" in line


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_format_is_console_text_on_a_terminal_and_json_elsewhere(
    restore_logging: None,
) -> None:
    terminal, pipe = Terminal(), io.StringIO()
    configure_logging(None, stream=terminal)
    logging.getLogger("hexbus.test").info("to a person")
    configure_logging(None, stream=pipe)
    logging.getLogger("hexbus.test").info("to a collector")
    assert "to a person" in terminal.getvalue()
    assert not terminal.getvalue().lstrip().startswith("{")
    assert json.loads(pipe.getvalue())["event"] == "to a collector"
    assert "to a collector" not in terminal.getvalue(), "the old handler was replaced"


def test_configuring_twice_does_not_duplicate_lines(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging(True, stream=stream)
    configure_logging(True, stream=stream)
    logging.getLogger("hexbus.test").info("once")
    assert stream.getvalue().count('"once"') == 1


def test_unrouted_events_are_logged_once_per_type_per_period_with_a_count(
    json_log: io.StringIO, clock: VirtualClock
) -> None:
    observer = LoggingObserver(clock=clock, unrouted_period=timedelta(minutes=5))
    bus = InMemoryEventBus(DomainEventsProcessor(), clock=clock, observers=[observer])

    for _ in range(3):
        bus.publish(lab_result())
    bus.advance(timedelta(minutes=5))
    bus.publish(lab_result())

    warnings = [line for line in hexbus_lines(json_log) if "no handler subscribed" in line["event"]]
    assert [line["level"] for line in warnings] == ["warning", "warning"]
    assert [line["unrouted_since_last_line"] for line in warnings] == [1, 3]
    assert {line["event_type"] for line in warnings} == {LabResultReady.event_type}
    assert all(SECRET_NAME not in json.dumps(line) for line in warnings)

"""hexbus.handler_context(): what a handler may report, checked before anything is kept."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hexbus import DomainEventsProcessor, handler_context
from hexbus.adapters.clocks import VirtualClock
from hexbus.adapters.in_memory import InMemoryEventBus
from hexbus.adapters.in_memory.monitor import InMemoryMonitor
from hexbus.application.handler_context import MAX_LINE_CHARS
from hexbus.application.observers import NullObserver
from hexbus.ports.handlers import HandlerSpec
from hexbus.testing.events import ContractEvent

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Reports(NullObserver):
    """Every report the bus passed on, in order."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, int, object]] = []

    def handler_progress(self, event: Any, handler: HandlerSpec, attempt: int, p: float) -> None:
        self.seen.append(("progress", handler.name, attempt, p))

    def handler_logged(self, event: Any, handler: HandlerSpec, attempt: int, line: str) -> None:
        self.seen.append(("log", handler.name, attempt, line))


def _bus(handler: Any) -> tuple[InMemoryEventBus, Reports, InMemoryMonitor]:
    clock = VirtualClock(NOW)
    processor = DomainEventsProcessor()
    processor.register_handler(ContractEvent, handler, name="reporting")
    reports = Reports()
    bus = InMemoryEventBus(processor, clock=clock, observers=[reports])
    monitor = InMemoryMonitor(processor, clock, bus.dead_letters)
    bus.observer.add(monitor)
    return bus, reports, monitor


def test_outside_a_handler_run_the_context_is_detached_and_keeps_nothing() -> None:
    context = handler_context()
    assert not context.attached
    assert (context.event_id, context.handler, context.attempt) == (None, None, 0)
    context.progress(40)
    context.log("called directly, as in a unit test of the handler")


@pytest.mark.parametrize(
    ("done", "of"), [(101, 100), (-1, 100), (2, 1), (1, 0), (float("nan"), 100), (True, 100)]
)
def test_a_progress_outside_its_range_is_refused_even_when_detached(done: float, of: float) -> None:
    with pytest.raises(ValueError, match="progress"):
        handler_context().progress(done, of)


def test_a_log_line_must_be_text() -> None:
    with pytest.raises(TypeError, match="str"):
        handler_context().log(42)  # type: ignore[arg-type]


def test_a_repeated_progress_is_passed_on_once_and_lines_are_one_line_and_bounded() -> None:
    def handler(event: Any) -> None:
        context = handler_context()
        assert context.attached
        assert context.handler == "reporting"
        for _ in range(3):
            context.progress(1, of=3)
        context.log("two\nlines")
        context.log("x" * (MAX_LINE_CHARS + 10))

    bus, reports, _ = _bus(handler)
    bus.publish(ContractEvent(value=1))

    assert reports.seen[0] == ("progress", "reporting", 1, 33.3)
    assert [kind for kind, *_ in reports.seen] == ["progress", "log", "log"]
    assert reports.seen[1][3] == "two lines"
    long_line = reports.seen[2][3]
    assert isinstance(long_line, str)
    assert len(long_line) == MAX_LINE_CHARS
    assert long_line.endswith("…")


def test_a_wrong_progress_fails_the_attempt_like_any_handler_error() -> None:
    def handler(event: Any) -> None:
        handler_context().progress(140)

    bus, _, _monitor = _bus(handler)
    event = ContractEvent(value=1)
    bus.publish(event)

    (letter,) = bus.dead_letters.list().items
    assert letter.error_type == "builtins.ValueError"


def test_a_task_started_by_the_handler_reports_through_the_same_context() -> None:
    def handler(event: Any) -> None:
        async def step() -> None:
            handler_context().log("from a task")

        asyncio.run(step())

    bus, reports, _ = _bus(handler)
    bus.publish(ContractEvent(value=1))

    assert reports.seen == [("log", "reporting", 1, "from a task")]


def test_reports_expire_with_the_events_status() -> None:
    def handler(event: Any) -> None:
        handler_context().log("kept for the status retention")

    bus, _, monitor = _bus(handler)
    event = ContractEvent(value=1)
    bus.publish(event)
    assert monitor.event_status(event.event_id) is not None

    assert isinstance(bus.clock, VirtualClock)
    bus.clock.advance(timedelta(days=8))

    assert monitor.event_status(event.event_id) is None


def test_the_context_is_gone_once_the_handler_returns() -> None:
    bus, _, _ = _bus(lambda event: handler_context().log("inside"))
    bus.publish(ContractEvent(value=1))
    assert not handler_context().attached

"""On the system clock, the in-memory bus's publish never sleeps through a backoff.

The first attempt runs in the publisher's thread, as always; retries wait on the bus's timer
thread and run there, so the publisher and the handlers after a flaky one are not held up.
(On a VirtualClock retries stay inline: tests/unit/test_in_memory_bus.py and the contract.)
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import attrs
import pytest

from hexbus import DomainEvent, DomainEventsProcessor, NonRetryableError, RetryPolicy
from hexbus.adapters.clocks import SystemClock
from hexbus.adapters.in_memory import InMemoryEventBus

QUICK = RetryPolicy(
    max_retries=3,
    min_backoff=timedelta(milliseconds=200),
    max_backoff=timedelta(milliseconds=200),
    jitter=0.0,
)


@attrs.frozen(kw_only=True)
class Job(DomainEvent):
    event_type = "unit.system_clock.job"


class Flaky:
    """Fails ``times`` times, then succeeds; notes when and on which thread it ran."""

    def __init__(self, times: int, error: Callable[[], Exception] = lambda: RuntimeError("flaky")):
        self.times = times
        self.error = error
        self.runs: list[tuple[float, str]] = []

    def __call__(self, event: Job) -> None:
        self.runs.append((time.monotonic(), threading.current_thread().name))
        if len(self.runs) <= self.times:
            raise self.error()


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_publish_returns_at_once_and_the_retries_run_on_the_timer() -> None:
    processor = DomainEventsProcessor()
    flaky, healthy = Flaky(times=3), Flaky(times=0)
    processor.register_handler(Job, flaky, name="flaky", retry=QUICK)
    processor.register_handler(Job, healthy, name="healthy")
    bus = InMemoryEventBus(processor, clock=SystemClock())

    started = time.monotonic()
    bus.publish(Job())
    took = time.monotonic() - started

    print(f"publish returned after {took * 1000:.1f} ms with three 0.2 s retries pending")
    assert took < 0.15, "publish does not sleep through the backoff (it used to take 0.6 s)"
    assert len(flaky.runs) == 1, "the first attempt ran in publish"
    assert flaky.runs[0][1] == threading.current_thread().name
    assert len(healthy.runs) == 1, "the healthy handler after the flaky one was not delayed"
    assert healthy.runs[0][0] - started < 0.15

    wait_until(lambda: len(flaky.runs) == 4)
    assert {name for _, name in flaky.runs[1:]} == {"hexbus-timeline"}
    times = [at for at, _ in flaky.runs]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert all(gap >= 0.19 for gap in gaps), gaps
    assert [run.attempt for run in bus.runs if run.handler == "flaky"] == [1, 2, 3, 4]
    assert bus.dead_letters.count() == 0
    assert len(healthy.runs) == 1


def test_one_flaky_handler_does_not_delay_the_next_publish() -> None:
    processor = DomainEventsProcessor()
    flaky = Flaky(times=100)
    processor.register_handler(Job, flaky, name="flaky", retry=QUICK)
    bus = InMemoryEventBus(processor, clock=SystemClock())

    started = time.monotonic()
    for _ in range(5):
        bus.publish(Job())

    assert time.monotonic() - started < 0.3
    wait_until(lambda: bus.dead_letters.count() == 5)
    assert len(flaky.runs) == 5 * QUICK.max_attempts


def test_raise_errors_raises_what_gives_up_during_publish() -> None:
    processor = DomainEventsProcessor()
    processor.register_handler(
        Job, Flaky(times=1, error=lambda: NonRetryableError("never")), name="doomed", retry=QUICK
    )
    bus = InMemoryEventBus(processor, clock=SystemClock(), raise_errors=True)

    with pytest.raises(NonRetryableError, match="never"):
        bus.publish(Job())

    assert bus.dead_letters.count() == 1


def test_raise_errors_logs_what_gives_up_later_on_the_timer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    processor = DomainEventsProcessor()
    broken = Flaky(times=100)
    processor.register_handler(Job, broken, name="broken", retry=QUICK)
    bus = InMemoryEventBus(processor, clock=SystemClock(), raise_errors=True)
    caplog.set_level(logging.ERROR, logger="hexbus.in_memory")

    bus.publish(Job())  # the first failure is retryable: nothing to raise yet

    wait_until(lambda: bus.dead_letters.count() == 1)
    wait_until(lambda: any("gave up" in r.getMessage() for r in caplog.records))
    record = next(r for r in caplog.records if "gave up" in r.getMessage())
    assert "broken" in record.getMessage()
    assert "after 4 attempt(s)" in record.getMessage()
    assert record.exc_info is not None
    assert len(broken.runs) == 4

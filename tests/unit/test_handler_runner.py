"""HandlerRunner and the DeliveryLedger port: one runner for both buses, nothing overridden.

The runner knows idempotency only as a ledger per delivery: ``begin()`` before, ``succeeded()``
after. A fake ledger shows exactly what it is asked; ``StoreLedger`` is the in-memory bus's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import attrs

from hexbus import DomainEvent, DomainEventsProcessor, NullObserver
from hexbus.adapters.clocks import VirtualClock
from hexbus.adapters.in_memory import InMemoryIdempotencyStore
from hexbus.application.delivery import AttemptOutcome, HandlerRunner, StoreLedger
from hexbus.domain.errors import HandlerTimeout
from hexbus.testing import AlwaysFailingHandler, RecordingHandler


@attrs.frozen(kw_only=True)
class Ran(DomainEvent):
    event_type = "unit.runner.ran"


class FakeLedger:
    """A ledger that says what it is told to and remembers what it was asked."""

    def __init__(self, *, already: bool = False) -> None:
        self.already = already
        self.calls: list[str] = []
        self.elapsed: list[timedelta] = []

    def begin(self) -> bool:
        self.calls.append("begin")
        return self.already

    def succeeded(self, elapsed: timedelta) -> None:
        self.calls.append("succeeded")
        self.elapsed.append(elapsed)


def runner(clock: VirtualClock | None = None) -> HandlerRunner:
    return HandlerRunner(NullObserver(), clock or VirtualClock(), enforce_timeout=True)


def spec_for(handler: object, **options: object):  # type: ignore[no-untyped-def]
    processor = DomainEventsProcessor()
    return processor.register_handler(Ran, handler, name="unit.runner", **options)  # type: ignore[arg-type]


def test_a_success_is_reported_to_the_ledger_once_after_the_handler() -> None:
    handler = RecordingHandler()
    ledger = FakeLedger()
    result = runner().run(Ran(), spec_for(handler), 1, ledger)
    assert result.outcome is AttemptOutcome.SUCCEEDED
    assert handler.calls == 1
    assert ledger.calls == ["begin", "succeeded"]


def test_a_handler_the_ledger_knows_as_done_is_skipped_without_running() -> None:
    handler = RecordingHandler()
    ledger = FakeLedger(already=True)
    result = runner().run(Ran(), spec_for(handler), 2, ledger)
    assert result.outcome is AttemptOutcome.SKIPPED
    assert handler.calls == 0
    assert ledger.calls == ["begin"]


def test_a_failure_is_returned_and_never_recorded_as_a_success() -> None:
    ledger = FakeLedger()
    result = runner().run(Ran(), spec_for(AlwaysFailingHandler()), 1, ledger)
    assert result.outcome is AttemptOutcome.FAILED
    assert result.error is not None
    assert ledger.calls == ["begin"]


def test_an_overrun_by_the_clock_fails_with_a_timeout_and_records_nothing() -> None:
    clock = VirtualClock()

    def slow(event: Ran) -> None:
        clock.advance(timedelta(seconds=3))

    ledger = FakeLedger()
    result = runner(clock).run(Ran(), spec_for(slow, timeout=1), 1, ledger)
    assert result.outcome is AttemptOutcome.FAILED
    assert isinstance(result.error, HandlerTimeout)
    assert ledger.calls == ["begin"]


def test_the_ledger_is_told_how_long_the_handler_took() -> None:
    clock = VirtualClock()
    ledger = FakeLedger()
    runner(clock).run(
        Ran(), spec_for(lambda e: clock.advance(timedelta(milliseconds=250))), 1, ledger
    )
    assert ledger.elapsed == [timedelta(milliseconds=250)]


def test_store_ledger_reads_and_writes_the_idempotency_store_for_its_retention() -> None:
    clock = VirtualClock(datetime(2026, 1, 5, tzinfo=UTC))
    store = InMemoryIdempotencyStore(clock)
    event_id = uuid4()
    ledger = StoreLedger(store, event_id, "unit.runner", timedelta(hours=1))
    assert ledger.begin() is False
    ledger.succeeded(timedelta(seconds=1))
    assert ledger.begin() is True
    assert not StoreLedger(store, event_id, "another", timedelta(hours=1)).begin()
    clock.advance(timedelta(hours=1, seconds=1))
    assert ledger.begin() is False, "forgotten after the retention"


def test_one_runner_serves_a_store_ledger_as_the_in_memory_bus_uses_it() -> None:
    store = InMemoryIdempotencyStore(VirtualClock())
    handler = RecordingHandler()
    spec = spec_for(handler)
    event = Ran()
    run = runner()
    ledger = StoreLedger(store, event.event_id, spec.name, timedelta(days=7))
    first = run.run(event, spec, 1, ledger)
    again = run.run(
        event, spec, 1, StoreLedger(store, event.event_id, spec.name, timedelta(days=7))
    )
    assert (first.outcome, again.outcome) == (AttemptOutcome.SUCCEEDED, AttemptOutcome.SKIPPED)
    assert handler.calls == 1

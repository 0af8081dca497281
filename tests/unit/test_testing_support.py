"""hexbus.testing's own parts: the fakes count exactly, the in-memory harness keeps its word.

The contract suite trusts these; a fake that miscounted would make every contract test lie.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from hexbus import NonRetryableError, PublishOutcome
from hexbus.testing import (
    AlwaysFailingHandler,
    BusHarness,
    ContractEvent,
    FailingHandler,
    InMemoryHarness,
    NonRetryableHandler,
    OtherContractEvent,
    PermanentError,
    RecordingHandler,
    RejectedError,
    failure_message,
    register,
)


def test_a_recording_handler_records_each_call_in_order() -> None:
    handler = RecordingHandler()
    first, second = ContractEvent(value=2), ContractEvent(value=1)

    handler(first)
    handler(second)
    handler(first)

    assert handler.events == (first, second, first)
    assert handler.calls == 3
    assert handler.event_ids == [first.event_id, second.event_id, first.event_id]
    assert handler.times(first) == 2
    assert handler.times(ContractEvent()) == 0
    assert handler.values() == [1, 2, 2]


def test_a_recording_handler_runs_what_follows_after_recording() -> None:
    seen_by_then: list[int] = []
    handler = RecordingHandler(then=lambda event: seen_by_then.append(handler.calls))

    handler(ContractEvent())

    assert seen_by_then == [1]


def test_a_recording_handler_counts_exactly_across_threads() -> None:
    handler = RecordingHandler()
    event = ContractEvent()

    def hammer() -> None:
        for _ in range(500):
            handler(event)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert handler.calls == 4000


def test_a_failing_handler_fails_its_first_calls_then_succeeds() -> None:
    handler = FailingHandler(failures=2, error=PermanentError)
    events = [ContractEvent(value=n) for n in range(4)]

    raised = []
    for event in events:
        try:
            handler(event)
        except PermanentError as error:
            raised.append(str(error))

    assert raised == [failure_message(1), failure_message(2)]
    assert handler.calls == 4
    assert handler.succeeded == (events[2], events[3])


def test_a_failing_handler_with_no_failures_always_succeeds() -> None:
    handler = FailingHandler(failures=0)
    event = ContractEvent()

    handler(event)

    assert handler.succeeded == (event,)


def test_a_negative_failure_count_is_refused() -> None:
    with pytest.raises(ValueError, match="failures"):
        FailingHandler(failures=-1)


def test_an_always_failing_handler_never_succeeds() -> None:
    handler = AlwaysFailingHandler(error=KeyError)

    for call in range(1, 4):
        with pytest.raises(KeyError, match=failure_message(call)):
            handler(ContractEvent())

    assert (handler.calls, handler.succeeded) == (3, ())


def test_a_non_retryable_handler_raises_a_non_retryable_error() -> None:
    handler = NonRetryableHandler()

    with pytest.raises(RejectedError) as caught:
        handler(ContractEvent())

    assert isinstance(caught.value, NonRetryableError)
    assert handler.calls == 1


def test_the_contract_events_have_namespaced_types() -> None:
    assert ContractEvent.event_type == "hexbus.testing.contract_event"
    assert OtherContractEvent.event_type == "hexbus.testing.other_contract_event"


# --- the in-memory harness ---------------------------------------------------------------


def test_the_in_memory_harness_is_a_bus_harness() -> None:
    harness: BusHarness = InMemoryHarness()

    assert harness.dead_letters is harness.bus.dead_letters  # type: ignore[attr-defined]


def test_register_puts_handlers_on_the_contract_queue_with_fast_retries() -> None:
    harness = InMemoryHarness()

    spec = register(harness, RecordingHandler(), "contract.h", max_retries=0)

    assert (spec.queue, spec.retry.max_retries) == ("contract", 0)
    assert spec.retry.min_backoff == timedelta(milliseconds=1)


def test_the_slow_handler_takes_its_time_on_the_virtual_clock() -> None:
    harness = InMemoryHarness()
    before = harness.clock.now()

    harness.slow_handler(90.0)(ContractEvent())

    assert harness.clock.now() - before == timedelta(seconds=90)


def test_advance_moves_virtual_time_and_fires_what_comes_due() -> None:
    harness = InMemoryHarness()
    handler = RecordingHandler()
    register(harness, handler, "contract.h")
    before = harness.clock.now()

    result = harness.bus.publish(ContractEvent(value=1), delay=timedelta(hours=2))
    harness.advance(timedelta(hours=1))
    early = handler.calls
    harness.advance(timedelta(hours=1))

    assert result.outcome is PublishOutcome.SCHEDULED
    assert early == 0
    assert handler.calls == 1
    assert harness.clock.now() == before + timedelta(hours=2)


def test_settle_fires_what_the_clock_already_has_due() -> None:
    harness = InMemoryHarness()
    handler = RecordingHandler()
    register(harness, handler, "contract.h")
    harness.bus.publish(ContractEvent(value=1), delay=timedelta(seconds=5))
    harness.clock.advance(timedelta(seconds=5))  # time passed, nobody fired it yet

    harness.settle()

    assert handler.calls == 1

"""The contract's failure handling: retries, dead letters and timeouts (the design, contract
rules 2, 4 and 5)."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from ..domain.errors import DeadLetterNotFound
from ..domain.serialization import EventSerializer
from ..ports.dead_letters import DeadLetterReason
from .contract_setup import (
    DELAY,
    QUEUE,
    RUNTIME_ERROR_TYPE,
    TIMEOUT_ERROR_TYPE,
    only_dead_letter,
    register,
)
from .events import ContractEvent
from .fakes import (
    AlwaysFailingHandler,
    FailingHandler,
    NonRetryableHandler,
    PermanentError,
    RecordingHandler,
    failure_message,
)
from .harness import BusHarness


class FailureContract:
    """What happens when handlers fail: retried, dead-lettered, and recoverable from there."""

    # --- retries ---------------------------------------------------------------------------

    def test_a_retryable_failure_is_retried_until_it_succeeds(self, harness: BusHarness) -> None:
        flaky = FailingHandler(failures=2)
        register(harness, flaky, "contract.flaky")
        event = ContractEvent(value=1)

        harness.bus.publish(event)
        harness.settle()

        assert flaky.calls == 3
        assert flaky.succeeded == (event,)
        assert harness.dead_letters.count() == 0

    def test_exhausted_retries_dead_letter_the_handler_error_and_attempts(
        self, harness: BusHarness
    ) -> None:
        broken = AlwaysFailingHandler()
        register(harness, broken, "contract.broken")
        event = ContractEvent(value=1)

        harness.bus.publish(event)
        harness.settle()

        assert broken.calls == 3
        dead = only_dead_letter(harness)
        assert dead.reason is DeadLetterReason.RETRIES_EXHAUSTED
        assert dead.handler == "contract.broken"
        assert dead.queue == QUEUE
        assert dead.event_id == event.event_id
        assert dead.event_type == ContractEvent.event_type
        assert dead.attempts == 3
        assert dead.error_type == RUNTIME_ERROR_TYPE
        assert dead.error == failure_message(3)
        assert dead.traceback.startswith("Traceback (most recent call last)")
        assert dead.traceback.rstrip().endswith(f"RuntimeError: {failure_message(3)}")
        assert EventSerializer().loads(dead.message) == event

    def test_a_dead_letters_failed_at_is_utc_and_not_before_the_event_was_due(
        self, harness: BusHarness
    ) -> None:
        register(harness, NonRetryableHandler(), "contract.rejecting")
        # A scheduled publish tells the adapter's own time (its due_at), whatever clock it has.
        result = harness.bus.publish(ContractEvent(value=1), delay=DELAY / 2)
        harness.advance(DELAY)

        dead = only_dead_letter(harness)
        assert result.due_at is not None
        assert dead.failed_at.utcoffset() == timedelta(0)
        # Adapters may keep times to the millisecond and move due work a moment early.
        assert dead.failed_at >= result.due_at - timedelta(milliseconds=50)
        assert dead.failed_at < result.due_at + timedelta(minutes=1)

    def test_a_non_retryable_error_dead_letters_after_one_attempt(
        self, harness: BusHarness
    ) -> None:
        rejecting = NonRetryableHandler()
        register(harness, rejecting, "contract.rejecting")

        harness.bus.publish(ContractEvent(value=1))
        harness.settle()

        assert rejecting.calls == 1
        dead = only_dead_letter(harness)
        assert dead.reason is DeadLetterReason.NON_RETRYABLE
        assert dead.attempts == 1
        assert dead.error_type == "hexbus.testing.fakes.RejectedError"

    def test_an_error_type_declared_non_retryable_dead_letters_after_one_attempt(
        self, harness: BusHarness
    ) -> None:
        permanent = AlwaysFailingHandler(error=PermanentError)
        register(harness, permanent, "contract.permanent", non_retryable=(PermanentError,))

        harness.bus.publish(ContractEvent(value=1))
        harness.settle()

        assert permanent.calls == 1
        dead = only_dead_letter(harness)
        assert dead.reason is DeadLetterReason.NON_RETRYABLE
        assert dead.attempts == 1
        assert dead.error_type == "hexbus.testing.fakes.PermanentError"

    # --- dead letters ----------------------------------------------------------------------

    def test_dead_letters_list_newest_first_with_pagination(self, harness: BusHarness) -> None:
        register(harness, NonRetryableHandler(), "contract.rejecting")
        events = [ContractEvent(value=n) for n in range(3)]
        for event in events:  # settled one by one, so their failure times are ordered
            harness.bus.publish(event)
            harness.settle()

        everything = harness.dead_letters.list()
        middle = harness.dead_letters.list(offset=1, limit=1)
        beyond = harness.dead_letters.list(offset=3, limit=10)

        assert [d.event_id for d in everything.items] == [e.event_id for e in reversed(events)]
        assert (everything.total, everything.offset, everything.limit) == (3, 0, 50)
        assert [d.event_id for d in middle.items] == [events[1].event_id]
        assert (middle.total, middle.offset, middle.limit) == (3, 1, 1)
        assert (beyond.items, beyond.total) == ((), 3)
        assert harness.dead_letters.count() == 3

    def test_get_returns_a_dead_letter_and_unknown_ids_raise(self, harness: BusHarness) -> None:
        register(harness, NonRetryableHandler(), "contract.rejecting")
        harness.bus.publish(ContractEvent(value=1))
        harness.settle()
        listed = only_dead_letter(harness)

        assert harness.dead_letters.get(listed.id) == listed
        with pytest.raises(DeadLetterNotFound):
            harness.dead_letters.get(uuid4().hex)

    def test_retrying_a_dead_letter_reruns_only_its_handler(self, harness: BusHarness) -> None:
        fine = RecordingHandler()
        fixed_later = FailingHandler(failures=3)
        register(harness, fine, "contract.fine")
        register(harness, fixed_later, "contract.fixed_later")
        event = ContractEvent(value=1)
        harness.bus.publish(event)
        harness.settle()
        dead = only_dead_letter(harness)

        harness.dead_letters.retry(dead.id)
        harness.settle()

        assert fixed_later.calls == 4
        assert fixed_later.succeeded == (event,)
        assert fine.calls == 1
        assert harness.dead_letters.count() == 0
        with pytest.raises(DeadLetterNotFound):
            harness.dead_letters.get(dead.id)

    def test_a_retried_dead_letter_that_fails_again_is_dead_lettered_again(
        self, harness: BusHarness
    ) -> None:
        broken = AlwaysFailingHandler()
        register(harness, broken, "contract.broken")
        harness.bus.publish(ContractEvent(value=1))
        harness.settle()
        first = only_dead_letter(harness)

        harness.dead_letters.retry(first.id)
        harness.settle()

        second = only_dead_letter(harness)
        assert broken.calls == 6
        assert second.id != first.id
        assert second.attempts == 3
        assert second.error == failure_message(6)

    def test_retry_all_retries_every_dead_letter_and_reports_progress(
        self, harness: BusHarness
    ) -> None:
        flaky = FailingHandler(failures=3, error=PermanentError)
        register(harness, flaky, "contract.flaky", non_retryable=(PermanentError,))
        harness.bus.publish_all([ContractEvent(value=n) for n in range(3)])
        harness.settle()
        assert harness.dead_letters.count() == 3
        progress: list[tuple[int, int]] = []

        retried = harness.dead_letters.retry_all(lambda done, total: progress.append((done, total)))
        harness.settle()

        assert retried == 3
        assert progress == [(1, 3), (2, 3), (3, 3)]
        assert sorted(int(getattr(e, "value", -1)) for e in flaky.succeeded) == [0, 1, 2]
        assert flaky.calls == 6
        assert harness.dead_letters.count() == 0

    def test_remove_deletes_a_dead_letter_for_good(self, harness: BusHarness) -> None:
        rejecting = NonRetryableHandler()
        register(harness, rejecting, "contract.rejecting")
        harness.bus.publish_all([ContractEvent(value=1), ContractEvent(value=2)])
        harness.settle()
        doomed, kept = harness.dead_letters.list().items

        harness.dead_letters.remove(doomed.id)
        harness.settle()

        assert [d.id for d in harness.dead_letters.list().items] == [kept.id]
        assert rejecting.calls == 2
        with pytest.raises(DeadLetterNotFound):
            harness.dead_letters.get(doomed.id)
        with pytest.raises(DeadLetterNotFound):
            harness.dead_letters.remove(doomed.id)
        with pytest.raises(DeadLetterNotFound):
            harness.dead_letters.retry(doomed.id)

    # --- timeouts --------------------------------------------------------------------------

    def test_a_handler_that_overruns_its_timeout_counts_as_a_failed_attempt(
        self, harness: BusHarness
    ) -> None:
        slow = RecordingHandler(then=harness.slow_handler(2.0))
        quick = RecordingHandler()
        limit = timedelta(milliseconds=200)
        register(harness, slow, "contract.slow", timeout=limit, max_retries=1)
        register(harness, quick, "contract.quick")

        harness.bus.publish(ContractEvent(value=1))
        harness.settle()

        assert slow.calls == 2
        assert quick.calls == 1
        dead = only_dead_letter(harness)
        assert dead.handler == "contract.slow"
        assert dead.attempts == 2
        assert dead.error_type == TIMEOUT_ERROR_TYPE

    def test_a_handler_within_its_timeout_succeeds(self, harness: BusHarness) -> None:
        brisk = RecordingHandler(then=harness.slow_handler(0.05))
        register(harness, brisk, "contract.brisk", timeout=timedelta(seconds=2))

        harness.bus.publish(ContractEvent(value=1))
        harness.settle()

        assert brisk.calls == 1
        assert harness.dead_letters.count() == 0


__all__ = ["FailureContract"]

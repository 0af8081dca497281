"""The contract's delivery guarantees: fan-out by type, idempotent publish, isolation,
effectively-once handling under redelivery (the design, contract rules 1 to 3)."""

from __future__ import annotations

from ..ports.event_bus import PublishOutcome
from .contract_setup import register
from .events import ContractEvent, OtherContractEvent
from .fakes import (
    AlwaysFailingHandler,
    FailingHandler,
    NonRetryableHandler,
    PermanentError,
    RecordingHandler,
)
from .harness import BusHarness


class DeliveryContract:
    """Who receives an event, how often, and what the publisher sees."""

    # --- delivery --------------------------------------------------------------------------

    def test_every_handler_of_the_type_receives_the_event(self, harness: BusHarness) -> None:
        first, second = RecordingHandler(), RecordingHandler()
        register(harness, first, "contract.first")
        register(harness, second, "contract.second")
        event = ContractEvent(value=7)

        result = harness.bus.publish(event)
        harness.settle()

        assert result.outcome is PublishOutcome.ACCEPTED
        assert result.event_id == event.event_id
        assert first.events == (event,)
        assert second.events == (event,)

    def test_handlers_of_other_types_do_not_receive_the_event(self, harness: BusHarness) -> None:
        mine, other = RecordingHandler(), RecordingHandler()
        register(harness, mine, "contract.mine")
        register(harness, other, "contract.other", event_type=OtherContractEvent)

        harness.bus.publish(ContractEvent(value=1))
        harness.settle()

        assert mine.calls == 1
        assert other.calls == 0

    def test_an_event_without_handlers_is_accepted(self, harness: BusHarness) -> None:
        bystander = RecordingHandler()
        register(harness, bystander, "contract.bystander")
        lonely = OtherContractEvent(value=1)

        result = harness.bus.publish(lonely)
        harness.settle()

        assert result.outcome is PublishOutcome.ACCEPTED
        assert bystander.calls == 0
        assert harness.dead_letters.count() == 0

    def test_a_duplicate_event_id_is_reported_and_delivers_nothing_new(
        self, harness: BusHarness
    ) -> None:
        handler = RecordingHandler()
        register(harness, handler, "contract.handler")
        original = ContractEvent(value=1)
        copy = ContractEvent(event_id=original.event_id, value=2)

        first = harness.bus.publish(original)
        harness.settle()
        again = harness.bus.publish(original)
        changed = harness.bus.publish(copy)
        harness.settle()

        assert first.outcome is PublishOutcome.ACCEPTED
        assert again.outcome is PublishOutcome.DUPLICATE
        assert changed.outcome is PublishOutcome.DUPLICATE
        assert again.event_id == original.event_id
        assert handler.values() == [1]

    def test_publish_all_reports_each_event_in_order_with_duplicates_in_the_batch(
        self, harness: BusHarness
    ) -> None:
        handler = RecordingHandler()
        register(harness, handler, "contract.handler")
        earlier = ContractEvent(value=0)
        harness.bus.publish(earlier)
        a, b, c = ContractEvent(value=1), ContractEvent(value=2), ContractEvent(value=3)
        batch = [a, b, ContractEvent(event_id=a.event_id, value=4), earlier, c]

        results = harness.bus.publish_all(batch)
        harness.settle()

        assert [r.event_id for r in results] == [e.event_id for e in batch]
        assert [r.outcome for r in results] == [
            PublishOutcome.ACCEPTED,
            PublishOutcome.ACCEPTED,
            PublishOutcome.DUPLICATE,
            PublishOutcome.DUPLICATE,
            PublishOutcome.ACCEPTED,
        ]
        assert handler.values() == [0, 1, 2, 3]

    # --- isolation -------------------------------------------------------------------------

    def test_a_failing_handler_neither_stops_nor_reruns_the_others(
        self, harness: BusHarness
    ) -> None:
        before, after = RecordingHandler(), RecordingHandler()
        flaky = FailingHandler(failures=2)
        register(harness, before, "contract.before")
        register(harness, flaky, "contract.flaky")
        register(harness, after, "contract.after")
        event = ContractEvent(value=1)

        harness.bus.publish(event)
        harness.settle()

        assert flaky.calls == 3
        assert before.calls == 1
        assert after.calls == 1

    def test_the_publisher_never_sees_a_handlers_error(self, harness: BusHarness) -> None:
        register(harness, AlwaysFailingHandler(), "contract.broken")
        register(harness, NonRetryableHandler(), "contract.rejecting")

        single = harness.bus.publish(ContractEvent(value=1))
        batch = harness.bus.publish_all([ContractEvent(value=2), ContractEvent(value=3)])
        harness.settle()

        assert single.outcome is PublishOutcome.ACCEPTED
        assert [r.outcome for r in batch] == [PublishOutcome.ACCEPTED] * 2
        assert harness.dead_letters.count() == 6

    # --- redelivery ------------------------------------------------------------------------

    def test_redelivery_skips_handlers_that_succeeded(self, harness: BusHarness) -> None:
        first, second = RecordingHandler(), RecordingHandler()
        register(harness, first, "contract.first")
        register(harness, second, "contract.second")
        event = ContractEvent(value=1)
        harness.bus.publish(event)
        harness.settle()

        harness.redeliver(event)
        harness.redeliver(event)
        harness.settle()

        assert first.calls == 1
        assert second.calls == 1

    def test_redelivery_runs_handlers_that_have_not_succeeded(self, harness: BusHarness) -> None:
        fine = RecordingHandler()
        rejected_once = FailingHandler(failures=1, error=PermanentError)
        register(harness, fine, "contract.fine")
        register(harness, rejected_once, "contract.rejected_once", non_retryable=(PermanentError,))
        event = ContractEvent(value=1)
        harness.bus.publish(event)
        harness.settle()

        harness.redeliver(event)
        harness.settle()

        assert rejected_once.calls == 2
        assert rejected_once.succeeded == (event,)
        assert fine.calls == 1


__all__ = ["DeliveryContract"]

"""The contract's subscriptions: who publishes does not matter, only who subscribes where the
work happens; an event no handler subscribes to is accepted, reported, and kept for the
handlers that subscribe to its type later, each getting it once (ADR 0015)."""

from __future__ import annotations

from ..ports.event_bus import PublishOutcome
from .contract_setup import DELAY, register, unrouted_of
from .events import ContractEvent, OtherContractEvent
from .fakes import RecordingHandler
from .harness import BusHarness


class RoutingContract:
    """Routes come from where the handlers run, not from the publisher's registry."""

    def test_a_publisher_without_handlers_reaches_the_handlers_where_the_work_happens(
        self, harness: BusHarness
    ) -> None:
        first, second = RecordingHandler(), RecordingHandler()
        register(harness, first, "contract.first")
        register(harness, second, "contract.second")

        single = harness.publisher.publish(ContractEvent(value=1))
        batch = harness.publisher.publish_all([ContractEvent(value=2), ContractEvent(value=3)])
        harness.settle()

        assert single.outcome is PublishOutcome.ACCEPTED
        assert [r.outcome for r in batch] == [PublishOutcome.ACCEPTED] * 2
        assert sorted(first.values()) == [1, 2, 3]
        assert sorted(second.values()) == [1, 2, 3]
        assert unrouted_of(harness, ContractEvent) is None

    def test_a_delayed_event_from_a_publisher_without_handlers_reaches_them(
        self, harness: BusHarness
    ) -> None:
        handler = RecordingHandler()
        register(harness, handler, "contract.handler")

        result = harness.publisher.publish(ContractEvent(value=1), delay=DELAY)
        harness.advance(DELAY * 1.5)

        assert result.outcome is PublishOutcome.SCHEDULED
        assert handler.values() == [1]

    def test_an_event_no_handler_subscribes_to_is_accepted_and_reported(
        self, harness: BusHarness
    ) -> None:
        bystander = RecordingHandler()
        register(harness, bystander, "contract.bystander")

        first = harness.publisher.publish(OtherContractEvent(value=1))
        second = harness.publisher.publish(OtherContractEvent(value=2))
        routed = harness.publisher.publish(ContractEvent(value=3))
        harness.settle()

        assert (first.outcome, second.outcome) == (PublishOutcome.ACCEPTED,) * 2
        assert (first.unrouted, second.unrouted, routed.unrouted) == (True, True, False)
        assert unrouted_of(harness, OtherContractEvent) == (2, 2)
        assert unrouted_of(harness, ContractEvent) is None
        assert bystander.values() == [3]
        assert harness.dead_letters.count() == 0

    def test_a_handler_registered_after_an_event_was_published_gets_it(
        self, harness: BusHarness
    ) -> None:
        register(harness, RecordingHandler(), "contract.bystander")
        early = OtherContractEvent(value=1)
        harness.publisher.publish(early)
        harness.settle()
        late = RecordingHandler()

        register(harness, late, "contract.late", event_type=OtherContractEvent)
        harness.settle()

        assert late.events == (early,)
        assert unrouted_of(harness, OtherContractEvent) == (1, 1), "kept for later ones too"

    def test_every_handler_that_subscribes_later_gets_a_kept_event_once(
        self, harness: BusHarness
    ) -> None:
        # Several worker processes of one deploy declare their handlers one after another:
        # whichever comes first, each gets what nobody had subscribed to.
        register(harness, RecordingHandler(), "contract.bystander")
        early = OtherContractEvent(value=1)
        harness.publisher.publish(early)
        harness.settle()
        first, second = RecordingHandler(), RecordingHandler()

        register(harness, first, "contract.first_late", event_type=OtherContractEvent)
        harness.settle()
        register(harness, second, "contract.second_late", event_type=OtherContractEvent)
        harness.settle()
        harness.publisher.publish(OtherContractEvent(value=2))
        harness.settle()

        assert first.values() == [1, 2]
        assert second.values() == [1, 2]

    def test_a_later_handler_gets_what_is_published_after_it_not_what_others_got(
        self, harness: BusHarness
    ) -> None:
        first = RecordingHandler()
        register(harness, first, "contract.first")
        harness.publisher.publish(ContractEvent(value=1))
        harness.settle()
        later = RecordingHandler()

        register(harness, later, "contract.later")
        harness.publisher.publish(ContractEvent(value=2))
        harness.settle()

        assert sorted(first.values()) == [1, 2]
        assert later.values() == [2]


__all__ = ["RoutingContract"]

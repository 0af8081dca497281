"""The contract's scheduling: delayed and timed publish, cancel, reschedule (the design,
contract rule 6, one-off events).

Every time a test needs is taken from the adapter itself (a scheduled publish's ``due_at``),
never from the wall clock, so the same test holds on virtual time and on real time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from ..ports.event_bus import PublishOutcome
from .contract_setup import DELAY, register
from .events import ContractEvent
from .fakes import RecordingHandler
from .harness import BusHarness


class SchedulingContract:
    """Events held until a time, and moved or called off before it."""

    def test_a_delayed_event_is_held_until_its_due_time(self, harness: BusHarness) -> None:
        handler = RecordingHandler()
        register(harness, handler, "contract.handler")
        event = ContractEvent(value=1)

        result = harness.bus.publish(event, delay=DELAY)
        harness.settle()
        held_at_first = handler.calls
        harness.advance(DELAY / 4)
        held_later = handler.calls
        harness.advance(DELAY)

        assert result.outcome is PublishOutcome.SCHEDULED
        assert result.due_at is not None
        assert (held_at_first, held_later) == (0, 0)
        assert handler.events == (event,)

    def test_a_scheduled_event_published_again_is_a_duplicate(self, harness: BusHarness) -> None:
        handler = RecordingHandler()
        register(harness, handler, "contract.handler")
        event = ContractEvent(value=1)

        harness.bus.publish(event, delay=DELAY)
        again = harness.bus.publish(event, delay=DELAY)
        now = harness.bus.publish(event)
        harness.advance(DELAY * 1.5)

        assert (again.outcome, now.outcome) == (PublishOutcome.DUPLICATE,) * 2
        assert handler.calls == 1

    def test_publish_at_a_time_holds_the_event_until_then(self, harness: BusHarness) -> None:
        handler = RecordingHandler()
        register(harness, handler, "contract.handler")
        # The first event's due_at is a moment in the adapter's own time, real or virtual.
        first = harness.bus.publish(ContractEvent(value=1), delay=DELAY)
        assert first.due_at is not None

        second = harness.bus.publish(ContractEvent(value=2), at=first.due_at)
        harness.advance(DELAY / 4)
        held = handler.calls
        harness.advance(DELAY)

        assert second.outcome is PublishOutcome.SCHEDULED
        assert second.due_at == first.due_at
        assert held == 0
        assert handler.values() == [1, 2]

    def test_cancel_while_pending_means_the_handler_never_runs(self, harness: BusHarness) -> None:
        handler = RecordingHandler()
        register(harness, handler, "contract.handler")
        event = ContractEvent(value=1)
        harness.bus.publish(event, delay=DELAY)

        cancelled = harness.bus.cancel(event.event_id)
        harness.advance(DELAY * 2)

        assert cancelled is True
        assert handler.calls == 0
        assert harness.bus.cancel(event.event_id) is False

    def test_cancel_after_delivery_returns_false_and_changes_nothing(
        self, harness: BusHarness
    ) -> None:
        handler = RecordingHandler()
        register(harness, handler, "contract.handler")
        delayed, immediate = ContractEvent(value=1), ContractEvent(value=2)
        harness.bus.publish(delayed, delay=DELAY)
        harness.bus.publish(immediate)
        harness.advance(DELAY * 1.5)

        assert harness.bus.cancel(delayed.event_id) is False
        assert harness.bus.cancel(immediate.event_id) is False
        assert harness.bus.cancel(uuid4()) is False
        harness.advance(DELAY * 1.5)
        assert handler.values() == [1, 2]

    def test_reschedule_moves_a_pending_event_later(self, harness: BusHarness) -> None:
        handler = RecordingHandler()
        register(harness, handler, "contract.handler")
        event = ContractEvent(value=1)
        harness.bus.publish(event, delay=DELAY)

        moved = harness.bus.reschedule(event.event_id, delay=DELAY * 3)
        harness.advance(DELAY * 1.5)
        held = handler.calls
        harness.advance(DELAY * 2)

        assert moved is True
        assert held == 0
        assert handler.events == (event,)

    def test_reschedule_moves_a_pending_event_earlier(self, harness: BusHarness) -> None:
        handler = RecordingHandler()
        register(harness, handler, "contract.handler")
        event = ContractEvent(value=1)
        result = harness.bus.publish(event, delay=timedelta(hours=1))
        assert result.due_at is not None
        published_at = result.due_at - timedelta(hours=1)  # the adapter's time at publish

        moved = harness.bus.reschedule(event.event_id, at=published_at + DELAY)
        harness.advance(DELAY * 1.5)

        assert moved is True
        assert handler.events == (event,)

    def test_reschedule_of_a_delivered_or_unknown_event_returns_false(
        self, harness: BusHarness
    ) -> None:
        handler = RecordingHandler()
        register(harness, handler, "contract.handler")
        event = ContractEvent(value=1)
        harness.bus.publish(event, delay=DELAY)
        harness.advance(DELAY * 1.5)

        assert harness.bus.reschedule(event.event_id, delay=DELAY) is False
        assert harness.bus.reschedule(uuid4(), delay=DELAY) is False
        harness.advance(DELAY * 1.5)
        assert handler.calls == 1

    def test_delay_and_at_together_raise_and_publish_nothing(self, harness: BusHarness) -> None:
        handler = RecordingHandler()
        register(harness, handler, "contract.handler")
        event = ContractEvent(value=1)

        # Any aware time will do: the call is refused before the time is looked at.
        with pytest.raises(ValueError, match="not both"):
            harness.bus.publish(event, delay=DELAY, at=datetime.now(UTC) + DELAY)
        harness.settle()
        calls_after_refusal = handler.calls
        later = harness.bus.publish(event)
        harness.settle()

        assert calls_after_refusal == 0
        assert later.outcome is PublishOutcome.ACCEPTED
        assert handler.calls == 1


__all__ = ["SchedulingContract"]

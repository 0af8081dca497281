"""InMemoryEventBus beyond the shared contract: ordering, virtual time, test-double helpers,
raise_errors, observers and retention (the contract itself runs in tests/contract)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import attrs
import pytest

from hexbus import (
    DeadLetter,
    DomainEvent,
    DomainEventsProcessor,
    HandlerSpec,
    NullObserver,
    PublishOutcome,
    PublishResult,
    RetryPolicy,
)
from hexbus.adapters.clocks import SystemClock, VirtualClock
from hexbus.adapters.in_memory import HandlerRun, InMemoryEventBus
from hexbus.testing import AlwaysFailingHandler, FailingHandler, RecordingHandler

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
QUICK = RetryPolicy(
    max_retries=2, min_backoff=timedelta(seconds=1), max_backoff=timedelta(minutes=1)
)


@attrs.frozen(kw_only=True)
class Ordered(DomainEvent):
    event_type = "unit.in_memory.ordered"

    value: int = 0


@attrs.frozen(kw_only=True)
class FollowUp(DomainEvent):
    event_type = "unit.in_memory.follow_up"

    value: int = 0


@attrs.define
class World:
    """A bus on virtual time with its registry."""

    clock: VirtualClock
    processor: DomainEventsProcessor
    bus: InMemoryEventBus


def world(**options: object) -> World:
    clock = VirtualClock(START)
    processor = DomainEventsProcessor(default_retry=QUICK)
    bus = InMemoryEventBus(processor, clock=clock, **options)  # type: ignore[arg-type]
    return World(clock, processor, bus)


# --- dispatch order ----------------------------------------------------------------------


def test_an_event_published_by_a_handler_is_dispatched_after_the_current_one() -> None:
    w = world()
    log: list[str] = []

    def publisher(event: Ordered) -> None:
        log.append(f"publisher starts {event.value}")
        w.bus.publish(FollowUp(value=event.value * 10))
        w.bus.publish(FollowUp(value=event.value * 10 + 1))
        log.append(f"publisher ends {event.value}")

    w.processor.register_handler(Ordered, publisher, name="publisher")
    w.processor.register_handler(Ordered, lambda e: log.append(f"sibling {e.value}"), name="sib")
    w.processor.register_handler(FollowUp, lambda e: log.append(f"follow-up {e.value}"), name="f")

    w.bus.publish(Ordered(value=1))

    assert log == [
        "publisher starts 1",
        "publisher ends 1",
        "sibling 1",
        "follow-up 10",
        "follow-up 11",
    ]


def test_a_nested_event_is_handled_before_publish_returns() -> None:
    w = world()
    follow_ups = RecordingHandler()
    w.processor.register_handler(
        Ordered, lambda e: w.bus.publish(FollowUp(value=e.value)), name="chain"
    )
    w.processor.register_handler(FollowUp, follow_ups, name="follow_ups")

    w.bus.publish(Ordered(value=4))

    assert follow_ups.values() == [4]


# --- virtual time ------------------------------------------------------------------------


def test_advance_fires_scheduled_events_in_due_order_at_their_due_times() -> None:
    w = world()
    seen: list[tuple[int, datetime]] = []
    w.processor.register_handler(Ordered, lambda e: seen.append((e.value, w.clock.now())), name="h")
    w.bus.publish(Ordered(value=3), delay=timedelta(hours=3))
    w.bus.publish(Ordered(value=1), delay=timedelta(hours=1))
    w.bus.publish(Ordered(value=2), at=START + timedelta(hours=2))
    w.bus.publish(Ordered(value=22), at=START + timedelta(hours=2))  # same time: publish order

    fired = w.bus.advance(timedelta(hours=5))

    assert fired == 4
    assert seen == [
        (1, START + timedelta(hours=1)),
        (2, START + timedelta(hours=2)),
        (22, START + timedelta(hours=2)),
        (3, START + timedelta(hours=3)),
    ]
    assert w.clock.now() == START + timedelta(hours=5)


def test_advance_stops_short_of_events_due_later() -> None:
    w = world()
    handler = RecordingHandler()
    w.processor.register_handler(Ordered, handler, name="h")
    w.bus.publish(Ordered(value=1), delay=timedelta(minutes=30))
    w.bus.publish(Ordered(value=2), delay=timedelta(minutes=31))

    assert w.bus.advance(timedelta(minutes=30)) == 1
    assert handler.values() == [1]
    assert [(due, e.value) for due, e in w.bus.scheduled] == [  # type: ignore[attr-defined]
        (START + timedelta(minutes=31), 2)
    ]


def test_run_due_fires_only_what_the_clock_already_has_due() -> None:
    w = world()
    handler = RecordingHandler()
    w.processor.register_handler(Ordered, handler, name="h")
    w.bus.publish(Ordered(value=1), delay=timedelta(seconds=10))
    w.bus.publish(Ordered(value=2), delay=timedelta(seconds=20))
    w.clock.advance(timedelta(seconds=15))

    assert w.bus.run_due() == 1
    assert handler.values() == [1]


def test_a_due_time_already_passed_delivers_at_once() -> None:
    w = world()
    handler = RecordingHandler()
    w.processor.register_handler(Ordered, handler, name="h")

    past = w.bus.publish(Ordered(value=1), at=START - timedelta(hours=1))
    zero = w.bus.publish(Ordered(value=2), delay=timedelta(0))

    assert (past.outcome, zero.outcome) == (PublishOutcome.ACCEPTED, PublishOutcome.ACCEPTED)
    assert handler.values() == [1, 2]


def test_advance_needs_a_virtual_clock() -> None:
    bus = InMemoryEventBus(DomainEventsProcessor(), clock=SystemClock())

    with pytest.raises(TypeError, match="VirtualClock"):
        bus.advance(timedelta(seconds=1))


@pytest.mark.parametrize(
    ("delay", "at", "message"),
    [
        (timedelta(seconds=-1), None, "negative"),
        (None, datetime(2026, 3, 2, 10, 0), "timezone-aware"),
    ],
)
def test_bad_due_times_are_refused(
    delay: timedelta | None, at: datetime | None, message: str
) -> None:
    w = world()

    with pytest.raises(ValueError, match=message):
        w.bus.publish(Ordered(), delay=delay, at=at)
    with pytest.raises(ValueError, match="delay= or at="):
        w.bus.reschedule(uuid4())
    assert w.bus.published == ()


def test_publishing_something_that_is_not_an_event_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="DomainEvent"):
        world().bus.publish({"event_type": "unit.in_memory.ordered"})  # type: ignore[arg-type]


def test_retries_back_off_on_the_injected_clock() -> None:
    w = world(random_fraction=lambda: 0.0)  # no random part: waits are 0.8 s then 1.6 s
    w.processor.register_handler(Ordered, AlwaysFailingHandler(), name="broken")

    w.bus.publish(Ordered(value=1))

    [dead] = w.bus.dead_letters.list().items
    assert dead.failed_at == START + timedelta(seconds=2.4)
    assert w.clock.now() == START + timedelta(seconds=2.4)


# --- the test-double helpers -------------------------------------------------------------


def test_published_lists_accepted_events_in_order_without_duplicates() -> None:
    w = world()
    first, second, other = Ordered(value=1), Ordered(value=2), FollowUp(value=3)

    w.bus.publish_all([first, second, first, other])

    assert w.bus.published == (first, second, other)
    assert w.bus.events_of_type(Ordered) == [first, second]
    assert w.bus.count() == 3
    assert w.bus.count(Ordered) == 2
    assert w.bus.count(FollowUp) == 1
    assert w.bus.event(second.event_id) is second


def test_event_names_what_was_published_when_the_id_is_unknown() -> None:
    w = world()
    w.bus.publish(Ordered(value=1))

    with pytest.raises(KeyError, match="Ordered"):
        w.bus.event(uuid4())


def test_assert_published_returns_the_latest_match() -> None:
    w = world()
    w.bus.publish_all([Ordered(value=1), Ordered(value=2), Ordered(value=1)])

    found = w.bus.assert_published(Ordered, value=1)

    assert found is w.bus.published[2]
    assert w.bus.assert_published(Ordered) is w.bus.published[2]


def test_assert_published_says_what_was_wanted_and_what_was_published() -> None:
    w = world()
    w.bus.publish(Ordered(value=1))

    with pytest.raises(AssertionError) as caught:
        w.bus.assert_published(Ordered, value=2)

    message = str(caught.value)
    assert "no Ordered(value=2) was published" in message
    assert f"Ordered({w.bus.published[0].event_id})" in message


def test_assert_not_published_fails_naming_the_class() -> None:
    w = world()
    w.bus.publish(FollowUp(value=1))
    w.bus.assert_not_published(Ordered)

    with pytest.raises(AssertionError, match="FollowUp was published"):
        w.bus.assert_not_published(FollowUp)


def test_runs_record_every_attempt_with_its_outcome() -> None:
    w = world()
    w.processor.register_handler(Ordered, FailingHandler(failures=1), name="flaky")
    event = Ordered(value=1)

    w.bus.publish(event)
    w.bus.redeliver(event)

    assert w.bus.runs == (
        HandlerRun(event.event_id, "flaky", 1, "failed", "RuntimeError: planned failure on call 1"),
        HandlerRun(event.event_id, "flaky", 2, "ok"),
        HandlerRun(event.event_id, "flaky", 1, "skipped"),
    )
    assert w.bus.succeeded("flaky") == [event.event_id]
    assert w.bus.succeeded("nobody") == []


def test_clear_forgets_the_records_but_not_the_idempotency_keys() -> None:
    w = world()
    handler = RecordingHandler()
    w.processor.register_handler(Ordered, handler, name="h")
    event = Ordered(value=1)
    w.bus.publish(event)

    w.bus.clear()

    assert (w.bus.published, w.bus.runs) == ((), ())
    assert w.bus.publish(event).outcome is PublishOutcome.DUPLICATE
    assert handler.calls == 1


def test_records_are_capped() -> None:
    w = world(record_limit=2)

    w.bus.publish_all([Ordered(value=n) for n in range(5)])

    assert [e.value for e in w.bus.events_of_type(Ordered)] == [3, 4]


# --- raise_errors ------------------------------------------------------------------------


def test_raise_errors_reraises_the_final_error_after_the_other_handlers_ran() -> None:
    w = world(raise_errors=True)
    broken, after = AlwaysFailingHandler(), RecordingHandler()
    w.processor.register_handler(Ordered, broken, name="broken")
    w.processor.register_handler(Ordered, after, name="after")

    with pytest.raises(RuntimeError, match="planned failure on call 3"):
        w.bus.publish(Ordered(value=1))

    assert broken.calls == 3
    assert after.calls == 1
    assert w.bus.dead_letters.count() == 1


def test_without_raise_errors_the_publisher_sees_nothing() -> None:
    w = world()
    w.processor.register_handler(Ordered, AlwaysFailingHandler(), name="broken")

    result = w.bus.publish(Ordered(value=1))

    assert result.outcome is PublishOutcome.ACCEPTED
    assert w.bus.dead_letters.count() == 1


# --- observers ---------------------------------------------------------------------------


class ExplodingObserver(NullObserver):
    """An observer that fails at every hook, like a broken metrics exporter."""

    def __init__(self) -> None:
        self.calls = 0

    def _explode(self) -> None:
        self.calls += 1
        raise RuntimeError("observer down")

    def published(self, event: DomainEvent, result: PublishResult) -> None:
        self._explode()

    def handler_started(self, event: DomainEvent, handler: HandlerSpec, attempt: int) -> None:
        self._explode()

    def handler_failed(
        self,
        event: DomainEvent,
        handler: HandlerSpec,
        attempt: int,
        error: BaseException,
        retry_at: datetime | None,
    ) -> None:
        self._explode()

    def dead_lettered(self, dead_letter: DeadLetter) -> None:
        self._explode()


def test_a_failing_observer_never_breaks_delivery(caplog: pytest.LogCaptureFixture) -> None:
    observer = ExplodingObserver()
    w = world(observers=[observer])
    fine, flaky, broken = RecordingHandler(), FailingHandler(failures=1), AlwaysFailingHandler()
    w.processor.register_handler(Ordered, fine, name="fine")
    w.processor.register_handler(Ordered, flaky, name="flaky")
    w.processor.register_handler(Ordered, broken, name="broken")

    with caplog.at_level(logging.ERROR, logger="hexbus.observers"):
        result = w.bus.publish(Ordered(value=1))

    assert result.outcome is PublishOutcome.ACCEPTED
    assert (fine.calls, flaky.calls, broken.calls) == (1, 2, 3)
    assert w.bus.dead_letters.count() == 1
    assert observer.calls > 0
    assert len([r for r in caplog.records if "observer" in r.getMessage()]) == observer.calls


# --- retention ---------------------------------------------------------------------------


def test_a_duplicate_within_the_retention_is_refused_and_accepted_again_after_it() -> None:
    w = world(retention=timedelta(hours=1))
    handler = RecordingHandler()
    w.processor.register_handler(Ordered, handler, name="h")
    event = Ordered(value=1)
    w.bus.publish(event)

    w.clock.advance(timedelta(minutes=59))
    within = w.bus.publish(event)
    w.clock.advance(timedelta(minutes=2))
    after = w.bus.publish(event)

    assert within.outcome is PublishOutcome.DUPLICATE
    assert after.outcome is PublishOutcome.ACCEPTED
    assert handler.calls == 2


def test_dead_letters_are_dropped_after_their_retention() -> None:
    w = world(dead_letter_retention=timedelta(days=1))
    w.processor.register_handler(Ordered, AlwaysFailingHandler(), name="broken", max_retries=0)
    w.bus.publish(Ordered(value=1))

    w.clock.advance(timedelta(hours=23))
    kept = w.bus.dead_letters.count()
    w.clock.advance(timedelta(hours=2))

    assert kept == 1
    assert w.bus.dead_letters.count() == 0
    assert w.bus.dead_letters.list().items == ()

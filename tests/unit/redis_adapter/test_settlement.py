"""The settlement owns every message's fate: one script per outcome, each written once.

Fakes over mocks: ``FakeScripts`` stands in for the registered Lua scripts, remembering each
call (script, KEYS, ARGV) and answering or failing as a test tells it. No Redis is needed: what
the scripts do inside Redis is proved by the contract and integration suites; here, that the
settlement calls the right one, once, with this worker's keys, and that the actor goes one way
through it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import attrs
import pytest
import redis

from hexbus import DomainEvent, DomainEventsProcessor, NullObserver, RateLimit, RetryPolicy
from hexbus.adapters.clocks import VirtualClock
from hexbus.adapters.dramatiq.dead_letters import RedisDeadLetters
from hexbus.adapters.dramatiq.delivery import Deliverer
from hexbus.adapters.dramatiq.intake import MAX_KEPT_BODY, Refused, read
from hexbus.adapters.dramatiq.keys import RedisKeys
from hexbus.adapters.dramatiq.messages import build_message
from hexbus.adapters.dramatiq.settlement import Delivery, Fate, Settlement, WorkerDeaths
from hexbus.application.delivery import DONE, SKIPPED, AttemptOutcome, AttemptResult, HandlerRunner
from hexbus.domain.serialization import EventSerializer
from hexbus.ports.dead_letters import DeadLetter, DeadLetterReason
from hexbus.testing import AlwaysFailingHandler, PermanentError, RecordingHandler

BROKER = "broker-7"
KEYS = RedisKeys("unit")


@attrs.frozen(kw_only=True)
class Paid(DomainEvent):
    event_type = "unit.settlement.paid"
    amount: int = 1


@attrs.define
class Call:
    script: str
    keys: list[str]
    args: list[Any]


BATCHED = {"start": (4, 0), "complete": (7, 1)}
"""Scripts that take many items in one call: KEYS per item, and the answer for each by
default (start: run it; complete: recorded). A test's answer is for one item."""


class FakeScript:
    def __init__(self, name: str, calls: list[Call]) -> None:
        self.name = name
        self._calls = calls
        self.answers: list[Any] = []
        self.failures: list[BaseException] = []
        self.fail_always: BaseException | None = None

    def __call__(self, *, keys: list[str], args: list[Any], client: object = None) -> Any:
        self._calls.append(Call(self.name, list(keys), list(args)))
        if self.fail_always is not None:
            raise self.fail_always
        if self.failures:
            raise self.failures.pop(0)
        if self.name in BATCHED:
            per_item, default = BATCHED[self.name]
            count = len(keys) // per_item
            return [self.answers.pop(0) if self.answers else default for _ in range(count)]
        return self.answers.pop(0) if self.answers else 0


class FakeScripts:
    """Every script the settlement may call, recording calls in order."""

    NAMES = ("start", "complete", "ack", "defer", "dead_letter", "rate_limit", "put_back")

    def __init__(self) -> None:
        self.calls: list[Call] = []
        for name in self.NAMES:
            setattr(self, name, FakeScript(name, self.calls))

    def script(self, name: str) -> FakeScript:
        script: FakeScript = getattr(self, name)
        return script

    @property
    def names(self) -> list[str]:
        return [call.script for call in self.calls]


class RecordingObserver(NullObserver):
    def __init__(self) -> None:
        self.failed: list[tuple[int, object]] = []
        self.dead: list[DeadLetter] = []

    def handler_failed(self, event, handler, attempt, error, retry_at) -> None:  # type: ignore[no-untyped-def]
        self.failed.append((attempt, retry_at))

    def dead_lettered(self, dead_letter: DeadLetter) -> None:
        self.dead.append(dead_letter)


@attrs.define
class World:
    scripts: FakeScripts
    settlement: Settlement
    processor: DomainEventsProcessor
    observer: RecordingObserver
    clock: VirtualClock

    def delivery(
        self, event: DomainEvent, *, attempt: int = 1, handler: str = "unit.pay"
    ) -> Delivery:
        return self.settlement.delivery(
            queue="payments",
            redis_id="r1",
            attempt=attempt,
            handler=handler,
            envelope=envelope_of(event),
        )


def envelope_of(event: DomainEvent) -> dict[str, Any]:
    return json.loads(EventSerializer().dumps(event))  # type: ignore[no-any-return]


def world(put_back_interval: timedelta = timedelta(milliseconds=1)) -> World:
    scripts = FakeScripts()
    processor = DomainEventsProcessor()
    clock = VirtualClock()
    observer = RecordingObserver()
    dead_letters = RedisDeadLetters(
        None,  # type: ignore[arg-type]  # recording a dead letter is one script, no client call
        KEYS,
        scripts,  # type: ignore[arg-type]
        processor,
        clock,
        retention=timedelta(days=7),
    )
    settlement = Settlement(
        scripts=scripts,  # type: ignore[arg-type]
        keys=KEYS,
        broker_id=BROKER,
        processor=processor,
        clock=clock,
        observer=observer,
        dead_letters=dead_letters,
        retention=timedelta(days=7),
        random_fraction=lambda: 0.5,
        put_back_interval=put_back_interval,
    )
    return World(scripts, settlement, processor, observer, clock)


def register(w: World, handler: Callable[[Any], object] | None = None, **options: Any):  # type: ignore[no-untyped-def]
    return w.processor.register_handler(
        Paid, handler or RecordingHandler(), name="unit.pay", queue="payments", **options
    )


def test_the_ledger_is_start_before_and_complete_after_with_this_workers_acks_set() -> None:
    w = world()
    register(w)
    event = Paid()
    delivery = w.delivery(event)
    assert delivery.begin() is False
    delivery.succeeded(timedelta(milliseconds=12))
    assert w.scripts.names == ["start", "complete"]
    start, complete = w.scripts.calls
    assert start.keys == [
        KEYS.done(event.event_id),
        KEYS.status(event.event_id),
        KEYS.published(event.event_id),
        KEYS.runs("payments"),
    ]
    assert start.args[2] == 3, "the deaths limit, once for the call"
    assert start.args[3] == "unit.pay"
    assert start.args[-1] == delivery.redis_id, "the message's id"
    assert len(start.args) == 3 + 5, "three arguments shared, five per message"
    assert complete.keys[6] == KEYS.runs("payments"), "a settled run clears its start count"
    assert complete.keys[1] == KEYS.acks(BROKER, "payments")
    assert complete.keys[2] == KEYS.messages("payments")
    assert complete.keys[4] == KEYS.stats("payments"), "the minute's work is in the queue's stats"
    assert complete.args[4] == KEYS.status_template, "the script is given the template, once"
    assert complete.args[5:] == [
        "unit.pay",
        complete.args[6],
        delivery.redis_id,
        12,
        str(event.event_id),
        complete.args[6] // 60_000,
    ]
    assert len(complete.args) == 5 + 6, "five arguments shared, six per success"
    assert delivery.fate is Fate.COMPLETED


def test_a_success_already_written_is_not_settled_again() -> None:
    w = world()
    spec = register(w)
    delivery = w.delivery(Paid())
    delivery.succeeded(timedelta(0))
    w.settlement.settle(delivery, Paid(), spec, DONE, {})
    assert w.scripts.names == ["complete"]


def test_a_success_the_ledger_never_saw_is_refused() -> None:
    w = world()
    spec = register(w)
    with pytest.raises(RuntimeError, match="not recorded"):
        w.settlement.settle(w.delivery(Paid()), Paid(), spec, DONE, {})


def test_a_handler_that_already_succeeded_is_acked_by_the_settlement() -> None:
    w = world()
    spec = register(w)
    w.scripts.script("start").answers.append(1)
    event = Paid()
    delivery = w.delivery(event)
    assert delivery.begin() is True
    w.settlement.settle(delivery, event, spec, SKIPPED, envelope_of(event))
    assert w.scripts.names == ["start", "ack"]
    assert w.scripts.calls[1].keys == [
        KEYS.acks(BROKER, "payments"),
        KEYS.messages("payments"),
        KEYS.runs("payments"),
    ]
    assert delivery.fate is Fate.SKIPPED


def test_a_retryable_failure_is_deferred_with_the_next_attempt_after_backoff() -> None:
    w = world()
    spec = register(w, retry=RetryPolicy(max_retries=2, min_backoff=timedelta(seconds=10)))
    event = Paid()
    delivery = w.delivery(event)
    failed = AttemptResult(AttemptOutcome.FAILED, ValueError("card declined"))
    w.settlement.settle(delivery, event, spec, failed, envelope_of(event))
    assert w.scripts.names == ["defer"]
    defer = w.scripts.calls[0]
    header = json.loads(defer.args[3].split("\n", 1)[0])
    assert header["h"] == [["payments", "unit.pay", 2]]
    assert defer.args[4] == "retry"
    assert defer.args[7] == "ValueError: card declined"
    due_ms = defer.args[2]
    now_ms = int(w.clock.now().timestamp() * 1000)
    assert due_ms >= now_ms + 9_000
    assert delivery.fate is Fate.RETRY
    [(attempt, retry_at)] = w.observer.failed
    assert attempt == 1
    assert retry_at is not None


def test_the_last_attempt_goes_to_the_dead_letters_and_is_told_once() -> None:
    w = world()
    spec = register(w, retry=RetryPolicy(max_retries=1))
    event = Paid()
    delivery = w.delivery(event, attempt=2)
    failed = AttemptResult(AttemptOutcome.FAILED, ValueError("still declined"))
    w.settlement.settle(delivery, event, spec, failed, envelope_of(event))
    assert w.scripts.names == ["dead_letter"]
    assert w.scripts.calls[0].keys[:2] == [KEYS.acks(BROKER, "payments"), KEYS.messages("payments")]
    assert [d.reason for d in w.observer.dead] == [DeadLetterReason.RETRIES_EXHAUSTED]
    assert w.observer.failed == [(2, None)]
    assert delivery.fate is Fate.DEAD


def test_a_non_retryable_error_is_dead_at_once() -> None:
    w = world()
    spec = register(w, non_retryable=(PermanentError,))
    event = Paid()
    failed = AttemptResult(AttemptOutcome.FAILED, PermanentError("no such card"))
    w.settlement.settle(w.delivery(event), event, spec, failed, envelope_of(event))
    assert [d.reason for d in w.observer.dead] == [DeadLetterReason.NON_RETRYABLE]


def test_a_full_rate_limit_waits_with_the_same_attempt() -> None:
    w = world()
    spec = register(
        w, rate_limit=RateLimit(name="sms", limit=1, period=timedelta(minutes=1), key="amount")
    )
    w.scripts.script("rate_limit").answers.append(1500)
    event = Paid()
    delivery = w.delivery(event, attempt=3)
    assert w.settlement.admit(delivery, event, spec, envelope_of(event)) is False
    assert w.scripts.names == ["rate_limit", "defer"]
    defer = w.scripts.calls[1]
    assert json.loads(defer.args[3].split("\n", 1)[0])["h"] == [["payments", "unit.pay", 3]]
    assert defer.args[4] == "wait"
    assert delivery.fate is Fate.WAIT


def test_a_free_rate_limit_slot_lets_it_run() -> None:
    w = world()
    spec = register(
        w, rate_limit=RateLimit(name="sms", limit=1, period=timedelta(minutes=1), key="amount")
    )
    w.scripts.script("rate_limit").answers.append(0)
    delivery = w.delivery(Paid())
    assert w.settlement.admit(delivery, Paid(), spec, {}) is True
    assert delivery.fate is None


def test_put_back_retries_until_redis_answers() -> None:
    w = world()
    w.scripts.script("put_back").failures += [redis.ConnectionError("down")] * 2
    delivery = w.delivery(Paid())
    w.settlement.put_back(delivery, redis.ConnectionError("down"))
    assert w.scripts.names == ["put_back"] * 3
    assert w.scripts.calls[0].keys == [
        KEYS.acks(BROKER, "payments"),
        KEYS.messages("payments"),
        KEYS.queue("payments"),
        KEYS.wake("payments"),
        KEYS.runs("payments"),
    ]
    assert delivery.fate is Fate.PUT_BACK


def test_put_back_gives_up_when_the_worker_stops_leaving_it_for_recovery() -> None:
    w = world()
    w.scripts.script("put_back").fail_always = redis.ConnectionError("down")
    w.settlement.stop()
    delivery = w.delivery(Paid())
    w.settlement.put_back(delivery, redis.ConnectionError("down"))
    assert delivery.fate is Fate.LEFT_IN_FLIGHT


def test_nothing_is_put_back_once_a_fate_was_written() -> None:
    w = world()
    delivery = w.delivery(Paid())
    delivery.succeeded(timedelta(0))
    w.settlement.put_back(delivery, RuntimeError("an observer blew up afterwards"))
    assert w.scripts.names == ["complete"]


def test_a_body_the_consumer_cannot_hand_out_is_dead_lettered_from_this_workers_acks() -> None:
    w = world()
    w.settlement.quarantine("payments", "r9", b"{not json", "undecodable: nope")
    assert w.scripts.names == ["dead_letter"]
    call = w.scripts.calls[0]
    assert call.keys[:2] == [KEYS.acks(BROKER, "payments"), KEYS.messages("payments")]
    assert call.args[0] == "r9"
    assert call.args[10] == KEYS.stats_template
    assert [d.reason for d in w.observer.dead] == [DeadLetterReason.UNDECODABLE]


# --- the actor goes one way through the settlement ---------------------------------------------


def deliver(w: World, event: DomainEvent, *, handler: str = "unit.pay", attempt: int = 1) -> None:
    """Run the actor as a worker thread does, on a message built by hexbus and read by the
    fetcher."""
    message = build_message(
        queue="payments",
        handler=handler,
        envelope_json=EventSerializer().dumps(event),
        event_id=str(event.event_id),
        now_ms=0,
        attempt=attempt,
    )
    item = read(message.body.encode(), queue="payments", redis_id="r1")
    assert not isinstance(item, Refused)
    deliverer = Deliverer(
        processor=w.processor,
        serializer=EventSerializer(),
        runner=HandlerRunner(w.observer, w.clock, enforce_timeout=True),
        settlement=w.settlement,
    )
    deliverer.deliver(item)


def test_the_actor_runs_start_handler_complete_and_nothing_else() -> None:
    w = world()
    handler = RecordingHandler()
    register(w, handler)
    deliver(w, Paid())
    assert handler.calls == 1
    assert w.scripts.names == ["start", "complete"], "one script before, one after"


def test_redis_lost_while_completing_puts_the_message_back() -> None:
    w = world()
    handler = RecordingHandler()
    register(w, handler)
    w.scripts.script("complete").failures.append(redis.ConnectionError("gone"))
    deliver(w, Paid())
    assert w.scripts.names == ["start", "complete", "put_back"]


def test_a_failing_handler_is_deferred_by_the_settlement() -> None:
    w = world()
    register(w, AlwaysFailingHandler())
    deliver(w, Paid(), attempt=1)
    assert w.scripts.names == ["start", "defer"]


def test_an_unknown_handler_is_dead_lettered_without_running_anything() -> None:
    w = world()
    register(w)
    deliver(w, Paid(), handler="unit.nobody")
    assert w.scripts.names == ["dead_letter"]
    assert [d.reason for d in w.observer.dead] == [DeadLetterReason.UNKNOWN_HANDLER]


def test_a_message_whose_workers_died_too_often_is_dead_lettered_instead_of_run() -> None:
    w = world()
    register(w)
    event = Paid()
    delivery = w.delivery(event)
    w.scripts.script("start").answers.append(-3)  # start.lua: 3 starts never settled
    with pytest.raises(WorkerDeaths) as raised:
        delivery.begin()
    w.settlement.put_back(delivery, raised.value, envelope_of(event))
    assert w.scripts.names == ["start", "dead_letter"]
    [dead] = w.observer.dead
    assert dead.reason is DeadLetterReason.WORKER_DIED
    assert dead.error == "worker died while handling it 3 times"
    assert dead.handler == "unit.pay"
    assert dead.event_id == event.event_id
    assert w.scripts.calls[1].keys[6] == KEYS.runs("payments"), "its start count is cleared"
    assert delivery.fate is Fate.DEAD


def test_a_step_redis_refuses_is_dead_lettered_with_its_answer_not_put_back_forever() -> None:
    w = world()
    register(w)
    event = Paid()
    delivery = w.delivery(event)
    refused = redis.ResponseError("HEXBUS_WRONGTYPE unit:status:x is a string, not a hash")
    w.settlement.put_back(delivery, refused, envelope_of(event))
    assert w.scripts.names == ["dead_letter"]
    [dead] = w.observer.dead
    assert dead.reason is DeadLetterReason.UNSETTLEABLE
    assert "is a string, not a hash" in dead.error


def test_a_quarantined_body_is_kept_bounded_and_its_error_holds_none_of_it() -> None:
    w = world()
    body = b"\xff" + b"x" * (MAX_KEPT_BODY * 2)
    w.settlement.quarantine("payments", b"\xfe\xff", body, "its body is not UTF-8 (byte 0)")
    [dead] = w.observer.dead
    assert w.scripts.calls[0].args[0] == b"\xfe\xff", "the raw id is what leaves the acks set"
    assert len(json.dumps(dead.message)) <= MAX_KEPT_BODY
    assert dead.message.startswith("\\xffxxx")
    assert dead.error.startswith("its body is not UTF-8 (byte 0); body cut to its first ")
    assert dead.error.endswith(f" characters of {len(body):,} bytes")
    assert "xxx" not in dead.error

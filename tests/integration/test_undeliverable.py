"""On a real Redis with a real worker runtime: nothing fetched is stranded, and everything
that cannot be delivered is dead-lettered once with its reason (ADR 0017, 0018).

Malformed items are written into a queue as another program (or a bug) would: an id on the
queue's list and a body in its hash. Good events are published around them.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import timedelta

import attrs
import pytest
import redis

from hexbus import DomainEvent, DomainEventsProcessor
from hexbus.adapters.dramatiq import DramatiqEventBus, MaintenanceTimings, RedisKeys, WorkerRuntime
from hexbus.adapters.dramatiq.maintenance import Maintenance
from hexbus.adapters.dramatiq.messages import schedule_entry
from hexbus.adapters.dramatiq.monitor import RedisQueueMonitor
from hexbus.domain.serialization import EventSerializer
from hexbus.ports.dead_letters import DeadLetter, DeadLetterReason
from hexbus.testing.dramatiq_harness import declare_routes
from hexbus.testing.redis_server import RedisServer

from .conftest import wait_for

pytestmark = pytest.mark.redis

TIMINGS = MaintenanceTimings(
    heartbeat_interval=timedelta(milliseconds=100),
    heartbeat_timeout=timedelta(seconds=1),
    recover_interval=timedelta(milliseconds=100),
)


@attrs.frozen(kw_only=True)
class Note(DomainEvent):
    event_type = "it.undeliverable.note"
    n: int = 0


@attrs.define
class World:
    client: redis.Redis
    keys: RedisKeys
    processor: DomainEventsProcessor
    bus: DramatiqEventBus
    handled: list[int]
    runtimes: list[WorkerRuntime] = attrs.field(factory=list)

    def start(self, queues: tuple[str, ...] = ("work",), **options: object) -> WorkerRuntime:
        runtime = WorkerRuntime(
            processor=self.processor,
            client=self.client,
            queues=queues,
            threads=4,
            keys=self.keys,
            timings=TIMINGS,
            idle_timeout=timedelta(milliseconds=100),
            **options,  # type: ignore[arg-type]
        )
        runtime.start()
        self.runtimes.append(runtime)
        return runtime

    def inject(self, redis_id: bytes | str, body: bytes, queue: str = "work") -> None:
        self.client.hset(self.keys.messages(queue), redis_id, body)  # type: ignore[arg-type]
        self.client.rpush(self.keys.queue(queue), redis_id)

    def dead(self) -> list[DeadLetter]:
        return list(self.bus.dead_letters.list(limit=1000).items)

    def queued_ids(self, queue: str = "work") -> list[str]:
        return [i.decode() for i in self.client.lrange(self.keys.queue(queue), 0, -1)]


@pytest.fixture
def world(redis_server: RedisServer, namespace: str) -> Iterator[World]:
    client = redis_server.client()
    keys = RedisKeys(namespace)
    processor = DomainEventsProcessor()
    handled: list[int] = []
    processor.register_handler(Note, lambda e: handled.append(e.n), name="it.note", queue="work")
    declare_routes(client, keys, processor)
    w = World(client, keys, processor, DramatiqEventBus(processor, client, keys=keys), handled)
    yield w
    for runtime in w.runtimes:
        runtime.stop(timedelta(seconds=2))


def message(handler: str = "it.note", envelope: object = None, **changes: object) -> bytes:
    fields = {
        "queue_name": "work",
        "actor_name": "hexbus_deliver",
        "args": [handler, envelope if envelope is not None else {}],
        "kwargs": {},
        "options": {"hexbus_attempt": 1},
        "message_id": "m",
        "message_timestamp": 1,
    }
    fields.update(changes)
    return json.dumps(fields).encode()


def test_malformed_items_are_dead_lettered_with_their_reason_and_their_batch_goes_on(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    malformed = {
        "empty": b"",
        "not-json": b"{nope",
        "options-list": message(options=[1]),
        "args-string": message(args="it.note"),
        "kwargs-list": message(kwargs=[1]),
        "missing-arg": message(args=["it.note"]),
        "extra-arg": message(args=["it.note", {}, 3]),
        "huge": b"\x00" * 1_000_000,
    }
    for n in range(5):
        world.bus.publish(Note(n=n))
    world.inject(b"\xff\xfebad-id", message())
    for name, body in malformed.items():
        world.inject(name, body)
    for n in range(5, 10):
        world.bus.publish(Note(n=n))
    with caplog.at_level(logging.WARNING):
        world.start()
        wait_for(lambda: len(world.handled) == 10, timeout=15, what="every good event")
        wait_for(lambda: len(world.dead()) == 9, timeout=10, what="every malformed item")
    reasons = {d.error for d in world.dead()}
    print(f"good handled {len(world.handled)}, dead letters {len(world.dead())}")
    assert sorted(world.handled) == list(range(10))
    assert "its body is empty" in reasons
    assert "its message id (8 bytes) is not UTF-8" in reasons
    assert "its options is a JSON array, not object" in reasons
    assert "its args is a JSON string, not array" in reasons
    assert "its kwargs is a JSON array, not object" in reasons
    assert any("takes 2 arguments" in r and "given 1" in r for r in reasons)
    assert any("takes 2 arguments" in r and "given 3" in r for r in reasons)
    huge = next(d for d in world.dead() if "not JSON" in d.error and len(d.message) > 100)
    assert "body cut to its first 10,921 characters of 1,000,000 bytes" in huge.error
    assert len(huge.message) <= 65_536 * 4
    assert {d.reason for d in world.dead()} == {DeadLetterReason.UNDECODABLE}
    assert not [r for r in caplog.records if r.levelno >= logging.CRITICAL], "no consumer restart"
    assert "\\x00\\x00\\x00" not in caplog.text, "no body in the logs"
    runtime = world.runtimes[0]
    acks, bodies = world.keys.acks(runtime.broker_id, "work"), world.keys.messages("work")
    # A handler runs before its success is recorded: wait for the last record.
    wait_for(
        lambda: world.client.scard(acks) == 0 and world.client.hlen(bodies) == 0,
        timeout=10,
        what="nothing left in flight or stored",
    )


def test_a_wrong_typed_status_or_ledger_key_dead_letters_the_message_once(world: World) -> None:
    status_broken, ledger_broken, fine = Note(n=1), Note(n=2), Note(n=3)
    for event in (status_broken, ledger_broken, fine):
        world.bus.publish(event)
    world.client.set(world.keys.status(status_broken.event_id), "not a hash")
    world.client.rpush(world.keys.done(ledger_broken.event_id), "not a hash")
    world.start()
    wait_for(lambda: len(world.dead()) == 2, timeout=10, what="two dead letters")
    wait_for(lambda: world.handled == [3], timeout=10, what="the good event")
    time.sleep(0.5)
    dead = {d.event_id: d for d in world.dead()}
    assert len(world.dead()) == 2, "dead-lettered once, not requeued"
    for event in (status_broken, ledger_broken):
        assert dead[event.event_id].reason is DeadLetterReason.UNSETTLEABLE
        assert "HEXBUS_WRONGTYPE" in dead[event.event_id].error
    assert world.queued_ids() == []


def test_a_start_count_that_is_not_a_number_dead_letters_its_message_and_writes_nothing(
    world: World,
) -> None:
    corrupt, fine = Note(n=1), Note(n=2)
    world.bus.publish(corrupt)
    [corrupt_id] = world.queued_ids()
    world.bus.publish(fine)
    world.client.hset(world.keys.runs("work"), corrupt_id, "many")
    world.start()
    wait_for(lambda: len(world.dead()) == 1, timeout=10, what="one dead letter")
    wait_for(lambda: world.handled == [2], timeout=10, what="the good event")
    [dead] = world.dead()
    assert dead.event_id == corrupt.event_id
    assert dead.reason is DeadLetterReason.UNSETTLEABLE
    assert "HEXBUS_BADVALUE" in dead.error
    assert "not an integer" in dead.error
    status = world.client.hgetall(world.keys.status(corrupt.event_id))
    assert b"it.note|st" not in status, "never marked running"
    assert world.client.hget(world.keys.done(corrupt.event_id), "it.note") is None


def test_a_queue_whose_keys_hold_the_wrong_type_is_contained_and_reported(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.client.set(world.keys.messages("broken"), "not a hash")
    world.client.rpush(world.keys.queue("broken"), "id-1", "id-2")
    # A dead broker's acks sets: one for the broken queue, one for a good queue.
    world.client.sadd(world.keys.acks("ghost", "broken"), "id-0")
    world.bus.publish(Note(n=7))
    [stranded] = world.queued_ids()
    world.client.lpop(world.keys.queue("work"))
    world.client.sadd(world.keys.acks("ghost", "work"), stranded)
    world.client.sadd(world.keys.acks_registry, "ghost|broken", "ghost|work")
    with caplog.at_level(logging.ERROR):
        world.start(queues=("work", "broken"))
        wait_for(lambda: world.handled == [7], timeout=10, what="the good queue's message")
        world.bus.publish(Note(n=8))
        wait_for(lambda: world.handled == [7, 8], timeout=10, what="the next one")
    assert world.client.llen(world.keys.queue("broken")) == 2, "nothing popped and stranded"
    assert world.client.sismember(world.keys.acks_registry, "ghost|broken")
    assert "cannot be consumed" in caplog.text
    assert "cannot recover" in caplog.text
    monitor = RedisQueueMonitor(world.client, world.keys, world.processor, world.bus.dead_letters)
    world.client.set(world.keys.stats("broken"), "not a hash")
    stats = {s.queue: s for s in monitor.queue_stats()}
    assert stats["broken"].problem is not None
    assert "WRONGTYPE" in stats["broken"].problem
    assert stats["work"].problem is None
    assert stats["work"].succeeded == 2


def test_a_worker_whose_own_acks_set_is_broken_waits_reported_and_goes_on_once_fixed(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    acks = world.keys.acks("fixed-later", "work")
    world.client.set(acks, "not a set")
    world.bus.publish(Note(n=3))
    with caplog.at_level(logging.ERROR):
        world.start(queues=("work",), broker_id="fixed-later")
        time.sleep(1.0)
        assert world.handled == [], "nothing taken while its acks set cannot hold it"
        world.client.delete(acks)
        wait_for(lambda: world.handled == [3], timeout=10, what="the message, once fixed")
    assert "cannot be consumed" in caplog.text
    looping = [r for r in caplog.records if "worker thread caught" in r.getMessage()]
    assert not looping, "reported, not raised out of a thread again and again"


def test_ids_stranded_in_a_live_workers_acks_set_are_given_back(world: World) -> None:
    # A fetch whose move into the acks set survived and whose reply was lost, at start...
    world.bus.publish(Note(n=1))
    [first] = world.queued_ids()
    world.client.delete(world.keys.queue("work"))
    world.client.sadd(world.keys.acks("same-broker", "work"), first)
    runtime = world.start(broker_id="same-broker")
    wait_for(lambda: world.handled == [1], timeout=10, what="the id stranded before start")
    # ...and while it runs, under its live heartbeat: a clean stop gives it back.
    world.bus.publish(Note(n=2))
    wait_for(lambda: world.handled == [1, 2], timeout=10, what="the next event")
    world.client.hset(world.keys.messages("work"), "late", message(envelope={}))
    world.client.sadd(world.keys.acks("same-broker", "work"), "late")
    runtime.stop(timedelta(seconds=2))
    world.runtimes.remove(runtime)
    assert world.queued_ids() == ["late"]
    assert world.client.scard(world.keys.acks("same-broker", "work")) == 0
    assert world.client.zscore(world.keys.heartbeats, "same-broker") is None
    assert not world.client.sismember(world.keys.acks_registry, "same-broker|work")


def test_the_acks_set_of_a_broker_whose_heartbeat_is_gone_is_recovered(world: World) -> None:
    world.bus.publish(Note(n=5))
    [stranded] = world.queued_ids()
    world.client.delete(world.keys.queue("work"))
    world.client.sadd(world.keys.acks("vanished", "work"), stranded)
    world.client.sadd(world.keys.acks_registry, "vanished|work")  # as its fetch did
    started = time.monotonic()
    world.start()
    wait_for(lambda: world.handled == [5], timeout=10, what="the stranded message")
    print(f"recovered and handled in {time.monotonic() - started:.2f}s")
    assert not world.client.exists(world.keys.acks("vanished", "work"))


def test_a_message_workers_died_running_too_often_is_dead_lettered_not_run(world: World) -> None:
    doomed = Note(n=1)
    world.bus.publish(doomed)
    [redis_id] = world.queued_ids()
    world.client.hset(world.keys.runs("work"), redis_id, 2)  # two starts never settled
    world.bus.publish(Note(n=2))
    world.start(max_worker_deaths=2)
    wait_for(lambda: len(world.dead()) == 1, timeout=10, what="the dead letter")
    wait_for(lambda: world.handled == [2], timeout=10, what="the other event")
    [dead] = world.dead()
    assert dead.reason is DeadLetterReason.WORKER_DIED
    assert dead.error == "worker died while handling it 2 times"
    assert dead.event_id == doomed.event_id
    assert dead.handler == "it.note"
    # The handler ran before its success was recorded: wait for that record to clear its count.
    runs = world.keys.runs("work")
    wait_for(lambda: world.client.hlen(runs) == 0, timeout=10, what="every run's count cleared")


def test_a_due_entry_whose_queue_keys_hold_the_wrong_type_waits_and_blocks_no_other(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.client.set(world.keys.messages("broken"), "not a hash")
    now_ms = int(time.time() * 1000)
    for entry, queue in (("e-broken", "broken"), ("e-good", "work")):
        event = Note(n=9)
        item = schedule_entry(
            event_id=str(event.event_id),
            event_type=event.event_type,
            envelope_json=EventSerializer().dumps(event),
            handlers=[(queue, "it.note", 1)],
            published_ms=now_ms,
            new_event=True,
            track=True,
        )
        world.client.hset(world.keys.schedule_items, entry, item)
        world.client.zadd(world.keys.schedule, {entry: now_ms - 1})
    mover = Maintenance(world.client, world.keys, broker_id="mover", queues=["work"])
    with caplog.at_level(logging.ERROR):
        assert mover.move_due() == 1
    assert world.client.llen(world.keys.queue("work")) == 1, "the good entry moved"
    later = world.client.zscore(world.keys.schedule, "e-broken")
    assert later is not None
    assert later > now_ms + 50_000, "the blocked one waits a minute, kept"
    assert "cannot move schedule entry e-broken" in caplog.text

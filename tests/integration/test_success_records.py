"""Many successes recorded in one ``complete.lua`` call (group commit, ADR 0019) keep every
record exact: each handler's ledger entry and status, the queue's counts, the messages taken
out of flight, and the newest-N retention of succeeded statuses with the older records deleted.

The handlers are held at a gate until every thread has one, then let go together, so the
successes arrive while a call is on the wire and go many to a call.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import attrs
import pytest
import redis

from hexbus import DomainEvent, DomainEventsProcessor
from hexbus.adapters.dramatiq import DramatiqEventBus, RedisKeys, WorkerRuntime
from hexbus.adapters.dramatiq.monitor import RedisQueueMonitor
from hexbus.adapters.dramatiq.tracking import Tracking
from hexbus.ports.monitoring import HandlerState
from hexbus.testing.dramatiq_harness import declare_routes
from hexbus.testing.redis_server import RedisServer

from .conftest import settled, wait_for

pytestmark = pytest.mark.redis

THREADS = 8
KEEP = 10


@attrs.frozen(kw_only=True)
class Paired(DomainEvent):
    """Two handlers on one queue: its status is complete only when both succeeded."""

    event_type = "it.success_records.paired"
    n: int = 0


@attrs.frozen(kw_only=True)
class Single(DomainEvent):
    event_type = "it.success_records.single"
    n: int = 0


@attrs.define
class World:
    client: redis.Redis
    keys: RedisKeys
    bus: DramatiqEventBus
    monitor: RedisQueueMonitor
    processor: DomainEventsProcessor
    runs: list[str]
    runtime: WorkerRuntime | None = None

    def settled(self) -> bool:
        assert self.runtime is not None
        acks = self.keys.acks(self.runtime.broker_id, "records")
        return settled(self.client, self.keys, "records", acks)


@pytest.fixture
def world(redis_server: RedisServer, namespace: str) -> Iterator[World]:
    client = redis_server.client()
    keys = RedisKeys(namespace)
    processor = DomainEventsProcessor()
    runs: list[str] = []
    lock = threading.Lock()
    # Every thread's handler waits here until all THREADS have one: their successes then
    # reach the group commit together.
    together = threading.Barrier(THREADS, timeout=1)

    def handler(name: str) -> object:
        def run(event: Paired | Single) -> None:
            try:
                together.wait()
            except threading.BrokenBarrierError:
                together.reset()  # the tail of the queue: fewer than THREADS left
            with lock:
                runs.append(f"{name}:{event.n}")

        return run

    processor.register_handler(Paired, handler("left"), name="it.left", queue="records")
    processor.register_handler(Paired, handler("right"), name="it.right", queue="records")
    processor.register_handler(Single, handler("single"), name="it.single", queue="records")
    declare_routes(client, keys, processor)
    bus = DramatiqEventBus(processor, client, keys=keys)
    monitor = RedisQueueMonitor(client, keys, processor, bus.dead_letters)
    w = World(client, keys, bus, monitor, processor, runs)
    yield w
    if w.runtime is not None:
        w.runtime.stop(timedelta(seconds=5))


def test_successes_recorded_many_to_a_call_keep_every_record_and_the_newest_n(
    world: World,
) -> None:
    paired = [Paired(n=i) for i in range(30)]
    single = [Single(n=i) for i in range(20)]
    world.bus.publish_all([*paired, *single])
    world.runtime = WorkerRuntime(
        processor=world.processor,
        client=world.client,
        queues=("records",),
        threads=THREADS,
        keys=world.keys,
        idle_timeout=timedelta(milliseconds=100),
        tracking=Tracking(succeeded_keep=KEEP),
    )
    world.runtime.start()
    wait_for(lambda: len(world.runs) >= 80 and world.settled(), timeout=60, what="all handled")

    assert len(world.runs) == len(set(world.runs)) == 80, "each handler once per event"
    [stats] = [s for s in world.monitor.queue_stats() if s.queue == "records"]
    assert (stats.succeeded, stats.failed, stats.running, stats.waiting) == (80, 0, 0, 0)
    assert stats.mean_duration is not None
    for event in paired:
        assert set(world.client.hkeys(world.keys.done(event.event_id))) == {
            b"it.left",
            b"it.right",
        }
    for event in single:
        assert world.client.hkeys(world.keys.done(event.event_id)) == [b"it.single"]

    recent = [r.decode() for r in world.client.zrange(world.keys.recent, 0, -1)]
    assert len(recent) == KEEP, "trimmed to the newest N"
    kept = [e for e in (*paired, *single) if world.client.exists(world.keys.status(e.event_id))]
    assert sorted(str(e.event_id) for e in kept) == sorted(recent), "older statuses deleted"
    for event in kept:
        status = world.monitor.event_status(event.event_id)
        assert status is not None
        assert {h.state for h in status.handlers} == {HandlerState.SUCCEEDED}
        assert len(status.handlers) == (2 if isinstance(event, Paired) else 1)
        ttl = world.client.pttl(world.keys.status(event.event_id))
        assert 0 < ttl <= timedelta(hours=24).total_seconds() * 1000, "succeeded retention"

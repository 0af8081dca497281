"""A worker starts each fetched batch in one round trip (ADR 0019), and loses nothing of what
starting one message at a time kept: it takes no more than it has idle threads, each handler
runs once, a redelivery of a handler that already succeeded is skipped, the status says
running and then succeeded, and the start counts are cleared."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import attrs
import pytest
import redis

from hexbus import DomainEvent, DomainEventsProcessor
from hexbus.adapters.dramatiq import DramatiqEventBus, RedisKeys, WorkerRuntime
from hexbus.adapters.dramatiq.monitor import RedisQueueMonitor
from hexbus.ports.monitoring import HandlerState
from hexbus.testing.dramatiq_harness import declare_routes
from hexbus.testing.redis_server import RedisServer

from .conftest import settled, wait_for

pytestmark = pytest.mark.redis


@attrs.frozen(kw_only=True)
class Tick(DomainEvent):
    event_type = "it.start_at_fetch.tick"
    n: int = 0


@attrs.define
class World:
    client: redis.Redis
    keys: RedisKeys
    bus: DramatiqEventBus
    monitor: RedisQueueMonitor
    processor: DomainEventsProcessor
    runs: list[int]
    gate: threading.Event
    runtimes: list[WorkerRuntime] = attrs.field(factory=list)

    def start(self, queues: tuple[str, ...] = ("ticks",)) -> WorkerRuntime:
        runtime = WorkerRuntime(
            processor=self.processor,
            client=self.client,
            queues=queues,
            threads=4,
            keys=self.keys,
            idle_timeout=timedelta(milliseconds=100),
        )
        runtime.start()
        self.runtimes.append(runtime)
        return runtime

    def settled(self) -> bool:
        return settled(self.client, self.keys, "ticks")


@pytest.fixture
def world(redis_server: RedisServer, namespace: str) -> Iterator[World]:
    client = redis_server.client()
    keys = RedisKeys(namespace)
    processor = DomainEventsProcessor()
    runs: list[int] = []
    gate = threading.Event()
    gate.set()
    lock = threading.Lock()

    def tick(event: Tick) -> None:
        gate.wait(10)
        with lock:
            runs.append(event.n)

    processor.register_handler(Tick, tick, name="it.tick", queue="ticks")
    processor.register_handler(Tick, lambda e: None, name="it.tock", queue="tocks")
    declare_routes(client, keys, processor)
    bus = DramatiqEventBus(processor, client, keys=keys)
    monitor = RedisQueueMonitor(client, keys, processor, bus.dead_letters)
    w = World(client, keys, bus, monitor, processor, runs, gate)
    yield w
    gate.set()
    for runtime in w.runtimes:
        runtime.stop(timedelta(seconds=5))


def test_a_worker_takes_no_more_than_its_threads_across_its_queues(world: World) -> None:
    world.gate.clear()
    world.bus.publish_all([Tick(n=i) for i in range(10)])
    runtime = world.start(("ticks", "tocks"))
    acks = world.keys.acks(runtime.broker_id, "ticks")
    wait_for(lambda: world.client.scard(acks) == 4, timeout=10, what="4 taken")
    time.sleep(0.3)  # time for a fetch too many, if one were made
    assert world.client.scard(acks) == 4, "one per thread, none held back behind them"
    assert world.client.llen(world.keys.queue("ticks")) == 6
    world.gate.set()
    wait_for(lambda: len(world.runs) >= 10 and world.settled(), timeout=20, what="all handled")
    assert sorted(world.runs) == list(range(10)), "each once"


def test_every_handler_runs_once_and_its_start_count_is_cleared(world: World) -> None:
    events = [Tick(n=i) for i in range(60)]
    world.bus.publish_all(events)
    world.start()
    wait_for(lambda: len(world.runs) >= 60 and world.settled(), timeout=20, what="all handled")
    assert sorted(world.runs) == list(range(60)), "each once"
    status = world.monitor.event_status(events[7].event_id)
    assert status is not None
    tick = next(h for h in status.handlers if h.handler == "it.tick")
    assert tick.state is HandlerState.SUCCEEDED
    assert tick.attempts == 1


def test_the_status_says_running_while_the_handler_runs(world: World) -> None:
    world.gate.clear()
    event = Tick(n=1)
    world.bus.publish(event)
    world.start()

    def state() -> HandlerState | None:
        status = world.monitor.event_status(event.event_id)
        if status is None:
            return None
        return next(h.state for h in status.handlers if h.handler == "it.tick")

    wait_for(lambda: state() is HandlerState.RUNNING, timeout=10, what="running")
    world.gate.set()
    wait_for(lambda: state() is HandlerState.SUCCEEDED, timeout=10, what="succeeded")


def test_a_redelivery_of_a_handler_that_succeeded_is_skipped(world: World) -> None:
    event = Tick(n=5)
    world.bus.publish(event)
    messages = world.keys.messages("ticks")
    redis_id = world.client.lindex(world.keys.queue("ticks"), 0)
    body = world.client.hget(messages, redis_id)  # type: ignore[arg-type]
    world.start()
    wait_for(lambda: world.runs == [5] and world.settled(), timeout=10, what="handled once")
    # The same message again, as recovery would return it: in a batch of fresh ones.
    world.bus.publish_all([Tick(n=10), Tick(n=11)])
    world.client.hset(messages, "again", body)  # type: ignore[arg-type]
    world.client.rpush(world.keys.queue("ticks"), "again")
    wait_for(lambda: len(world.runs) >= 3 and world.settled(), timeout=10, what="the batch")
    assert sorted(world.runs) == [5, 10, 11], "the redelivery was skipped, not run again"


def test_an_idle_worker_goes_on_after_redis_lost_its_scripts(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """The idle wait queues fetch.lua by its SHA alone; a Redis that lost its scripts (as
    after a restart) answers that with NOSCRIPT, which is not a broken queue."""
    world.start()
    world.bus.publish(Tick(n=1))
    wait_for(lambda: world.runs == [1] and world.settled(), timeout=10, what="the first")
    time.sleep(0.3)  # the worker waits on its doorbell, the fetch queued behind the wait
    world.client.script_flush()
    with caplog.at_level("ERROR", logger="hexbus"):
        world.bus.publish(Tick(n=2))
        wait_for(lambda: world.runs == [1, 2] and world.settled(), timeout=10, what="the next")
    assert not [r for r in caplog.records if "cannot be consumed" in r.getMessage()]

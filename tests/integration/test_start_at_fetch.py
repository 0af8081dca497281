"""A worker starts each fetched batch in one round trip (ADR 0019), and loses nothing of what
starting one message at a time kept: it takes no more than it has idle threads, each handler
runs once, a redelivery of a handler that already succeeded is skipped, the status says
running and then succeeded, and the start counts are cleared."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta

import attrs
import pytest
import redis

from hexbus import DomainEvent, DomainEventsProcessor
from hexbus.adapters.dramatiq import DramatiqEventBus, RedisKeys, WorkerRuntime
from hexbus.adapters.dramatiq.fetcher import MISREAD, QueueFetcher
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


# --- fetch.lua starts what it takes (ADR 0019) -----------------------------------------------


def _fetcher(world: World) -> tuple[WorkerRuntime, QueueFetcher]:
    """A runtime's parts, not started, and a fetcher of "ticks" over them."""
    runtime = WorkerRuntime(
        processor=world.processor,
        client=world.client,
        queues=("ticks",),
        threads=4,
        keys=world.keys,
    )
    return runtime, QueueFetcher(runtime.broker, runtime.settlement, "ticks")


def _now_ms() -> int:
    return int(time.time() * 1000)


def _evalsha_calls(client: redis.Redis) -> int:
    return int(client.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0))


def test_the_fetch_starts_what_it_takes_so_a_batch_needs_no_start_call(world: World) -> None:
    events = [Tick(n=i) for i in range(3)]
    world.bus.publish_all(events)
    runtime, fetcher = _fetcher(world)
    fetcher.prepare()  # the reconcile every first fetch makes, a call of its own
    world.client.config_resetstat()
    taken, items = fetcher.fetch(10, _now_ms())
    assert (len(taken), items) == (3, 3)
    runtime.settlement.start_all(taken)
    assert _evalsha_calls(world.client) == 1, "one fetch.lua, and start.lua not at all"
    runs = world.client.hgetall(world.keys.runs("ticks"))
    assert runs == {item.redis_id.encode(): b"1" for item in taken}, "each start counted once"
    for event in events:
        status = world.monitor.event_status(event.event_id)
        assert status is not None
        tick = next(h for h in status.handlers if h.handler == "it.tick")
        assert tick.state is HandlerState.RUNNING
        assert {h.handler for h in status.handlers} == {"it.tick", "it.tock"}


def _with_extra_field(body: bytes) -> bytes:
    fields = json.loads(body)
    fields["extra"] = 1
    return json.dumps(fields).encode()


def _with_bytes_not_utf8(body: bytes) -> bytes:
    return body.replace(b'"payload":{', b'"payload":{"x":"\xff",', 1)


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        (_with_extra_field, "its body has 1 field(s) a Dramatiq message does not have"),
        (_with_bytes_not_utf8, "its body is not UTF-8 (byte "),
    ],
)
def test_a_body_the_fetch_started_and_the_worker_refuses_is_dead_with_its_status(
    world: World, spoil: Callable[[bytes], bytes], reason: str
) -> None:
    """fetch.lua reads less of a body than the worker does: a body with a field a Dramatiq
    message does not have, or with bytes that are not UTF-8 in a string, is started by the
    script, then refused by the worker; its dead letter says why, its handler's status says
    dead, its start count is gone."""
    event = Tick(n=1)
    world.bus.publish(event)
    redis_id = world.client.lindex(world.keys.queue("ticks"), 0)
    assert redis_id is not None
    messages = world.keys.messages("ticks")
    body = world.client.hget(messages, redis_id)  # type: ignore[arg-type]
    assert isinstance(body, bytes)
    world.client.hset(messages, redis_id, spoil(body))  # type: ignore[arg-type]
    _, fetcher = _fetcher(world)
    taken, items = fetcher.fetch(10, _now_ms())
    assert (taken, items) == ([], 1)
    letters = world.bus.dead_letters.list().items
    assert len(letters) == 1
    assert letters[0].error.startswith(reason)
    status = world.monitor.event_status(event.event_id)
    assert status is not None
    tick = next(h for h in status.handlers if h.handler == "it.tick")
    assert tick.state is HandlerState.DEAD
    assert world.client.hlen(world.keys.runs("ticks")) == 0
    assert world.settled()


def test_a_fetch_whose_reply_was_lost_goes_back_with_its_starts_undone(world: World) -> None:
    """Ids a fetch took and started whose reply never came (a dropped connection) go back
    to the queue at the next fetch's reconcile, and that start is no worker death: the start
    count is as it was before, deaths that did happen kept."""
    world.bus.publish_all([Tick(n=i) for i in range(2)])
    first, second = (i.decode() for i in world.client.lrange(world.keys.queue("ticks"), 0, -1))
    runs = world.keys.runs("ticks")
    world.client.hset(runs, second, 2)  # two worker deaths running it already
    _, fetcher = _fetcher(world)
    fetcher.prepare()
    fetcher.call(10, _now_ms())  # the reply is lost: nothing of it is read or held
    assert world.client.hgetall(runs) == {first.encode(): b"1", second.encode(): b"3"}
    fetcher.lost_connection()
    fetcher.prepare()
    assert sorted(world.client.lrange(world.keys.queue("ticks"), 0, -1)) == sorted(
        [first.encode(), second.encode()]
    ), "both back in the queue"
    assert world.client.hgetall(runs) == {second.encode(): b"2"}
    taken, _ = fetcher.fetch(10, _now_ms())
    assert sorted(item.redis_id for item in taken) == sorted([first, second])
    assert world.client.hgetall(runs) == {first.encode(): b"1", second.encode(): b"3"}


def test_a_message_the_fetch_started_for_another_event_than_the_worker_reads_is_refused(
    world: World,
) -> None:
    """The worker checks what the script started against its own reading of the body: a
    reply that names another event (as a JSON dialect the two read differently could) is
    refused with that reason, not run under the wrong status."""
    world.bus.publish(Tick(n=1))
    queue = world.keys.queue("ticks")
    redis_id = world.client.lpop(queue)
    assert isinstance(redis_id, bytes)
    body = world.client.hget(world.keys.messages("ticks"), redis_id)  # type: ignore[arg-type]
    _, fetcher = _fetcher(world)
    other = str(uuid.uuid4()).encode()
    taken, items = fetcher.read([redis_id, body, [0, other, b"it.tick"]])
    assert (taken, items) == ([], 1)
    assert [letter.error for letter in world.bus.dead_letters.list().items] == [MISREAD]

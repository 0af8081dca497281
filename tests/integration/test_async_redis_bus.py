"""The async Redis bus beside the sync one, and coroutine handlers on real workers.

One Redis, one namespace: what the async publisher writes the sync one deduplicates against
and the workers run, with ``async def`` and plain handlers on one event (ADR 0022, 0023).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import attrs
import pytest
import redis

from hexbus import (
    DomainEvent,
    DomainEventsProcessor,
    EventBusRejected,
    EventBusUnavailable,
    HandlerTimeout,
    PublishOutcome,
)
from hexbus.adapters.dramatiq import (
    AsyncDramatiqEventBus,
    DramatiqEventBus,
    RedisKeys,
    WorkerRuntime,
    handler_queues,
)
from hexbus.adapters.dramatiq.connection import connect_async
from hexbus.adapters.dramatiq.maintenance import MaintenanceTimings
from hexbus.adapters.dramatiq.monitor import RedisQueueMonitor
from hexbus.container import create_container
from hexbus.testing.dramatiq_harness import declare_routes
from hexbus.testing.redis_server import RedisServer

from .conftest import wait_for

pytestmark = pytest.mark.redis


@attrs.frozen(kw_only=True)
class Visit(DomainEvent):
    event_type = "it.async.visit"
    n: int = 0


class Recorder:
    """What the handlers saw: event numbers and thread names per handler, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.runs: dict[str, list[int]] = {}
        self.threads: dict[str, set[str]] = {}
        self.in_flight = 0
        self.most_in_flight = 0

    def saw(self, handler: str, event: Visit) -> None:
        with self._lock:
            self.runs.setdefault(handler, []).append(event.n)
            self.threads.setdefault(handler, set()).add(threading.current_thread().name)

    def enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1


def _runtime(
    processor: DomainEventsProcessor, client: redis.Redis, keys: RedisKeys, threads: int
) -> WorkerRuntime:
    return WorkerRuntime(
        processor=processor,
        client=client,
        keys=keys,
        queues=handler_queues(processor),
        threads=threads,
        timings=MaintenanceTimings(move_interval=timedelta(milliseconds=20)),
        idle_timeout=timedelta(milliseconds=200),
    )


@pytest.fixture
def keys(namespace: str) -> RedisKeys:
    return RedisKeys(namespace)


@pytest.fixture
def started() -> Iterator[list[WorkerRuntime]]:
    runtimes: list[WorkerRuntime] = []
    yield runtimes
    for runtime in runtimes:
        runtime.stop(timedelta(seconds=5))


def test_sync_and_async_publishers_share_dedup_and_reach_mixed_handlers_once(
    redis_server: RedisServer,
    client: redis.Redis,
    keys: RedisKeys,
    started: list[WorkerRuntime],
) -> None:
    seen = Recorder()
    processor = DomainEventsProcessor()

    @processor.handler(Visit, name="it.async.remind", queue="mixed")
    async def remind(event: Visit) -> None:
        await asyncio.sleep(0.01)
        seen.saw("async", event)

    @processor.handler(Visit, name="it.async.bill", queue="mixed")
    def bill(event: Visit) -> None:
        seen.saw("sync", event)

    runtime = _runtime(processor, client, keys, threads=2)
    runtime.start()
    started.append(runtime)
    sync_bus = DramatiqEventBus(DomainEventsProcessor(), client, keys=keys)
    one, two, three = Visit(n=1), Visit(n=2), Visit(n=3)

    async def publish() -> list[PublishOutcome]:
        bus = AsyncDramatiqEventBus(connect_async(redis_server.url), keys=keys)
        try:
            first = await bus.publish(one)
            again = sync_bus.publish(one)  # the sync publisher knows the async one's event
            sync_bus.publish(two)
            batch = await bus.publish_all([two, three])  # and the other way round
            return [first.outcome, again.outcome, *(r.outcome for r in batch)]
        finally:
            await bus.aclose()

    outcomes = asyncio.run(publish())

    assert outcomes == [
        PublishOutcome.ACCEPTED,
        PublishOutcome.DUPLICATE,
        PublishOutcome.DUPLICATE,
        PublishOutcome.ACCEPTED,
    ]
    wait_for(
        lambda: len(seen.runs.get("async", [])) >= 3 and len(seen.runs.get("sync", [])) >= 3,
        timeout=15,
        what="both handlers to get the three events",
    )
    runtime.stop(timedelta(seconds=5))
    started.clear()
    assert sorted(seen.runs["async"]) == [1, 2, 3]
    assert sorted(seen.runs["sync"]) == [1, 2, 3]
    assert seen.threads["async"] == {"hexbus-event-loop"}, "coroutines run on the process loop"
    assert "hexbus-event-loop" not in seen.threads["sync"], "plain handlers stay on threads"


def test_a_queues_concurrency_bounds_its_async_handlers_in_flight(
    redis_server: RedisServer,
    client: redis.Redis,
    keys: RedisKeys,
    started: list[WorkerRuntime],
) -> None:
    seen = Recorder()
    processor = DomainEventsProcessor()

    @processor.handler(Visit, name="it.async.wait", queue="bounded")
    async def wait(event: Visit) -> None:
        seen.enter()
        try:
            await asyncio.sleep(0.05)
        finally:
            seen.leave()
        seen.saw("wait", event)

    declare_routes(client, keys, processor)
    bus = DramatiqEventBus(DomainEventsProcessor(), client, keys=keys)
    bus.publish_all([Visit(n=n) for n in range(12)])
    runtime = _runtime(processor, client, keys, threads=3)
    runtime.start()
    started.append(runtime)

    wait_for(lambda: len(seen.runs.get("wait", [])) == 12, timeout=15, what="12 handler runs")
    assert 1 <= seen.most_in_flight <= 3, f"{seen.most_in_flight} in flight, bound is 3"


def test_an_async_handler_over_its_timeout_is_cancelled_and_dead_lettered(
    client: redis.Redis, keys: RedisKeys, started: list[WorkerRuntime]
) -> None:
    cancelled = threading.Event()
    processor = DomainEventsProcessor()

    @processor.handler(Visit, name="it.async.stuck", queue="stuck", timeout=0.2, max_retries=0)
    async def stuck(event: Visit) -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    runtime = _runtime(processor, client, keys, threads=1)
    runtime.start()
    started.append(runtime)
    DramatiqEventBus(DomainEventsProcessor(), client, keys=keys).publish(Visit(n=1))
    monitor = RedisQueueMonitor(client, keys, processor, runtime.dead_letters)

    wait_for(lambda: runtime.dead_letters.count() == 1, timeout=15, what="a dead letter")
    dead = runtime.dead_letters.list().items[0]
    assert dead.error_type == f"{HandlerTimeout.__module__}.{HandlerTimeout.__qualname__}"
    assert cancelled.is_set(), "the handler was cancelled at its await, not left running"
    assert monitor.queue_stats()[0].queue == "stuck"


def test_async_publish_with_redis_down_raises_unavailable_then_works_again() -> None:
    server = RedisServer().start()
    keys = RedisKeys("asyncdown")

    async def publish() -> PublishOutcome:
        bus = AsyncDramatiqEventBus(
            connect_async(server.url, socket_timeout=0.5),
            keys=keys,
            publish_timeout=timedelta(seconds=1),
        )
        try:
            return (await bus.publish(Visit(n=1))).outcome
        finally:
            await bus.aclose()

    try:
        server.kill()
        with pytest.raises(EventBusUnavailable, match="publishing the same event again is safe"):
            asyncio.run(publish())
        server.start()
        assert server.client().dbsize() == 0, "nothing was half-written"
        assert asyncio.run(publish()) is PublishOutcome.ACCEPTED
    finally:
        server.stop()


def test_async_publish_onto_a_key_of_the_wrong_type_is_rejected_and_not_retried(
    redis_server: RedisServer, client: redis.Redis, keys: RedisKeys
) -> None:
    processor = DomainEventsProcessor()
    processor.register_handler(Visit, lambda event: None, name="it.async.any", queue="wrong")
    declare_routes(client, keys, processor)
    client.set(keys.queue("wrong"), "not a list")  # RPUSH on it fails inside the script
    before = _evalsha_calls(client)

    async def publish() -> None:
        bus = AsyncDramatiqEventBus(connect_async(redis_server.url), keys=keys)
        try:
            await bus.publish(Visit(n=1))
        finally:
            await bus.aclose()

    with pytest.raises(EventBusRejected, match="WRONGTYPE"):
        asyncio.run(publish())
    assert _evalsha_calls(client) - before == 1, "a data error is never retried"


def _evalsha_calls(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))


def test_async_publishing_is_one_script_call_per_event_and_reads_the_table_once(
    redis_server: RedisServer, client: redis.Redis, keys: RedisKeys
) -> None:
    processor = DomainEventsProcessor()
    processor.register_handler(Visit, lambda event: None, name="it.async.one", queue="one")
    declare_routes(client, keys, processor)

    def calls() -> dict[str, int]:
        stats = client.info("commandstats")
        return {
            name: int(stats.get(f"cmdstat_{name}", {}).get("calls", 0))
            for name in ("evalsha", "hgetall", "exec")
        }

    async def publish() -> tuple[dict[str, int], dict[str, int]]:
        bus = AsyncDramatiqEventBus(connect_async(redis_server.url), keys=keys)
        try:
            await bus.publish(Visit(n=-1))  # reads the table, loads the script
            before = calls()
            for n in range(20):
                await bus.publish(Visit(n=n))
            await bus.publish_all([Visit(n=100 + n) for n in range(20)])
            return before, calls()
        finally:
            await bus.aclose()

    before, steady = asyncio.run(publish())

    assert steady["evalsha"] - before["evalsha"] == 40
    assert (steady["hgetall"], steady["exec"]) == (before["hgetall"], before["exec"])
    assert client.llen(keys.queue("one")) == 41


def test_async_publish_and_publish_all_index_caused_events_in_the_same_script_call(
    redis_server: RedisServer, client: redis.Redis, keys: RedisKeys
) -> None:
    """The async bus writes ``{ns}:caused:{id}`` as the sync one does (one PublishPlan), in
    ``publish``, ``publish_all`` and a delayed ``publish``; an uncaused event writes none."""
    processor = DomainEventsProcessor()
    processor.register_handler(Visit, lambda event: None, name="it.async.one", queue="one")
    declare_routes(client, keys, processor)
    cause = Visit(n=0)
    one, later = Visit(n=1, causation_id=cause.event_id), Visit(n=2, causation_id=cause.event_id)
    batch = [Visit(n=3 + n, causation_id=cause.event_id) for n in range(3)]

    async def publish() -> None:
        bus = AsyncDramatiqEventBus(connect_async(redis_server.url), keys=keys)
        try:
            await bus.publish(cause)
            await bus.publish(one)
            await bus.publish(later, delay=timedelta(hours=1))
            await bus.publish_all(batch)
        finally:
            await bus.aclose()

    asyncio.run(publish())
    index = keys.caused(cause.event_id)
    members = {m.decode() for m in client.zrange(index, 0, -1)}
    assert members == {f"{e.event_id}|it.async.visit" for e in [one, later, *batch]}
    assert client.pttl(index) > 0
    assert client.keys(keys.caused("*")) == [index.encode()]


def test_async_publish_to_a_hung_redis_gives_up_within_the_deadline() -> None:
    server = RedisServer().start()

    async def publish() -> None:
        bus = AsyncDramatiqEventBus(
            connect_async(server.url, socket_timeout=0.3),
            keys=RedisKeys("hung"),
            publish_timeout=timedelta(seconds=1),
        )
        try:
            await bus.publish(Visit(n=1))
        finally:
            await bus.aclose()

    try:
        server.pause()  # accepts connections, never answers
        started = time.monotonic()
        with pytest.raises(EventBusUnavailable, match="did not answer in time"):
            asyncio.run(publish())
        assert time.monotonic() - started < 5, "the deadline plus one socket timeout, not more"
    finally:
        server.resume()
        server.stop()


def test_the_containers_async_bus_reaches_the_containers_workers(
    redis_server: RedisServer, namespace: str
) -> None:
    env = {"USE_QUEUE_EVENT_BUS": "true", "REDIS_URL": redis_server.url}
    env["HEXBUS_NAMESPACE"] = namespace
    workers = create_container(env)
    seen = Recorder()

    @workers.processor().handler(Visit, name="it.async.container", queue="composed")
    async def handle(event: Visit) -> None:
        seen.saw("async", event)

    runtime = workers.worker_runtime(queues=["composed"], threads=2)
    runtime.start()
    try:
        web = create_container(env)  # a web process: no --app, the same settings

        async def publish() -> PublishOutcome:
            bus = web.async_event_bus()
            assert isinstance(bus, AsyncDramatiqEventBus)
            try:
                return (await bus.publish(Visit(n=9))).outcome
            finally:
                await bus.aclose()

        assert asyncio.run(publish()) is PublishOutcome.ACCEPTED
        wait_for(lambda: seen.runs.get("async") == [9], timeout=15, what="the async handler")
    finally:
        runtime.stop(timedelta(seconds=5))

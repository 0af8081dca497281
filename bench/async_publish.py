"""Async publishing against sync publishing and raw Dramatiq, on one private Redis.

Run: .venv/bin/python bench/async_publish.py [--events N] [--rounds R] [--batch B]

Starts its own redis-server (never the shared one). Every round sends N messages of each kind,
interleaved in blocks of B with the order rotating block by block, so load from elsewhere on
the (shared, noisy) machine falls on all alike; each figure is the sum of its own blocks:

* ``raw send``: Dramatiq's ``actor.send()`` on a ``RedisBroker`` with its default middleware;
* ``sync publish`` / ``sync publish_all``: ``DramatiqEventBus`` (one script call per event; one
  pipeline per batch of B);
* ``async publish``: ``await AsyncDramatiqEventBus.publish()`` one after the other;
* ``async gather``: B ``publish()`` awaited together (``asyncio.gather``: B in flight on the
  client's pool);
* ``async publish_all``: ``await publish_all()`` of B events (one pipeline).

One event type with one route (declared first, as a running worker does, ADR 0015). Medians
over the rounds, each as a ratio to raw send and to the sync call it twins; "Redis CPU" is
redis-server's CPU per message in that phase, "own CPU" this process's. Nothing is drained:
queues are flushed after each round.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import attrs
import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

from hexbus import DomainEvent, DomainEventsProcessor
from hexbus.adapters.dramatiq import AsyncDramatiqEventBus, DramatiqEventBus, RedisKeys
from hexbus.adapters.dramatiq.connection import connect, connect_async
from hexbus.testing.dramatiq_harness import declare_routes
from hexbus.testing.redis_server import RedisServer

QUEUE = "bench"
NAMESPACE = "async-bench"
KINDS = (
    "raw send",
    "sync publish",
    "sync publish_all",
    "async publish",
    "async gather",
    "async publish_all",
)


@attrs.frozen(kw_only=True)
class BenchEvent(DomainEvent):
    """A small event: one int field."""

    event_type = "bench.async_publish"
    value: int


@attrs.frozen
class Phase:
    """Messages per second; redis-server's and this process's CPU per message (us)."""

    rate: float
    redis_us: float
    own_us: float


class Stopwatch:
    """Wall time and CPU summed over the blocks of one kind."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self.wall = self.redis = self.own = 0.0
        self.count = 0

    def time(self, calls: Callable[[], object], count: int) -> None:
        redis_before = _redis_cpu(self._client)
        own = time.process_time()
        started = time.perf_counter()
        calls()
        self.wall += time.perf_counter() - started
        self.own += time.process_time() - own
        self.redis += _redis_cpu(self._client) - redis_before
        self.count += count

    def phase(self) -> Phase:
        n = self.count
        return Phase(n / self.wall, self.redis / n * 1e6, self.own / n * 1e6)


def _redis_cpu(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def one_round(url: str, client: redis.Redis, count: int, batch: int) -> dict[str, Phase]:
    broker = RedisBroker(url=url, namespace="raw")  # type: ignore[no-untyped-call]
    actor = dramatiq.actor(  # type: ignore[call-overload]
        lambda value: None, broker=broker, actor_name="bench_noop", queue_name=QUEUE
    )
    keys = RedisKeys(NAMESPACE)
    workers = DomainEventsProcessor()
    workers.register_handler(BenchEvent, lambda event: None, name="bench.noop", queue=QUEUE)
    declare_routes(client, keys, workers)
    sync_bus = DramatiqEventBus(DomainEventsProcessor(), connect(url), keys=keys)
    loop = asyncio.new_event_loop()
    async_bus = AsyncDramatiqEventBus(connect_async(url), keys=keys)
    events = [BenchEvent(value=i) for i in range(count * 5 + 1000)]
    cursor = iter(events)

    def take(n: int) -> list[BenchEvent]:
        return [next(cursor) for _ in range(n)]

    def run(coroutine: Coroutine[Any, Any, object]) -> None:
        loop.run_until_complete(coroutine)

    async def one_by_one(block: list[BenchEvent]) -> None:
        for event in block:
            await async_bus.publish(event)

    async def gathered(block: list[BenchEvent]) -> None:
        await asyncio.gather(*(async_bus.publish(event) for event in block))

    async def batched(block: list[BenchEvent]) -> None:
        await async_bus.publish_all(block)

    def block_of(kind: str, n: int) -> Callable[[], object]:
        if kind == "raw send":
            return lambda: [actor.send(i) for i in range(n)]
        block = take(n)
        return {
            "sync publish": lambda: [sync_bus.publish(event) for event in block],
            "sync publish_all": lambda: sync_bus.publish_all(block),
            "async publish": lambda: run(one_by_one(block)),
            "async gather": lambda: run(gathered(block)),
            "async publish_all": lambda: run(batched(block)),
        }[kind]

    # Warm up: scripts loaded, connections open, route table cached, on every client.
    for kind in KINDS:
        block_of(kind, 50)()
    watches = {kind: Stopwatch(client) for kind in KINDS}
    for index, start in enumerate(range(0, count, batch)):
        n = min(batch, count - start)
        order = KINDS[index % len(KINDS) :] + KINDS[: index % len(KINDS)]
        for kind in order:
            watches[kind].time(block_of(kind, n), n)
    loop.run_until_complete(async_bus.aclose())
    loop.close()
    client.flushdb()
    return {kind: watch.phase() for kind, watch in watches.items()}


def report(rounds: Sequence[dict[str, Phase]], argv: Sequence[str]) -> None:
    def med(kind: str, pick: Callable[[Phase], float]) -> float:
        return statistics.median(pick(r[kind]) for r in rounds)

    twin = {
        "async publish": "sync publish",
        "async gather": "sync publish",
        "async publish_all": "sync publish_all",
    }
    raw = med("raw send", lambda p: p.rate)
    print(
        f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, Python "
        f"{platform.python_version()}, redis-py {metadata.version('redis')}, dramatiq "
        f"{metadata.version('dramatiq')}, {len(rounds)} rounds (medians)"
    )
    print(f"# {shlex.join([sys.executable.rsplit('/', 1)[-1], *argv])}")
    print(
        f"{'kind':<19}{'msgs/s':>10}{'x raw send':>12}{'x sync twin':>13}"
        f"{'Redis CPU us':>14}{'own CPU us':>12}"
    )
    for kind in KINDS:
        rate = med(kind, lambda p: p.rate)
        twin_text = f"{rate / med(twin[kind], lambda p: p.rate):.2f}x" if kind in twin else ""
        print(
            f"{kind:<19}{rate:>10.0f}{rate / raw:>11.2f}x{twin_text:>13}"
            f"{med(kind, lambda p: p.redis_us):>14.1f}{med(kind, lambda p: p.own_us):>12.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000, help="messages per kind per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=100, help="block and batch size")
    args = parser.parse_args()
    with RedisServer() as server:
        client = server.client()
        rounds = [
            one_round(server.url, client, args.events, args.batch) for _ in range(args.rounds)
        ]
    report(rounds, ["bench/async_publish.py", *sys.argv[1:]])


if __name__ == "__main__":
    main()

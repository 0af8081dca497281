"""Operations on Redis: stats latency as the queue grows, and what status tracking costs.

Run: .venv/bin/python bench/stats.py [--calls C] [--events N] [--rounds R] [--threads T]
     [--batch B]

Starts its own redis-server (never the shared one). One no-op handler on one queue.

1. Stats latency. ``RedisQueueMonitor.queue_stats()`` with 10, 100,000 and 1,000,000 messages
   waiting in the queue, each level in its own namespace on the same server. The 10 are
   published with ``publish``; the 100,000 with ``publish_all`` in batches of B (status
   tracking on, as deployed); the 1,000,000 are 100,000 published the same way plus 900,000
   entries written directly with pipelined HSET + RPUSH, exactly the two writes
   ``publish.lua`` makes into the queue (a Dramatiq message body per entry, built by
   ``build_message``) but without the per-event dedup and status keys, which stats never
   reads: publishing a million would take most of the time budget and ~1.1 GB. Then C calls per
   level, interleaved (one call per level in turn, so load from elsewhere on the machine falls
   on every level alike); median and p99. In the same loop, a bare PING through a redis-py
   pool and on a connection of its own: the round trip every call pays. Baseline: the
   10-event median; goal: every level within 1.5x of it (the port promises stats never scan).
   Beside the client-side times, Redis commands (INFO commandstats) and Redis CPU (INFO cpu)
   per call, over up to 1,000 further calls of each level alone, show the server's share
   without the client's scheduling noise.
2. Status tracking cost. N events published one by one (``publish``), drained by a
   ``WorkerRuntime`` with T threads in this process (timed from ``start()`` until the handler
   ran N times and no message is left unacked), then N more published with ``publish_all`` in
   batches of B; once with ``Tracking(enabled=True)`` and once with ``enabled=False`` on both
   the bus and the worker. Each of R rounds runs both modes (alternating which goes first);
   the median over rounds is reported, and tracked / untracked as the ratio. Beside each
   rate, the Redis CPU per event over the same phase (INFO cpu; the drain's includes the
   workers' upkeep and idle polls) shows what the status writes cost the server,
   which the client-side rates on a shared 2-core machine can hide. Statistics counters are
   kept either way; only the per-event status hash is switched.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import shlex
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from importlib import metadata

import attrs
import redis

from hexbus import DomainEvent, DomainEventsProcessor
from hexbus.adapters.dramatiq import DramatiqEventBus, RedisKeys, WorkerRuntime, handler_queues
from hexbus.adapters.dramatiq.connection import connect
from hexbus.adapters.dramatiq.messages import build_message
from hexbus.adapters.dramatiq.monitor import RedisQueueMonitor
from hexbus.adapters.dramatiq.tracking import Tracking
from hexbus.testing.dramatiq_harness import declare_routes
from hexbus.testing.redis_server import RedisServer

QUEUE = "bench"
HANDLER = "bench.noop"
NAMESPACE = "hexbus-bench"
LEVELS = (10, 100_000, 1_000_000)
DIRECT_BATCH = 10_000  # entries per pipeline when writing the queue directly
WARMUP = 200
DRAIN_TIMEOUT = 180.0
POLL = 0.002
GOAL_FLAT = 1.5


@attrs.frozen(kw_only=True)
class BenchEvent(DomainEvent):
    """A small event: one int field."""

    event_type = "bench.stats"
    value: int


class Counter:
    """What the no-op handler does: count its calls, thread-safely."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls = 0

    def hit(self) -> None:
        with self._lock:
            self.calls += 1

    def reset(self) -> None:
        with self._lock:
            self.calls = 0


def make_processor(counter: Counter) -> DomainEventsProcessor:
    def noop(event: BenchEvent) -> None:
        counter.hit()

    processor = DomainEventsProcessor()
    processor.register_handler(BenchEvent, noop, name=HANDLER, queue=QUEUE)
    return processor


# --- 1. stats latency --------------------------------------------------------------------------


@attrs.frozen
class Level:
    """Stats latency with ``waiting`` messages queued."""

    waiting: int
    median_ms: float
    p99_ms: float
    commands: float
    server_us: float
    fill: str


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(math.ceil(q / 100 * len(ordered)) - 1, 0)]


def server_cost(monitor: RedisQueueMonitor, client: redis.Redis, calls: int) -> tuple[float, float]:
    """Redis commands (a script's own included) and Redis CPU (µs, INFO cpu) per stats call,
    over ``calls`` calls of this monitor alone: the server's side, free of the client's
    noise. (Not commandstats' usec: a script's commands are counted inside its EVALSHA's
    time and again on their own, so their sum counts them twice.)"""
    client.config_resetstat()
    cpu = server_cpu(client)
    for _ in range(calls):
        monitor.queue_stats()
    used = server_cpu(client) - cpu
    counted: dict[str, dict[str, float]] = client.info("commandstats")
    stats = [v for k, v in counted.items() if k not in NOT_MEASURED]
    return sum(v["calls"] for v in stats) / calls, used * 1e6 / calls


def write_directly(client: redis.Redis, keys: RedisKeys, count: int, envelope: str) -> float:
    """Append ``count`` queue entries with pipelined HSET + RPUSH; returns entries/s."""
    started = time.perf_counter()
    for offset in range(0, count, DIRECT_BATCH):
        pipe = client.pipeline(transaction=False)
        ids = []
        bodies = {}
        for i in range(offset, min(offset + DIRECT_BATCH, count)):
            message = build_message(
                queue=QUEUE,
                handler=HANDLER,
                envelope_json=envelope,
                event_id=f"direct-{i}",
                now_ms=int(time.time() * 1000),
            )
            ids.append(message.redis_id)
            bodies[message.redis_id] = message.body
        pipe.hset(keys.messages(QUEUE), mapping=bodies)
        pipe.rpush(keys.queue(QUEUE), *ids)
        pipe.execute()
    return count / (time.perf_counter() - started)


def fill(url: str, client: redis.Redis, target: int, batch: int) -> tuple[RedisQueueMonitor, str]:
    """A namespace of its own with ``target`` messages waiting; its monitor and how it was
    filled."""
    processor = make_processor(Counter())
    keys = RedisKeys(namespace=f"{NAMESPACE}-{target}")
    bus = DramatiqEventBus(processor, connect(url), keys=keys, tracking=Tracking(enabled=True))
    # The handler's route, as the worker that serves it declares it (ADR 0015): without it
    # the events would be kept as unrouted instead of waiting in the queue.
    declare_routes(client, keys, processor)
    monitor = RedisQueueMonitor(
        connect(url), keys, processor, bus.dead_letters, tracking=Tracking(enabled=True)
    )
    published = min(target, 100_000)
    if published < batch:
        for i in range(published):
            bus.publish(BenchEvent(value=i))
        how = f"{published:,} x publish"
    else:
        events = [BenchEvent(value=i) for i in range(published)]
        started = time.perf_counter()
        for i in range(0, published, batch):
            bus.publish_all(events[i : i + batch])
        rate = published / (time.perf_counter() - started)
        how = f"{published:,} by publish_all in batches of {batch:,} ({rate:,.0f} events/s)"
    if target > published:
        envelope = bus.serializer.dumps(BenchEvent(value=0))
        rate = write_directly(client, keys, target - published, envelope)
        how += f" + {target - published:,} by direct pipelined HSET+RPUSH ({rate:,.0f}/s)"
    waiting = int(client.llen(keys.queue(QUEUE)))
    assert waiting == target, f"expected {target:,} queued, found {waiting:,}"
    assert next(s for s in monitor.queue_stats() if s.queue == QUEUE).waiting == target
    return monitor, how


def stats_latency(
    url: str, client: redis.Redis, calls: int, batch: int
) -> tuple[list[Level], dict[str, float], int]:
    """Every level in its own namespace of one server, the timed calls interleaved (one call
    per level in turn), so load from elsewhere on the machine falls on all levels alike.
    Interleaved with them, the floors: a bare PING through a redis-py pool and on a
    connection of its own (as the stats call has, ADR 0019), each call's median in ms."""
    client.flushdb()
    filled = [fill(url, client, target, batch) for target in LEVELS]
    used = int(client.info("memory")["used_memory"])
    own = redis.Redis(connection_pool=connect(url).connection_pool, single_connection_client=True)
    timed_calls: list[Callable[[], object]] = [monitor.queue_stats for monitor, _ in filled]
    timed_calls += [connect(url).ping, own.ping]
    samples: list[list[float]] = [[] for _ in timed_calls]
    for call in timed_calls:
        for _ in range(20):
            call()
    gc.collect()
    for _ in range(calls):
        for index, call in enumerate(timed_calls):
            started = time.perf_counter()
            call()
            samples[index].append((time.perf_counter() - started) * 1000)
    floors = {
        "PING, pooled": statistics.median(samples[-2]),
        "PING, own connection": statistics.median(samples[-1]),
    }
    levels = []
    for target, (monitor, how), timed in zip(LEVELS, filled, samples[: len(LEVELS)], strict=True):
        commands, server_us = server_cost(monitor, client, min(calls, 1_000))
        levels.append(
            Level(
                target,
                statistics.median(timed),
                percentile(timed, 99),
                commands,
                server_us,
                how,
            )
        )
    client.flushdb()
    return levels, floors, used


# --- 2. status tracking cost -------------------------------------------------------------------


@attrs.frozen
class Mode:
    """One mode's figures in one round: rates in events per second, and Redis CPU per event
    in µs (from INFO cpu, so free of the client's scheduling noise)."""

    publish: float
    publish_all: float
    drain: float
    publish_us: float
    publish_all_us: float
    drain_us: float


NOT_MEASURED = frozenset({"cmdstat_config", "cmdstat_info", "cmdstat_hlen"})
"""The bench's own commands (resetting and reading stats, polling the drain)."""


def server_cpu(client: redis.Redis) -> float:
    """redis-server's CPU time so far (s), user and system (INFO cpu): what it spends on the
    commands, the scripts and the connections alike."""
    cpu: dict[str, float] = client.info("cpu")
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


def drained(counter: Counter, client: redis.Redis, messages_key: str, count: int) -> None:
    deadline = time.perf_counter() + DRAIN_TIMEOUT
    while counter.calls < count or client.hlen(messages_key):
        if time.perf_counter() > deadline:
            raise RuntimeError(
                f"drain incomplete after {DRAIN_TIMEOUT:.0f} s: {counter.calls} of {count} ran"
            )
        time.sleep(POLL)


def tracking_mode(
    url: str, client: redis.Redis, *, enabled: bool, count: int, threads: int, batch: int
) -> Mode:
    counter = Counter()
    processor = make_processor(counter)
    keys = RedisKeys(namespace=NAMESPACE)
    tracking = Tracking(enabled=enabled)
    bus = DramatiqEventBus(processor, connect(url), keys=keys, tracking=tracking)
    declare_routes(client, keys, processor)
    for i in range(WARMUP):
        bus.publish(BenchEvent(value=i))
    client.flushdb()
    declare_routes(client, keys, processor)  # the flush took the route table with it

    events = [BenchEvent(value=i) for i in range(count)]
    gc.collect()
    cpu = server_cpu(client)
    started = time.perf_counter()
    for event in events:
        bus.publish(event)
    publish = count / (time.perf_counter() - started)
    publish_us = (server_cpu(client) - cpu) * 1e6 / count

    runtime = WorkerRuntime(
        processor=processor,
        client=connect(url),
        queues=handler_queues(processor),
        threads=threads,
        keys=keys,
        tracking=tracking,
    )
    gc.collect()
    cpu = server_cpu(client)
    started = time.perf_counter()
    runtime.start()
    drained(counter, client, keys.messages(QUEUE), count)
    drain = count / (time.perf_counter() - started)
    drain_us = (server_cpu(client) - cpu) * 1e6 / count  # with the upkeep and idle polls
    runtime.stop(timedelta(seconds=10))
    assert counter.calls == count, f"ran {counter.calls} of {count}"
    if enabled:
        assert client.exists(keys.status(events[-1].event_id)), "tracking on writes status"
    else:
        assert not client.exists(keys.status(events[-1].event_id)), "tracking off writes none"
    client.flushdb()
    declare_routes(client, keys, processor)

    events = [BenchEvent(value=i) for i in range(count)]
    gc.collect()
    cpu = server_cpu(client)
    started = time.perf_counter()
    for i in range(0, count, batch):
        bus.publish_all(events[i : i + batch])
    publish_all = count / (time.perf_counter() - started)
    publish_all_us = (server_cpu(client) - cpu) * 1e6 / count
    assert client.llen(keys.queue(QUEUE)) == count
    client.flushdb()
    return Mode(publish, publish_all, drain, publish_us, publish_all_us, drain_us)


# --- the report ----------------------------------------------------------------------------------


def command(argv: Sequence[str]) -> str:
    return " ".join([".venv/bin/python", "bench/stats.py", *map(shlex.quote, argv)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3_000, help="stats calls per level")
    parser.add_argument("--events", type=int, default=10_000, help="events per tracking phase")
    parser.add_argument("--rounds", type=int, default=7, help="tracking rounds (median)")
    parser.add_argument("--threads", type=int, default=8, help="worker threads for the drain")
    parser.add_argument("--batch", type=int, default=1_000, help="events per publish_all call")
    args = parser.parse_args()
    wall = time.perf_counter()

    print(
        f"Operations: stats latency and status-tracking cost, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}"
    )
    print(f"command: {command(sys.argv[1:])}")
    print(f"  {os.cpu_count()} cores, load average at start {os.getloadavg()[0]:.2f}")
    with RedisServer() as server:
        client = server.client()
        print(
            f"  redis-server {client.info('server')['redis_version']} (private, port "
            f"{server.port}), dramatiq {metadata.version('dramatiq')}, redis-py "
            f"{metadata.version('redis')}; 1 queue, 1 no-op handler"
        )

        levels, floors, used = stats_latency(server.url, client, args.calls, args.batch)
        base = levels[0]
        print()
        print(
            f"1. RedisQueueMonitor.queue_stats() latency, {args.calls:,} calls per level, "
            f"interleaved; each level its own namespace on one server ({used / 2**20:,.0f} MiB "
            "used in all)"
        )
        for level in levels:
            ratio = level.median_ms / base.median_ms
            print(
                f"  {level.waiting:>9,} waiting: median {level.median_ms:6.3f} ms  "
                f"p99 {level.p99_ms:6.3f} ms  ratio to 10: {ratio:5.2f}x  "
                f"Redis: {level.commands:.0f} commands, {level.server_us:4.1f} us CPU per call"
            )
            print(f"      filled with {level.fill}")
        print(
            "  the round trip beneath them, in the same loop: "
            + ", ".join(f"{name} median {ms:.3f} ms" for name, ms in floors.items())
        )
        worst = max(level.median_ms / base.median_ms for level in levels)
        verdict = "met" if worst <= GOAL_FLAT else "NOT met"
        print(f"  goal flat (every level <= {GOAL_FLAT}x the 10-event median): {verdict}")

        rounds: list[tuple[Mode, Mode]] = []
        for index in range(args.rounds):
            order = (True, False) if index % 2 == 0 else (False, True)
            modes = {
                enabled: tracking_mode(
                    server.url,
                    client,
                    enabled=enabled,
                    count=args.events,
                    threads=args.threads,
                    batch=args.batch,
                )
                for enabled in order
            }
            rounds.append((modes[True], modes[False]))

    def med(pick: Callable[[Mode], float], tracked: bool) -> float:
        return statistics.median(pick(on if tracked else off) for on, off in rounds)

    def per_round(pick: Callable[[Mode], float], tracked: bool) -> str:
        return ", ".join(f"{pick(on if tracked else off):,.0f}" for on, off in rounds)

    print()
    print(
        f"2. Status tracking on vs off, {args.events:,} events per phase, {args.rounds} rounds "
        f"(median), worker {args.threads} threads in this process"
    )
    phases: list[tuple[str, Callable[[Mode], float], Callable[[Mode], float]]] = [
        ("publish (one by one)", lambda m: m.publish, lambda m: m.publish_us),
        (
            f"publish_all (batches of {args.batch:,})",
            lambda m: m.publish_all,
            lambda m: m.publish_all_us,
        ),
        (f"drain ({args.threads} threads)", lambda m: m.drain, lambda m: m.drain_us),
    ]
    for name, rate, cost in phases:
        on, off = med(rate, True), med(rate, False)
        on_us, off_us = med(cost, True), med(cost, False)
        print(
            f"  {name:<31} tracked {on:>7,.0f}/s  untracked {off:>7,.0f}/s  "
            f"ratio {on / off:4.2f}x | Redis CPU per event: tracked {on_us:5.1f} us, "
            f"untracked {off_us:5.1f} us, ratio {on_us / off_us:4.2f}x"
        )
        print(
            f"      rates per round, tracked: {per_round(rate, True)}; "
            f"untracked: {per_round(rate, False)}"
        )
    print(
        f"  (whole run {time.perf_counter() - wall:.0f} s; load average at end "
        f"{os.getloadavg()[0]:.2f})"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()

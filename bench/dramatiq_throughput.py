"""The Dramatiq/Redis adapter against raw Dramatiq: publish, publish_all, drain, latency.

Run: .venv/bin/python bench/dramatiq_throughput.py [--events N] [--rounds R] [--threads T]
     [--batch B] [--samples S] [--gap-ms G]

Starts its own redis-server (never the shared one) and measures raw Dramatiq and hexbus against
that one server, in every round:

1. Sending. Raw Dramatiq: a ``RedisBroker(url=...)`` with its default middleware and a no-op
   actor, N ``actor.send()`` calls. hexbus: an event with one int field and one no-op handler
   on one queue, N ``DramatiqEventBus.publish()`` calls and N events with ``publish_all`` in
   batches of B (events built beforehand). The handler's route is declared first, as a
   running worker declares it (ADR 0015), so publishing fans out from the route table the bus
   cached: the steady state, the version checked by every script. The three are interleaved
   in blocks of B (the order rotating block by block) so that load from elsewhere on the
   machine falls on all alike; each is the sum of its own blocks' times. ``publish_all`` goes
   to its own namespace, deleted afterwards.
2. Raw drain: a ``dramatiq.Worker`` with T threads, started in this process, drains the N
   sent messages; timed from ``worker.start()`` until the actor ran N times and the queue's
   message hash is empty (every message acked). Then, with that worker idle, S single
   messages: ``send()`` call start to actor run (``time.perf_counter`` stamped in the actor),
   each sent G ms after the previous one ran. The raw keys are deleted.
3. hexbus drain: a ``WorkerRuntime`` with the same T threads, started after publishing, drains
   the N published events, timed the same way (the success ledger is always on, so this is
   "with idempotency on"; status tracking is on too, the default); then latency the same way.
   Then the database is flushed.

Each figure is the median over the rounds; "Redis CPU" is redis-server's own CPU time per
message in that phase (INFO cpu: commands, Lua and socket I/O), and "own CPU" this process's
CPU time per message (``time.process_time``: the publisher, or the worker threads of a drain,
plus the benchmark's light polling). On a shared, noisy machine the CPU per message moves less
than the rates do. Every hexbus figure is printed
as a ratio to its Dramatiq counterpart. Goals (issue 3): publish >= 1.0x raw ``send`` (one
round trip per event), ``publish_all`` >= 15x raw ``send`` per event (pipelining), drain >=
0.8x raw Dramatiq with idempotency on, latency p50 <= 5 ms.

T defaults to 8, Dramatiq's own default (``dramatiq --threads``): a no-op handler is bound by
round trips and the GIL, not by cores, and raw Dramatiq's consumer drains about 2 x T
messages (its prefetch) per 5 ms poll, so fewer threads would flatter hexbus. Raw Dramatiq's
idle consumer polls with a growing sleep (5 ms doubling, up to worker_timeout = 1 s), so its
latency depends on G; hexbus's consumer blocks on a doorbell list and does not.
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
import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

from hexbus import DomainEvent, DomainEventsProcessor
from hexbus.adapters.dramatiq import DramatiqEventBus, RedisKeys, WorkerRuntime, handler_queues
from hexbus.adapters.dramatiq.connection import connect
from hexbus.adapters.dramatiq.routes import Declaration, RedisRoutes
from hexbus.testing.redis_server import RedisServer

QUEUE = "bench"
RAW_NAMESPACE = "raw"
HEXBUS_NAMESPACE = "hexbus-bench"
BATCH_NAMESPACE = "hexbus-batch"
WARMUP = 200  # sends/publishes before the timed ones (scripts loaded, connections open)
LATENCY_WARMUP = 20  # latency samples thrown away before the measured ones
DRAIN_TIMEOUT = 120.0  # seconds a drain may take before the run fails
SAMPLE_TIMEOUT = 5.0  # seconds one latency sample may take before the run fails
POLL = 0.002  # seconds between two checks of a drain's progress

GOAL_PUBLISH = 1.0
GOAL_PUBLISH_ALL = 15.0
GOAL_DRAIN = 0.8
GOAL_P50_MS = 5.0


@attrs.frozen(kw_only=True)
class BenchEvent(DomainEvent):
    """A small event: one int field."""

    event_type = "bench.dramatiq_throughput"
    value: int


class Probe:
    """What both no-op handlers do: count the call and stamp its time (perf_counter)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls = 0
        self.stamp = 0.0
        self.ran = threading.Event()

    def hit(self) -> None:
        stamp = time.perf_counter()
        with self._lock:
            self._calls += 1
            self.stamp = stamp
        self.ran.set()

    @property
    def calls(self) -> int:
        with self._lock:
            return self._calls


@attrs.frozen(kw_only=True)
class Settings:
    """What one run measures, from the command line."""

    url: str
    count: int
    threads: int
    batch: int
    samples: int
    gap: float  # seconds


@attrs.frozen
class Latency:
    """Send/publish call start to handler run, in ms, one value per sample."""

    values: tuple[float, ...]

    def pct(self, q: float) -> float:
        ordered = sorted(self.values)
        return ordered[max(math.ceil(q / 100 * len(ordered)) - 1, 0)]


@attrs.frozen
class Phase:
    """One timed phase: messages (or events) per second; redis-server's and this process's
    CPU per message."""

    rate: float
    redis_us: float
    own_us: float


@attrs.frozen(kw_only=True)
class Round:
    """One round's figures."""

    send: Phase
    publish: Phase
    publish_all: Phase
    raw_drain: Phase
    drain: Phase
    raw_latency: Latency
    latency: Latency


def redis_cpu(client: redis.Redis) -> float:
    """Seconds of CPU the redis-server process has used so far."""
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def delete_namespace(client: redis.Redis, namespace: str) -> None:
    """Delete every key of ``namespace``."""
    keys = list(client.scan_iter(match=f"{namespace}:*", count=5_000))
    for i in range(0, len(keys), 5_000):
        client.unlink(*keys[i : i + 5_000])


class Stopwatch:
    """Wall time and redis-server CPU summed over the blocks of one kind of call."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self.wall = 0.0
        self.cpu = 0.0
        self.own = 0.0
        self.count = 0

    def time(self, calls: Callable[[], object], count: int) -> None:
        cpu = redis_cpu(self._client)
        own = time.process_time()
        started = time.perf_counter()
        calls()
        self.wall += time.perf_counter() - started
        self.own += time.process_time() - own
        self.cpu += redis_cpu(self._client) - cpu
        self.count += count

    def phase(self) -> Phase:
        return Phase(
            self.count / self.wall, self.cpu / self.count * 1e6, self.own / self.count * 1e6
        )


def drain(
    client: redis.Redis, probe: Probe, messages_key: str, count: int, start: Callable[[], None]
) -> Phase:
    """Call ``start``; wait until the handler ran ``count`` times and nothing is left unacked."""
    gc.collect()
    cpu = redis_cpu(client)
    own = time.process_time()
    started = time.perf_counter()
    start()
    deadline = started + DRAIN_TIMEOUT
    while probe.calls < count or client.hlen(messages_key):
        if time.perf_counter() > deadline:
            raise RuntimeError(
                f"drain incomplete after {DRAIN_TIMEOUT:.0f} s: {probe.calls} of {count} ran, "
                f"{client.hlen(messages_key)} messages left in {messages_key}"
            )
        time.sleep(POLL)
    elapsed = time.perf_counter() - started
    own_us = (time.process_time() - own) / count * 1e6
    assert probe.calls == count, f"the handler ran {probe.calls} times for {count} messages"
    return Phase(count / elapsed, (redis_cpu(client) - cpu) / count * 1e6, own_us)


def latency(probe: Probe, send: Callable[[int], object], samples: int, gap: float) -> Latency:
    """``samples`` single messages, each sent ``gap`` s after the previous one ran."""
    values = []
    for i in range(LATENCY_WARMUP + samples):
        time.sleep(gap)
        probe.ran.clear()
        started = time.perf_counter()
        send(i)
        if not probe.ran.wait(SAMPLE_TIMEOUT):
            raise RuntimeError(f"latency sample {i} did not run within {SAMPLE_TIMEOUT:.0f} s")
        if i >= LATENCY_WARMUP:
            values.append((probe.stamp - started) * 1000)
    return Latency(tuple(values))


def one_round(settings: Settings, client: redis.Redis) -> Round:
    count, batch = settings.count, settings.batch

    # Raw Dramatiq: a broker and a no-op actor.
    raw_probe = Probe()
    broker = RedisBroker(url=settings.url, namespace=RAW_NAMESPACE)  # type: ignore[no-untyped-call]

    def raw_noop(value: int) -> None:
        raw_probe.hit()

    actor = dramatiq.actor(  # type: ignore[call-overload]
        raw_noop, broker=broker, actor_name="bench_noop", queue_name=QUEUE
    )

    # hexbus: one no-op handler on one queue; publish_all goes to a namespace of its own.
    probe = Probe()

    def noop(event: BenchEvent) -> None:
        probe.hit()

    processor = DomainEventsProcessor()
    processor.register_handler(BenchEvent, noop, name="bench.noop", queue=QUEUE)
    keys = RedisKeys(namespace=HEXBUS_NAMESPACE)
    bus = DramatiqEventBus(processor, connect(settings.url), keys=keys)
    batch_bus = DramatiqEventBus(processor, connect(settings.url), keys=RedisKeys(BATCH_NAMESPACE))
    declaration = Declaration.of(
        processor, handler_queues(processor), broker_id="bench-worker", started=datetime.now(UTC)
    )

    def declare_routes() -> None:
        for namespace in (keys, RedisKeys(BATCH_NAMESPACE)):
            RedisRoutes(client, namespace).declare(declaration)

    declare_routes()
    for i in range(WARMUP):
        actor.send(i)
        bus.publish(BenchEvent(value=i))
    batch_bus.publish_all([BenchEvent(value=i) for i in range(WARMUP)])
    client.flushdb()
    # The same routes under a new version: each bus reads the table once more, in its first
    # timed block (one extra round trip in N).
    declare_routes()

    # 1. Sending, interleaved in blocks.
    singles = [BenchEvent(value=i) for i in range(count)]
    batched = [BenchEvent(value=i) for i in range(count)]
    send, publish, publish_all = Stopwatch(client), Stopwatch(client), Stopwatch(client)

    def send_block(start: int, stop: int) -> None:
        for i in range(start, stop):
            actor.send(i)

    def publish_block(start: int, stop: int) -> None:
        for event in singles[start:stop]:
            bus.publish(event)

    gc.collect()
    for block, start in enumerate(range(0, count, batch)):
        stop = min(start + batch, count)
        timed: list[tuple[Stopwatch, Callable[[], object]]] = [
            (send, lambda: send_block(start, stop)),  # noqa: B023 -- called at once
            (publish, lambda: publish_block(start, stop)),  # noqa: B023
            (publish_all, lambda: batch_bus.publish_all(batched[start:stop])),  # noqa: B023
        ]
        for k in range(3):
            watch, calls = timed[(block + k) % 3]
            watch.time(calls, stop - start)
    assert client.llen(f"{BATCH_NAMESPACE}:{QUEUE}") == count
    delete_namespace(client, BATCH_NAMESPACE)

    # 2. Raw Dramatiq drains its N, then latency.
    worker = dramatiq.Worker(broker, worker_threads=settings.threads)
    raw_drain = drain(client, raw_probe, f"{RAW_NAMESPACE}:{QUEUE}.msgs", count, worker.start)
    raw_latency = latency(raw_probe, actor.send, settings.samples, settings.gap)
    worker.stop(timeout=10_000)
    broker.close()
    delete_namespace(client, RAW_NAMESPACE)

    # 3. hexbus drains its N, then latency.
    runtime = WorkerRuntime(
        processor=processor,
        client=connect(settings.url),
        queues=handler_queues(processor),
        threads=settings.threads,
        keys=keys,
    )
    hexbus_drain = drain(client, probe, keys.messages(QUEUE), count, runtime.start)
    events = [BenchEvent(value=i) for i in range(LATENCY_WARMUP + settings.samples)]
    hexbus_latency = latency(
        probe, lambda i: bus.publish(events[i]), settings.samples, settings.gap
    )
    runtime.stop(timedelta(seconds=10))
    client.flushdb()

    return Round(
        send=send.phase(),
        publish=publish.phase(),
        publish_all=publish_all.phase(),
        raw_drain=raw_drain,
        drain=hexbus_drain,
        raw_latency=raw_latency,
        latency=hexbus_latency,
    )


# --- the report ----------------------------------------------------------------------------


def status(met: bool) -> str:
    return "met" if met else "NOT met"


def command(argv: Sequence[str]) -> str:
    return " ".join([".venv/bin/python", "bench/dramatiq_throughput.py", *map(shlex.quote, argv)])


def report(rounds: Sequence[Round], args: argparse.Namespace) -> None:
    """Print the medians, each hexbus figure against raw Dramatiq's, and the goals."""

    def med(pick: Callable[[Round], float]) -> float:
        return statistics.median(pick(r) for r in rounds)

    def rate(label: str, pick: Callable[[Round], Phase], unit: str) -> float:
        value = med(lambda r: pick(r).rate)
        each = ", ".join(f"{pick(r).rate:,.0f}" for r in rounds)
        redis_us = med(lambda r: pick(r).redis_us)
        own_us = med(lambda r: pick(r).own_us)
        print(
            f"  {label:<34}{value:>9,.0f} {unit:<9}{1e6 / value:>7.1f} us{redis_us:>8.1f} us"
            f"{own_us:>8.1f} us  ({each})"
        )
        return value

    def lat(label: str, pick: Callable[[Round], Latency]) -> tuple[float, float]:
        p50, p99 = med(lambda r: pick(r).pct(50)), med(lambda r: pick(r).pct(99))
        each = ", ".join(f"{pick(r).pct(50):.2f}" for r in rounds)
        print(
            f"  {label:<34}p50 {p50:.2f} ms, p99 {p99:.2f} ms  ({args.samples} samples "
            f"{args.gap_ms:g} ms apart; p50s {each})"
        )
        return p50, p99

    threads = args.threads
    print()
    print(
        f"  {'':<34}{'median':>9} {'':<9}{'wall/msg':>10}{'Redis CPU':>11}{'own CPU':>11}  "
        "(each round)"
    )
    print("raw Dramatiq (RedisBroker, default middleware, no-op actor)")
    send = rate("actor.send", lambda r: r.send, "msgs/s")
    raw_drain = rate(f"Worker drain, {threads} threads", lambda r: r.raw_drain, "msgs/s")
    raw_p50, raw_p99 = lat("latency send -> actor", lambda r: r.raw_latency)
    print("hexbus (DramatiqEventBus, 1 no-op handler; success ledger and status tracking on)")
    publish = rate("publish", lambda r: r.publish, "events/s")
    batched = f"publish_all, batches of {args.batch:,}"
    publish_all = rate(batched, lambda r: r.publish_all, "events/s")
    drain = rate(f"WorkerRuntime drain, {threads} threads", lambda r: r.drain, "events/s")
    p50, p99 = lat("latency publish -> handler", lambda r: r.latency)

    print("hexbus / raw Dramatiq")
    goals = (
        ("publish / send", publish / send, GOAL_PUBLISH),
        ("publish_all / send", publish_all / send, GOAL_PUBLISH_ALL),
        ("drain / drain", drain / raw_drain, GOAL_DRAIN),
    )
    for name, ratio, goal in goals:
        print(f"  {name:<24}{ratio:7.2f}x   goal >= {goal:g}x: {status(ratio >= goal)}")
    own = med(lambda r: r.drain.own_us) / med(lambda r: r.raw_drain.own_us)
    redis_per = med(lambda r: r.drain.redis_us) / med(lambda r: r.raw_drain.redis_us)
    print(f"  {'drain CPU per message':<24}{own:7.2f}x own, {redis_per:.2f}x Redis (lower is less)")
    print(
        f"  {'latency p50 / raw p50':<24}{p50 / raw_p50:7.2f}x   (p99 {p99 / raw_p99:.2f}x); "
        f"goal p50 <= {GOAL_P50_MS:g} ms: {status(p50 <= GOAL_P50_MS)} ({p50:.2f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000, help="events per phase")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (median is reported)")
    parser.add_argument("--threads", type=int, default=8, help="worker threads, both drains")
    parser.add_argument("--batch", type=int, default=1_000, help="events per publish_all call")
    parser.add_argument("--samples", type=int, default=300, help="latency samples per round")
    parser.add_argument("--gap-ms", type=float, default=10.0, help="idle ms between samples")
    args = parser.parse_args()
    wall = time.perf_counter()

    print(
        f"Dramatiq/Redis adapter vs raw Dramatiq, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"Python {platform.python_version()}"
    )
    print(f"command: {command(sys.argv[1:])}")
    print(f"  {os.cpu_count()} cores, load average at start {os.getloadavg()[0]:.2f}")
    rounds: list[Round] = []
    with RedisServer() as server:
        client = server.client()
        print(
            f"  redis-server {client.info('server')['redis_version']} (private, port "
            f"{server.port}), dramatiq {metadata.version('dramatiq')}, redis-py "
            f"{metadata.version('redis')}; {args.events:,} events per phase, {args.rounds} "
            f"rounds (median); workers: {args.threads} threads in this process for both"
        )
        settings = Settings(
            url=server.url,
            count=args.events,
            threads=args.threads,
            batch=args.batch,
            samples=args.samples,
            gap=args.gap_ms / 1000,
        )
        rounds = [one_round(settings, client) for _ in range(args.rounds)]
    report(rounds, args)
    print(
        f"  (whole run {time.perf_counter() - wall:.0f} s; load average at end "
        f"{os.getloadavg()[0]:.2f})"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()

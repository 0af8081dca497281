"""Delayed events on Redis: lateness under a 24 h backlog, schedule/cancel rates, memory.

Run: .venv/bin/python bench/scheduling.py [--pending N] [--samples M]

Starts its own redis-server (never the shared one). hexbus: N events are scheduled 24 h ahead
with ``DramatiqEventBus.publish(delay=...)`` (rate, and Redis ``used_memory`` per pending event
against the serialized envelope's length; the same again with status tracking off, to show what
the status record costs); schedule and cancel rates are timed at n = 1,000 and at n = N pending
(the schedule is a ZSET, so both should be O(log n), i.e. flat); then, with a ``WorkerRuntime``
(2 threads) running and the N still pending, M events are scheduled 1 s ahead, one every 5 ms,
and lateness = handler start - due time; then M events due at the same millisecond (a burst);
finally 10,000 of the pending events are cancelled. Baseline in the same run: Dramatiq's own
``send_with_options(delay=...)`` on a plain ``RedisBroker``, with an empty delay queue and with
N far-future messages in it (``.DQ``), lateness measured the same way; a message that has not
run 30 s after its due time counts as "late > 30 s". Goals (issue 4): p99 lateness <= 100 ms
with N pending, at most 1 KB of Redis memory per pending event beyond the payload,
schedule/cancel rates flat in n.
"""

from __future__ import annotations

import argparse
import gc
import math
import platform
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from importlib import metadata
from uuid import UUID

import attrs
import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

from hexbus import DomainEvent, DomainEventsProcessor, EventSerializer
from hexbus.adapters.dramatiq import DramatiqEventBus, RedisKeys, WorkerRuntime, handler_queues
from hexbus.adapters.dramatiq.tracking import Tracking
from hexbus.testing.redis_server import RedisServer

DAY = timedelta(hours=24)
DAY_MS = 86_400_000
LEAD = 1.0  # seconds between scheduling a sample and its due time
SPACING = 0.005  # seconds between two samples
BURST_LEAD = 2.0  # seconds ahead the burst is due (publishing it must take less)
GIVE_UP = 30.0  # seconds after the last due time: later counts as "late > 30 s"
ROUNDS = 7  # timed schedule+cancel rounds at each n (median reported)
ROUND_SIZE = 1_000  # events per round
SMALL_N = 1_000
CANCELS = 10_000
FLAT = 0.8  # "flat": the rate at n=N is at least this fraction of the rate at n=1,000
GOAL_LATENESS_MS = 100.0
GOAL_OVERHEAD_BYTES = 1024


@attrs.frozen(kw_only=True)
class Reminder(DomainEvent):
    """A small event: a label and the epoch-ms time it is due (0 for the 24 h filler)."""

    event_type = "bench.scheduling.reminder"
    label: str
    due_ms: int


class Stamps:
    """What the handlers record: key -> time.time() when it ran. Duplicates are counted."""

    def __init__(self) -> None:
        self.ran: dict[str, float] = {}
        self.duplicates = 0
        self._lock = threading.Lock()

    def stamp(self, key: str) -> None:
        now = time.time()
        with self._lock:
            if key in self.ran:
                self.duplicates += 1
            else:
                self.ran[key] = now

    def reset(self) -> None:
        with self._lock:
            self.ran.clear()
            self.duplicates = 0

    def count(self) -> int:
        with self._lock:
            return len(self.ran)

    def lateness(self, dues: dict[str, float]) -> Lateness:
        """Ran - due in ms for each key of ``dues`` (due times in epoch s)."""
        with self._lock:
            values = tuple(
                (self.ran[k] - due) * 1000 if k in self.ran else math.inf for k, due in dues.items()
            )
            return Lateness(values, self.duplicates)


@attrs.frozen
class Lateness:
    """Lateness of M samples in ms; ``math.inf`` for a sample that had not run at give-up."""

    values: tuple[float, ...]
    duplicates: int

    @property
    def missing(self) -> int:
        return sum(1 for v in self.values if math.isinf(v))

    def pct(self, q: float) -> float:
        ordered = sorted(self.values)
        return ordered[max(math.ceil(q / 100 * len(ordered)) - 1, 0)]

    @property
    def max(self) -> float:
        return max(self.values)

    @property
    def min(self) -> float:
        return min(self.values)


@attrs.frozen
class Rates:
    """Median schedule and cancel rates (ops/s) of the rounds, and Redis-side us per call."""

    schedule: float
    cancel: float
    schedule_us: float
    cancel_us: float


def ms(value: float) -> str:
    return "> 30 s" if math.isinf(value) else f"{value:,.1f} ms"


def used_memory(client: redis.Redis) -> int:
    gc.collect()
    return int(client.info("memory")["used_memory"])


def key_tables(client: redis.Redis) -> int:
    """Bytes of db 0's key table and expires table (MEMORY STATS)."""
    db = client.memory_stats().get("db.0", {})
    return int(db.get("overhead.hashtable.main", 0)) + int(db.get("overhead.hashtable.expires", 0))


def evalsha_us(client: redis.Redis) -> float:
    stats = client.info("commandstats").get("cmdstat_evalsha", {})
    return float(stats.get("usec_per_call", 0.0))


def wait_until(condition: Callable[[], bool], deadline: float) -> None:
    while time.time() < deadline and not condition():
        time.sleep(0.02)


# --- hexbus --------------------------------------------------------------------------------


def make_processor(stamps: Stamps) -> DomainEventsProcessor:
    def remind(event: Reminder) -> None:
        stamps.stamp(str(event.event_id))

    processor = DomainEventsProcessor()
    processor.register_handler(Reminder, remind, name="bench.remind", queue="reminders")
    return processor


def fillers(count: int, prefix: str) -> list[Reminder]:
    return [Reminder(label=f"{prefix}-{i:06d}", due_ms=0) for i in range(count)]


def schedule_all(bus: DramatiqEventBus, events: Sequence[Reminder], delay: timedelta) -> float:
    """Publish each event with ``delay=``; returns events/s."""
    started = time.perf_counter()
    for event in events:
        bus.publish(event, delay=delay)
    return len(events) / (time.perf_counter() - started)


def schedule_pipelined(bus: DramatiqEventBus, events: Sequence[Reminder], batch: int) -> float:
    """Schedule 24 h ahead in pipelined batches; returns events/s. ``publish_all`` takes no
    ``delay=``, so this uses the bus's own prepare/pipeline steps: the same script, one round
    trip per batch."""
    plan = bus.plan
    started = time.perf_counter()
    for i in range(0, len(events), batch):
        due, table = plan.due_at(DAY, None), bus._table.current()
        calls = [
            plan.prepare(e, plan.envelope(e), due, table, plan.token())
            for e in events[i : i + batch]
        ]
        assert all(reply == 1 for reply in bus._run_pipeline(calls))
    return len(events) / (time.perf_counter() - started)


def cancel_all(bus: DramatiqEventBus, event_ids: Sequence[UUID]) -> float:
    """Cancel each event; returns cancels/s (and checks every one was pending)."""
    started = time.perf_counter()
    removed = sum(bus.cancel(event_id) for event_id in event_ids)
    elapsed = time.perf_counter() - started
    assert removed == len(event_ids), f"only {removed} of {len(event_ids)} were pending"
    return len(event_ids) / elapsed


def rate_rounds(buses: Sequence[DramatiqEventBus], client: redis.Redis) -> list[Rates]:
    """For each bus (each its own schedule of some size n): schedule ROUND_SIZE more events
    and cancel them again. ROUNDS rounds, the buses interleaved in each, so that load from
    elsewhere on the machine falls on every n alike; the medians are returned."""
    samples: list[list[tuple[float, float, float, float]]] = [[] for _ in buses]
    for _ in range(ROUNDS):
        for bus, kept in zip(buses, samples, strict=True):
            events = fillers(ROUND_SIZE, "round")
            gc.collect()
            client.config_resetstat()
            schedule = schedule_all(bus, events, DAY)
            schedule_us = evalsha_us(client)
            client.config_resetstat()
            cancel = cancel_all(bus, [e.event_id for e in events])
            kept.append((schedule, cancel, schedule_us, evalsha_us(client)))
    med = statistics.median
    return [Rates(*(med(column) for column in zip(*kept, strict=True))) for kept in samples]


def due_at(due_ms: int) -> datetime:
    """The exact datetime of an epoch-ms time (no float rounding on the way back to ms)."""
    return datetime.fromtimestamp(due_ms // 1000, UTC) + timedelta(milliseconds=due_ms % 1000)


def hexbus_spaced(bus: DramatiqEventBus, stamps: Stamps, samples: int) -> Lateness:
    """Schedule ``samples`` events LEAD s ahead, one every SPACING s; wait for them."""
    dues: dict[str, float] = {}
    start = time.time() + 0.1
    for i in range(samples):
        pause = start + i * SPACING - time.time()
        if pause > 0:
            time.sleep(pause)
        due_ms = int(time.time() * 1000) + int(LEAD * 1000)
        event = Reminder(label=f"sample-{i:04d}", due_ms=due_ms)
        bus.publish(event, at=due_at(due_ms))
        dues[str(event.event_id)] = due_ms / 1000
    wait_until(lambda: stamps.count() >= len(dues), max(dues.values()) + GIVE_UP)
    return stamps.lateness(dues)


def hexbus_burst(bus: DramatiqEventBus, stamps: Stamps, count: int) -> Lateness:
    """Schedule ``count`` events all due at the same millisecond, BURST_LEAD s ahead."""
    stamps.reset()
    due_ms = int(time.time() * 1000) + int(BURST_LEAD * 1000)
    dues: dict[str, float] = {}
    for i in range(count):
        event = Reminder(label=f"burst-{i:04d}", due_ms=due_ms)
        bus.publish(event, at=due_at(due_ms))
        dues[str(event.event_id)] = due_ms / 1000
    assert time.time() * 1000 < due_ms, "publishing the burst took longer than its lead"
    wait_until(lambda: stamps.count() >= count, due_ms / 1000 + GIVE_UP)
    return stamps.lateness(dues)


# --- Dramatiq baseline ---------------------------------------------------------------------


@attrs.frozen
class DramatiqRun:
    """One Dramatiq run: lateness of the spaced samples and of a burst, backlog send rate."""

    spaced: Lateness
    burst: Lateness | None
    send_rate: float


def dramatiq_run(url: str, namespace: str, backlog: int, samples: int, burst: int) -> DramatiqRun:
    """Dramatiq's own delay: ``backlog`` far-future messages, then ``samples`` due in LEAD s,
    one every SPACING s, then (if ``burst``) ``burst`` messages due at the same moment."""
    broker = RedisBroker(url=url, namespace=namespace)  # type: ignore[no-untyped-call]
    stamps = Stamps()
    actor = dramatiq.actor(  # type: ignore[call-overload]
        stamps.stamp, broker=broker, actor_name="bench_stamp", queue_name="dq_bench", max_retries=0
    )
    rate = 0.0
    if backlog:
        gc.collect()
        started = time.perf_counter()
        for i in range(backlog):
            actor.send_with_options(args=(f"filler-{i}",), delay=DAY_MS)
        rate = backlog / (time.perf_counter() - started)
    worker = dramatiq.Worker(broker, worker_threads=2)
    worker.start()
    time.sleep(1.0)  # let its consumers start and the DQ consumer prefetch
    # Dramatiq computes eta = its now + delay; the due time is that eta, read off the message.
    dues: dict[str, float] = {}
    start = time.time() + 0.1
    for i in range(samples):
        pause = start + i * SPACING - time.time()
        if pause > 0:
            time.sleep(pause)
        key = f"sample-{i:04d}"
        message = actor.send_with_options(args=(key,), delay=int(LEAD * 1000))
        dues[key] = message.options["eta"] / 1000
    wait_until(lambda: stamps.count() >= len(dues), max(dues.values()) + GIVE_UP)
    spaced = stamps.lateness(dues)
    together: Lateness | None = None
    if burst:
        stamps.reset()
        due_ms = int(time.time() * 1000) + int(BURST_LEAD * 1000)
        dues = {}
        for i in range(burst):
            key = f"burst-{i:04d}"
            delay = due_ms - int(time.time() * 1000)
            message = actor.send_with_options(args=(key,), delay=delay)
            dues[key] = message.options["eta"] / 1000
        wait_until(lambda: stamps.count() >= burst, due_ms / 1000 + GIVE_UP)
        together = stamps.lateness(dues)
    worker.stop(timeout=5_000)
    broker.close()
    return DramatiqRun(spaced, together, rate)


# --- the run -------------------------------------------------------------------------------


@attrs.frozen
class Memory:
    """Redis memory of N pending events, per event, and what it is made of."""

    per_event: float
    before: int
    after: int
    zset: float
    items: float
    published: int
    status: int
    tables: float

    @classmethod
    def measure(
        cls, client: redis.Redis, bus: DramatiqEventBus, events: Sequence[Reminder], fill: Fill
    ) -> tuple[Memory, float]:
        """Schedule ``events`` with ``fill``; returns the memory and the fill rate."""
        tables_before = key_tables(client)
        before = used_memory(client)
        rate = fill(bus, events)
        after = used_memory(client)
        n = len(events)
        keys = bus.keys
        first = events[0].event_id
        return cls(
            per_event=(after - before) / n,
            before=before,
            after=after,
            zset=int(client.memory_usage(keys.schedule, samples=0) or 0) / n,
            items=int(client.memory_usage(keys.schedule_items, samples=0) or 0) / n,
            published=int(client.memory_usage(keys.published(first)) or 0),
            status=int(client.memory_usage(keys.status(first)) or 0),
            tables=(key_tables(client) - tables_before) / n,
        ), rate

    @property
    def other(self) -> float:
        return self.per_event - self.zset - self.items - self.published - self.status - self.tables


Fill = Callable[[DramatiqEventBus, Sequence[Reminder]], float]


def report(name: str, lateness: Lateness) -> None:
    print(
        f"  {name:<34} p50 {ms(lateness.pct(50)):>10}  p99 {ms(lateness.pct(99)):>10}  "
        f"max {ms(lateness.max):>10}  min {ms(lateness.min):>9}  late > 30 s: "
        f"{lateness.missing}/{len(lateness.values)}  duplicates: {lateness.duplicates}"
    )


def compare(name: str, theirs: Lateness, ours: Lateness, ours_name: str) -> None:
    parts = []
    for q in (50, 99):
        a, b = theirs.pct(q), ours.pct(q)
        if math.isinf(a):
            parts.append(f"p{q} Dramatiq > 30 s vs hexbus {ms(b)}")
        else:
            parts.append(f"p{q} Dramatiq/hexbus = {a / max(b, 0.001):,.2f}x")
    print(f"  Dramatiq ({name}) vs hexbus ({ours_name}): {'; '.join(parts)}")


def main() -> None:  # noqa: PLR0915 -- one linear script, printed in order
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pending", type=int, default=100_000, help="events pending for 24 h")
    parser.add_argument("--samples", type=int, default=1_000, help="events scheduled 1 s ahead")
    args = parser.parse_args()
    pending: int = args.pending
    samples: int = args.samples
    wall = time.perf_counter()

    print(f"scheduling, {datetime.now(UTC):%Y-%m-%d}, Python {platform.python_version()}")
    print(f"command: .venv/bin/python bench/scheduling.py --pending {pending} --samples {samples}")

    with RedisServer() as server:
        client = server.client()
        print(
            f"  redis-server {client.info('server')['redis_version']} (private, port "
            f"{server.port}), dramatiq {metadata.version('dramatiq')}, redis-py "
            f"{metadata.version('redis')}; worker: 2 threads, in this process"
        )
        stamps = Stamps()
        processor = make_processor(stamps)
        serializer = EventSerializer(processor.registry)

        # 1. Without status tracking, for the memory it costs (pipelined, flushed afterwards).
        untracked = DramatiqEventBus(
            processor, client, keys=RedisKeys("bench-untracked"), tracking=Tracking(enabled=False)
        )
        memory_untracked, _ = Memory.measure(
            client,
            untracked,
            fillers(pending, "filler"),
            lambda b, e: schedule_pipelined(b, e, 500),
        )
        client.flushdb()

        # 2. A schedule of n = 1,000 (its own namespace) to compare rates with.
        small = DramatiqEventBus(processor, client, keys=RedisKeys("bench-small"))
        schedule_all(small, fillers(200, "warm"), DAY)  # load the scripts, warm the pool
        schedule_all(small, fillers(SMALL_N, "small"), DAY)

        # 3. Fill N pending, 24 h ahead, one publish(delay=) each: schedule rate and memory.
        bus = DramatiqEventBus(processor, client, keys=RedisKeys("bench"))
        keys = bus.keys
        events = fillers(pending, "filler")
        envelope = len(serializer.dumps(events[0]).encode())
        memory, fill_rate = Memory.measure(
            client, bus, events, lambda b, e: schedule_all(b, e, DAY)
        )
        entry = int(client.hstrlen(keys.schedule_items, str(events[0].event_id)))
        assert int(client.zcard(keys.schedule)) == pending

        # 4. Rates at n = 1,000 and n = N, interleaved; and pipelined.
        at_small, at_large = rate_rounds([small, bus], client)
        piped_events = fillers(10_000, "piped")
        piped = schedule_pipelined(bus, piped_events, 500)
        for event in piped_events:
            bus.cancel(event.event_id)

        # 5. Lateness with N pending and a worker running: spaced samples, then a burst.
        runtime = WorkerRuntime(
            processor=processor,
            client=server.client(),
            queues=handler_queues(processor),
            threads=2,
            keys=keys,
        )
        runtime.start()
        time.sleep(1.0)
        assert int(client.zcard(keys.schedule)) == pending
        spaced = hexbus_spaced(bus, stamps, samples)
        burst = hexbus_burst(bus, stamps, samples)
        runtime.stop(timedelta(seconds=5))
        still_pending = int(client.zcard(keys.schedule))

        # 6. Cancel 10,000 of the N pending.
        chosen = random.Random(4).sample(events, min(CANCELS, pending))
        gc.collect()
        cancel_rate = cancel_all(bus, [e.event_id for e in chosen])
        del events, chosen
        client.flushdb()

        # 7. Dramatiq's own delay: with an empty .DQ, then with N far-future messages in it.
        dq_idle = dramatiq_run(server.url, "dq-idle", 0, samples, samples)
        client.flushdb()
        dq_before = used_memory(client)
        dq_backlog = dramatiq_run(server.url, "dq-backlog", pending, samples, 0)
        dq_memory = (used_memory(client) - dq_before) / pending  # the worker gave its prefetch back
        dq_left = int(client.llen("dq-backlog:dq_bench.DQ"))

    elapsed = time.perf_counter() - wall
    overhead = memory.per_event - envelope
    overhead_untracked = memory_untracked.per_event - envelope

    print()
    print(f"hexbus, {pending:,} events pending 24 h ahead (DramatiqEventBus.publish(delay=))")
    print(f"  schedule rate, filling 0 -> {pending:,}:     {fill_rate:>9,.0f} events/s")
    print(f"  schedule rate, pipelined (500/round trip): {piped:>9,.0f} events/s")
    cancelled = f"{min(CANCELS, pending):,} of the {pending:,}:"
    print(f"  cancel rate, {cancelled:<30}{cancel_rate:>9,.0f} cancels/s")
    print(
        f"  median of {ROUNDS} rounds of {ROUND_SIZE:,} (schedule, then cancel the same ones; "
        "the two n interleaved):"
    )
    print("                      schedule/s   cancel/s   Redis us/schedule   Redis us/cancel")
    for label, r in ((f"n = {SMALL_N:,}", at_small), (f"n = {pending:,}", at_large)):
        print(
            f"    {label:<16}{r.schedule:>11,.0f}{r.cancel:>11,.0f}"
            f"{r.schedule_us:>20.2f}{r.cancel_us:>18.2f}"
        )
    ratio_schedule = at_large.schedule / at_small.schedule
    ratio_cancel = at_large.cancel / at_small.cancel
    print(
        f"    rate at n={pending:,} / at n={SMALL_N:,}: schedule {ratio_schedule:.2f}, "
        f"cancel {ratio_cancel:.2f}"
    )
    print(
        f"  Redis used_memory: {memory.before:,} -> {memory.after:,} B = "
        f"{memory.per_event:,.0f} B per pending event (status tracking on, the default)"
    )
    print(
        f"    of which: schedule:items HASH {memory.items:,.0f} B, status:{{id}} HASH "
        f"{memory.status:,} B, published:{{id}} {memory.published:,} B, schedule ZSET "
        f"{memory.zset:,.0f} B, key+expire tables {memory.tables:,.0f} B, other "
        f"{memory.other:,.0f} B"
    )
    print(f"    payload: serialized envelope {envelope} B; the items entry holding it: {entry} B")
    print(
        f"    beyond the payload: {memory.per_event:,.0f} - {envelope} = {overhead:,.0f} B "
        "per event"
    )
    print(
        f"  with Tracking(enabled=False): {memory_untracked.per_event:,.0f} B per pending event, "
        f"{overhead_untracked:,.0f} B beyond the payload (no status HASH; key+expire tables "
        f"{memory_untracked.tables:,.0f} B)"
    )

    print()
    print(f"lateness (handler start - due time), {samples} events due {LEAD:.0f} s ahead")
    report(f"hexbus, {pending:,} pending", spaced)
    print(
        f"    ({still_pending:,} still pending afterwards, of {pending:,}; one event every "
        f"{SPACING * 1000:.0f} ms)"
    )
    report("Dramatiq delay=, empty .DQ", dq_idle.spaced)
    report(f"Dramatiq delay=, {pending:,} in .DQ", dq_backlog.spaced)
    print(
        f"    (Dramatiq backlog: sent at {dq_backlog.send_rate:,.0f} messages/s, "
        f"{dq_memory:,.0f} B of Redis memory per delayed message, {dq_left:,} still in .DQ)"
    )
    compare("empty .DQ", dq_idle.spaced, spaced, f"{pending:,} pending")
    compare(f"{pending:,} in .DQ", dq_backlog.spaced, spaced, f"{pending:,} pending")
    print(f"burst: {samples} events all due at the same millisecond, {BURST_LEAD:.0f} s ahead")
    report(f"hexbus, {pending:,} pending", burst)
    print(f"    (drained at {samples / (burst.max / 1000):,.0f} events/s after the due time)")
    if dq_idle.burst is not None:
        report("Dramatiq delay=, empty .DQ", dq_idle.burst)
        compare("empty .DQ", dq_idle.burst, burst, f"{pending:,} pending")

    fires = spaced.missing == 0 and spaced.pct(99) <= GOAL_LATENESS_MS
    flat = ratio_schedule >= FLAT and ratio_cancel >= FLAT
    print()
    print(
        f"  goal fires within {GOAL_LATENESS_MS:.0f} ms of due at p99 with {pending:,} pending: "
        f"{'met' if fires else 'NOT met'} (p99 {ms(spaced.pct(99))}, one event every "
        f"{SPACING * 1000:.0f} ms)"
    )
    print(
        f"  goal memory <= {GOAL_OVERHEAD_BYTES} B per pending event beyond the payload: "
        f"{'met' if overhead <= GOAL_OVERHEAD_BYTES else 'NOT met'} ({overhead:,.0f} B; "
        f"{overhead_untracked:,.0f} B with status tracking off: "
        f"{'met' if overhead_untracked <= GOAL_OVERHEAD_BYTES else 'NOT met'})"
    )
    print(
        f"  goal schedule/cancel rate flat in n (n={pending:,} at least {FLAT:.0%} of "
        f"n={SMALL_N:,}): {'met' if flat else 'NOT met'} "
        f"({ratio_schedule:.2f}, {ratio_cancel:.2f})"
    )
    print(f"  (whole run {elapsed:.0f} s)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

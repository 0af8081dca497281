"""The transactional outbox: commit-to-handler latency and relay throughput, against direct publish.

Run: .venv/bin/python bench/outbox.py [--samples S] [--events N] [--rounds R] [--batch B]
     [--threads T] [--gap-ms G]

Starts its own PostgreSQL cluster (initdb, pg_ctl) and redis-server on free ports (never the
shared ones), builds the container as a process with ``DATABASE_URL`` and
``USE_QUEUE_EVENT_BUS=true`` does, registers one no-op handler that stamps
``time.perf_counter()``, and starts a ``WorkerRuntime`` with T threads in this process.

1. Latency, S samples of each, interleaved one by one (direct, outbox, direct, ...) so load
   from elsewhere falls on both alike, each G ms after the previous one was handled:
   * direct: from ``bus.publish(event)`` to the handler's stamp;
   * outbox: from the start of ``with uow: uow.publish(event)`` (the INSERT and the COMMIT
     included) to the handler's stamp, through a relay thread woken by LISTEN/NOTIFY
     (``OutboxRelay.run``, the default ``HEXBUS_OUTBOX_POLL_INTERVAL`` of 1 s as fallback).
2. Throughput, R rounds, the two orders alternating: N events committed to the outbox in one
   transaction (not timed), then ``OutboxRelay.drain()`` with batches of B, against the same
   N events published directly with ``publish_all`` in batches of B. Events per second and this
   process's CPU per event (``time.process_time``: the relay or the publisher, plus the worker
   threads handling what arrives, alike in both). The worker drains during both.

Figures are medians over the rounds; ratios are outbox / direct. The machine is shared: rely
on the ratios and the CPU per event more than on the rates.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import attrs

from hexbus import DomainEvent
from hexbus.adapters.dramatiq.worker import handler_queues
from hexbus.adapters.postgres.schema import upgrade
from hexbus.container import Container, create_container
from hexbus.testing.postgres_server import PostgresServer
from hexbus.testing.redis_server import RedisServer


@attrs.frozen(kw_only=True)
class Tick(DomainEvent):
    """The benchmark's event: a number to find its stamp by."""

    event_type = "bench.outbox.tick"

    number: int


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class Stamps:
    """When the handler saw each event number, and a way to wait for them."""

    def __init__(self) -> None:
        self.at: dict[int, float] = {}
        self._done = threading.Condition()

    def __call__(self, event: Tick) -> None:
        with self._done:
            self.at[event.number] = time.perf_counter()
            self._done.notify_all()

    def wait(self, numbers: list[int], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        with self._done:
            while not all(n in self.at for n in numbers):
                if not self._done.wait(max(0.0, deadline - time.monotonic())):
                    raise SystemExit(f"timed out waiting for {len(numbers)} events")


@attrs.define
class Bench:
    """The container's bus, unit of work and relay, the stamps, and a counter of numbers."""

    container: Container
    stamps: Stamps
    next_number: int = 0

    def numbers(self, count: int) -> list[int]:
        first, self.next_number = self.next_number, self.next_number + count
        return list(range(first, first + count))

    def latency(self, samples: int, gap: float) -> tuple[list[float], list[float]]:
        """(direct, outbox) seconds from publishing to the handler, interleaved."""
        bus, uow = self.container.event_bus(), self.container.unit_of_work()
        stop = threading.Event()
        relaying = threading.Thread(
            target=self.container.outbox_relay().run, args=(stop,), daemon=True
        )
        relaying.start()
        time.sleep(0.5)  # LISTEN is in place
        direct: list[float] = []
        through_outbox: list[float] = []
        for _ in range(samples):
            for kind in ("direct", "outbox"):
                [number] = self.numbers(1)
                started = time.perf_counter()
                if kind == "direct":
                    bus.publish(Tick(number=number))
                else:
                    with uow:
                        uow.publish(Tick(number=number))
                self.stamps.wait([number])
                taken = self.stamps.at[number] - started
                (direct if kind == "direct" else through_outbox).append(taken)
                time.sleep(gap)
        stop.set()
        relaying.join(timeout=5)
        return direct, through_outbox

    def throughput(self, kind: str, count: int, batch: int) -> tuple[float, float]:
        """(events/s, CPU us/event) of relaying ``count`` committed events, or of publishing
        them with ``publish_all`` in batches."""
        numbers = self.numbers(count)
        events = [Tick(number=n) for n in numbers]
        uow = self.container.unit_of_work()
        if kind == "outbox":
            with uow:
                uow.publish_all(events)
        started, cpu_started = time.perf_counter(), time.process_time()
        if kind == "outbox":
            totals = self.container.outbox_relay().drain()
            assert totals.published == count, totals
        else:
            bus = self.container.event_bus()
            for index in range(0, count, batch):
                bus.publish_all(events[index : index + batch])
        elapsed = time.perf_counter() - started
        spent = time.process_time() - cpu_started
        self.stamps.wait(numbers)
        return count / elapsed, spent * 1e6 / count


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--gap-ms", type=float, default=5.0)
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    rates: dict[str, list[tuple[float, float]]] = {"outbox": [], "direct": []}
    with PostgresServer() as postgres, RedisServer() as redis_server:
        env = {
            "DATABASE_URL": postgres.url,
            "REDIS_URL": redis_server.url,
            "USE_QUEUE_EVENT_BUS": "true",
            "HEXBUS_NAMESPACE": f"bench{uuid.uuid4().hex[:8]}",
            "HEXBUS_METRICS": "false",
            "HEXBUS_LOG_LEVEL": "warning",
            "HEXBUS_OUTBOX_BATCH": str(args.batch),
        }
        container = create_container(env)
        upgrade(container.database_engine())
        bench = Bench(container, Stamps())
        container.processor().register_handler(Tick, bench.stamps, name="bench.stamp", queue="b")
        worker = container.worker_runtime(
            queues=handler_queues(container.processor()), threads=args.threads
        )
        worker.start()
        time.sleep(0.5)  # the worker has declared its route
        direct, through_outbox = bench.latency(args.samples, args.gap_ms / 1000)
        for round_index in range(args.rounds):
            order = ("outbox", "direct") if round_index % 2 == 0 else ("direct", "outbox")
            for kind in order:
                rates[kind].append(bench.throughput(kind, args.events, args.batch))
        worker.stop(timedelta(seconds=10))
        container.database_engine().dispose()
    report(argv, args, load=load, direct=direct, through_outbox=through_outbox, rates=rates)
    return 0


def report(
    argv: list[str],
    args: argparse.Namespace,
    *,
    load: float,
    direct: list[float],
    through_outbox: list[float],
    rates: dict[str, list[tuple[float, float]]],
) -> None:
    ms = 1000.0
    print(f"# bench/outbox.py {' '.join(argv)}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"# Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores,")
    print(f"# load average {load:.2f} at start, {os.getloadavg()[0]:.2f} at end (shared machine)")
    print(f"# {args.samples} latency samples each, {args.rounds} rounds of {args.events} events,")
    print(f"# batches of {args.batch}, {args.threads} worker threads")
    print("| figure | direct publish | through the outbox | outbox / direct |")
    print("|---|---:|---:|---:|")
    for label, fraction in (("p50", 0.5), ("p99", 0.99)):
        d, o = percentile(direct, fraction) * ms, percentile(through_outbox, fraction) * ms
        print(f"| commit-to-handler latency {label}, ms | {d:.2f} | {o:.2f} | {o / d:.2f}x |")
    for index, label in ((0, "throughput, events/s (publish_all vs relay)"),
                         (1, "own CPU per event, us")):  # fmt: skip
        d = statistics.median(r[index] for r in rates["direct"])
        o = statistics.median(r[index] for r in rates["outbox"])
        print(f"| {label} | {d:,.1f} | {o:,.1f} | {o / d:.2f}x |")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""What a handler's progress and log lines cost on the Redis worker (ADR 0024).

Run: .venv/bin/python bench/handler_reports.py [--events N] [--rounds R] [--threads T]

Starts its own redis-server (never the shared one). N events are published with
``publish_all`` and drained by a ``WorkerRuntime`` with T threads in this process, timed from
``start()`` until the handler ran N times and nothing is left unacked. Three handlers, each
its own mode, run in every round in a rotating order (interleaved, so load from elsewhere on
the shared machine falls on all alike):

* ``quiet``: does nothing (the baseline: the context is still set around it);
* ``one``: one ``progress`` and one ``log`` call (two ``report.lua`` calls);
* ``ten``: ten ``progress`` calls and ten ``log`` calls.

Printed per mode: the median over rounds of events per second, this process's CPU per event
(publish excluded), Redis server time per event (INFO commandstats over the drain), and the
ratio of each to the baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import attrs
import redis

from hexbus import DomainEvent, DomainEventsProcessor, handler_context
from hexbus.adapters.dramatiq import DramatiqEventBus, RedisKeys, WorkerRuntime, handler_queues
from hexbus.adapters.dramatiq.maintenance import MaintenanceTimings
from hexbus.testing.redis_server import RedisServer


@attrs.frozen(kw_only=True)
class Tick(DomainEvent):
    """The benchmark's event."""

    event_type = "bench.reports.tick"
    n: int


def quiet(event: Tick) -> None:
    """The baseline."""


def one(event: Tick) -> None:
    """A progress and a line."""
    context = handler_context()
    context.progress(100)
    context.log("done")


def ten(event: Tick) -> None:
    """Ten of each."""
    context = handler_context()
    for step in range(1, 11):
        context.progress(step, of=10)
        context.log(f"step {step} of 10")


MODES: dict[str, Callable[[Any], None]] = {"quiet": quiet, "one": one, "ten": ten}


def server_usec(client: redis.Redis) -> float:
    stats: dict[str, Any] = client.info("commandstats")  # type: ignore[assignment]
    return float(sum(entry["usec"] for entry in stats.values()))


def drain(client: redis.Redis, mode: str, events: int, threads: int) -> tuple[float, float, float]:
    """(events/s, CPU ms per event, Redis server µs per event) for one mode, one round."""
    keys = RedisKeys(f"bench{mode}{time.monotonic_ns()}")
    processor = DomainEventsProcessor()
    runs = [0]

    def counted(event: Tick) -> None:
        MODES[mode](event)
        runs[0] += 1

    processor.register_handler(Tick, counted, name=f"bench.{mode}", queue="bench")
    runtime = WorkerRuntime(
        processor=processor,
        client=client,
        keys=keys,
        queues=handler_queues(processor),
        threads=threads,
        timings=MaintenanceTimings(move_interval=timedelta(milliseconds=50)),
        idle_timeout=timedelta(milliseconds=100),
    )
    runtime.maintenance.declare_routes()
    bus = DramatiqEventBus(processor, client, keys=keys)
    batch = [Tick(n=n) for n in range(events)]
    for start in range(0, events, 500):
        bus.publish_all(batch[start : start + 500])
    usec = server_usec(client)
    cpu = time.process_time()
    began = time.perf_counter()
    runtime.start()
    while runs[0] < events or client.hlen(keys.messages("bench")):
        time.sleep(0.005)
    elapsed = time.perf_counter() - began
    cpu_ms = (time.process_time() - cpu) * 1000 / events
    server = (server_usec(client) - usec) / events
    runtime.stop(timedelta(seconds=5))
    for key in client.scan_iter(f"{keys.namespace}:*", count=1000):
        client.delete(key)
    return events / elapsed, cpu_ms, server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    results: dict[str, list[tuple[float, float, float]]] = {mode: [] for mode in MODES}
    with RedisServer() as server:
        client = server.client()
        order = list(MODES)
        for round_number in range(args.rounds):
            for mode in order[round_number % 3 :] + order[: round_number % 3]:
                results[mode].append(drain(client, mode, args.events, args.threads))
    base = [statistics.median(v[i] for v in results["quiet"]) for i in range(3)]
    print(f"{args.events} events, {args.threads} threads, {args.rounds} interleaved rounds")
    print(
        f"{'mode':6} {'events/s':>10} {'ratio':>6} {'CPU ms/ev':>10} {'ratio':>6} "
        f"{'Redis µs/ev':>12} {'ratio':>6}"
    )
    for mode, rows in results.items():
        rate, cpu, usec = (statistics.median(r[i] for r in rows) for i in range(3))
        print(
            f"{mode:6} {rate:10.0f} {rate / base[0]:6.2f} {cpu:10.3f} {cpu / base[1]:6.2f} "
            f"{usec:12.1f} {usec / base[2]:6.2f}"
        )


if __name__ == "__main__":
    main()

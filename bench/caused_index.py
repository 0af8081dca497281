"""What the caused index ``{ns}:caused:{id}`` costs a publish on Redis (ADR 0024).

Run: .venv/bin/python bench/caused_index.py [--events N] [--rounds R]

Starts its own redis-server (never the shared one). N events of a type with one route are
published one ``publish`` call at a time, in two modes run in every round in alternating order
(interleaved, so load from elsewhere on the shared machine falls on both alike):

* ``plain``: no ``causation_id`` (the baseline: no index argument, no index write);
* ``caused``: every event names the same cause, so each publish also writes its index
  (``TYPE``, ``ZADD``, ``ZREMRANGEBYRANK`` to the newest 1,000, ``PEXPIRE``).

Printed per mode: the median over rounds of publishes per second, this process's CPU per
publish, Redis server time per publish (the scripts' time in INFO commandstats), and the
ratio of each to the baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import attrs
import redis

from hexbus import DomainEvent, DomainEventsProcessor
from hexbus.adapters.dramatiq import DramatiqEventBus, RedisKeys, WorkerRuntime, handler_queues
from hexbus.testing.redis_server import RedisServer

MODES = ("plain", "caused")


@attrs.frozen(kw_only=True)
class Tick(DomainEvent):
    """The benchmark's event."""

    event_type = "bench.caused.tick"
    n: int


def server_usec(client: redis.Redis) -> float:
    """The scripts' server time (an EVALSHA's includes the commands it runs, which are also
    counted on their own: summing every command would count them twice)."""
    stats: dict[str, Any] = client.info("commandstats")  # type: ignore[assignment]
    return float(
        sum(v["usec"] for k, v in stats.items() if k in {"cmdstat_evalsha", "cmdstat_eval"})
    )


def publish(client: redis.Redis, mode: str, events: int) -> tuple[float, float, float]:
    """(publishes/s, CPU µs per publish, Redis server µs per publish) for one round."""
    keys = RedisKeys(f"bench{mode}{time.monotonic_ns()}")
    processor = DomainEventsProcessor()
    processor.register_handler(Tick, lambda event: None, name="bench.tick", queue="bench")
    runtime = WorkerRuntime(
        processor=processor,
        client=client,
        keys=keys,
        queues=handler_queues(processor),
        threads=1,
    )
    runtime.maintenance.declare_routes()
    bus = DramatiqEventBus(processor, client, keys=keys)
    cause = Tick(n=-1)
    batch = [
        Tick(n=n, causation_id=cause.event_id if mode == "caused" else None) for n in range(events)
    ]
    bus.publish(Tick(n=-2))  # the route table read and the scripts loaded
    usec = server_usec(client)
    cpu = time.process_time()
    began = time.perf_counter()
    for event in batch:
        bus.publish(event)
    elapsed = time.perf_counter() - began
    cpu_us = (time.process_time() - cpu) * 1e6 / events
    server = (server_usec(client) - usec) / events
    for key in client.scan_iter(f"{keys.namespace}:*", count=1000):
        client.delete(key)
    return events / elapsed, cpu_us, server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    results: dict[str, list[tuple[float, float, float]]] = {mode: [] for mode in MODES}
    with RedisServer() as server:
        client = server.client()
        for round_number in range(args.rounds):
            order = MODES if round_number % 2 == 0 else MODES[::-1]
            for mode in order:
                results[mode].append(publish(client, mode, args.events))
    base = [statistics.median(v[i] for v in results["plain"]) for i in range(3)]
    print(f"{args.events} publishes per round, {args.rounds} interleaved rounds")
    print(
        f"{'mode':6} {'publish/s':>10} {'ratio':>6} {'CPU µs/ev':>10} {'ratio':>6} "
        f"{'Redis µs/ev':>12} {'ratio':>6}"
    )
    for mode, rows in results.items():
        rate, cpu, usec = (statistics.median(r[i] for r in rows) for i in range(3))
        print(
            f"{mode:6} {rate:10.0f} {rate / base[0]:6.2f} {cpu:10.1f} {cpu / base[1]:6.2f} "
            f"{usec:12.1f} {usec / base[2]:6.2f}"
        )


if __name__ == "__main__":
    main()

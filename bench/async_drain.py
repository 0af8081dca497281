"""An I/O-bound drain: async handlers on the worker's loop against plain handlers on threads.

Run: .venv/bin/python bench/async_drain.py [--rounds R] [--tasks T] [--wait-ms W]

Every handler waits W ms (50 by default), as a call to a slow provider would: ``await
asyncio.sleep`` in the ``async def`` handler, ``time.sleep`` in the plain one. Each
configuration drains events published beforehand (its route declared first) in a worker
process of its own (``WorkerRuntime`` in a child of this script), so its memory is its own:

* ``async x T``: the async handler, on a queue of concurrency T (200): T worker threads, each
  handing its coroutine to the process's one loop and waiting (ADR 0023);
* ``threads x default``: the plain handler with the default concurrency
  (``HEXBUS_DEFAULT_CONCURRENCY``, 2), the threaded worker as it comes;
* ``threads x T``: the plain handler on T threads, the memory baseline for as many in flight.

Each drains 10 x its concurrency events (at least 100). The child reports: events/s from
``worker.start()`` to the last handler's end; its own CPU per event; its resident memory
(VmRSS, sampled every 5 ms) before the worker started and at its peak, and the most handlers
in flight at once; "memory per in-flight handler" is (peak - before) / most in flight, so it
includes the worker's threads and the tasks. Configurations are interleaved round by round,
order rotating; medians are printed, with ratios to the threaded worker. The machine is
shared: rely on ratios and CPU per event more than on rates.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from importlib import metadata
from typing import Any

import attrs

from hexbus import DomainEvent, DomainEventsProcessor
from hexbus.adapters.dramatiq import DramatiqEventBus, RedisKeys, WorkerRuntime
from hexbus.adapters.dramatiq.connection import connect
from hexbus.adapters.dramatiq.settings import DEFAULT_CONCURRENCY
from hexbus.testing.dramatiq_harness import declare_routes
from hexbus.testing.redis_server import RedisServer

QUEUE = "io"


@attrs.frozen(kw_only=True)
class IoEvent(DomainEvent):
    """One int field."""

    event_type = "bench.async_drain"
    value: int


def _rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def processor_for(kind: str, wait: float, tracker: Tracker | None = None) -> DomainEventsProcessor:
    processor = DomainEventsProcessor()
    if kind == "async":

        async def handler(event: IoEvent) -> None:
            if tracker:
                tracker.enter()
            await asyncio.sleep(wait)
            if tracker:
                tracker.leave()

    else:

        def handler(event: IoEvent) -> None:  # type: ignore[misc]
            if tracker:
                tracker.enter()
            time.sleep(wait)
            if tracker:
                tracker.leave()

    processor.register_handler(IoEvent, handler, name="bench.io", queue=QUEUE)
    return processor


class Tracker:
    """Handlers in flight now, at most, and done; the time the last one ended."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = self.most = self.done = 0
        self.last = 0.0

    def enter(self) -> None:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def leave(self) -> None:
        with self._lock:
            self.now -= 1
            self.done += 1
            self.last = time.perf_counter()


def child(args: argparse.Namespace) -> None:
    """One worker process: drain ``--count`` events, print what it measured as JSON."""
    tracker = Tracker()
    processor = processor_for(args.kind, args.wait, tracker)
    runtime = WorkerRuntime(
        processor=processor,
        client=connect(args.url),
        keys=RedisKeys(args.namespace),
        queues=[QUEUE],
        threads=args.threads,
    )
    peak = before = _rss_kib()
    cpu = time.process_time()
    started = time.perf_counter()
    runtime.start()
    deadline = started + 300
    while tracker.done < args.count:
        peak = max(peak, _rss_kib())
        if time.perf_counter() > deadline:
            raise SystemExit(f"drained {tracker.done} of {args.count} in 300 s")
        time.sleep(0.005)
    elapsed = tracker.last - started
    own = time.process_time() - cpu
    runtime.stop(timedelta(seconds=10))
    print(
        json.dumps(
            {
                "rate": args.count / elapsed,
                "cpu_us": own / args.count * 1e6,
                "before_kib": before,
                "peak_kib": peak,
                "most_in_flight": tracker.most,
            }
        )
    )


@attrs.frozen
class Config:
    label: str
    kind: str
    threads: int


def drain_once(server: RedisServer, config: Config, wait: float, index: int) -> dict[str, Any]:
    count = max(100, 10 * config.threads)
    namespace = f"drain{index}"
    client = server.client()
    keys = RedisKeys(namespace)
    declare_routes(client, keys, processor_for(config.kind, wait))
    bus = DramatiqEventBus(DomainEventsProcessor(), client, keys=keys)
    for start in range(0, count, 500):
        bus.publish_all([IoEvent(value=i) for i in range(start, min(start + 500, count))])
    command = [
        sys.executable,
        __file__,
        "--child",
        "--kind",
        config.kind,
        "--threads",
        str(config.threads),
        "--count",
        str(count),
        "--url",
        server.url,
        "--namespace",
        namespace,
        "--wait-ms",
        str(wait * 1000),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=os.environ)
    if done.returncode != 0:
        raise SystemExit(f"{config.label} failed:\n{done.stderr[-3000:]}")
    client.flushdb()
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=200, help="async handlers in flight")
    parser.add_argument("--wait-ms", type=float, default=50.0, help="each handler's wait")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--kind", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--namespace", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.wait = args.wait_ms / 1000
    if args.child:
        child(args)
        return
    default = DEFAULT_CONCURRENCY.default
    configs = [
        Config(f"async x {args.tasks}", "async", args.tasks),
        Config(f"threads x {default} (default)", "sync", default),
        Config(f"threads x {args.tasks}", "sync", args.tasks),
    ]
    results: dict[str, list[dict[str, Any]]] = {c.label: [] for c in configs}
    with RedisServer() as server:
        for round_ in range(args.rounds):
            order = configs[round_ % 3 :] + configs[: round_ % 3]
            for index, config in enumerate(order):
                results[config.label].append(drain_once(server, config, args.wait, index))
    report(configs, results, args)


def report(
    configs: Sequence[Config], results: dict[str, list[dict[str, Any]]], args: argparse.Namespace
) -> None:
    def med(label: str, key: str) -> float:
        return statistics.median(float(r[key]) for r in results[label])

    def per_flight(label: str) -> float:
        return statistics.median(
            (r["peak_kib"] - r["before_kib"]) / max(r["most_in_flight"], 1) for r in results[label]
        )

    argv = ["bench/async_drain.py", *sys.argv[1:]]
    print(
        f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, Python "
        f"{platform.python_version()}, dramatiq {metadata.version('dramatiq')}, "
        f"{args.rounds} rounds (medians), handlers wait {args.wait_ms:g} ms"
    )
    print(f"# {shlex.join(['python', *argv])}")
    threaded = configs[1].label
    print(
        f"{'worker':<26}{'events/s':>10}{'x default':>11}{'in flight':>11}"
        f"{'CPU us/ev':>11}{'RSS +MiB':>10}{'KiB/in-flight':>15}"
    )
    for config in configs:
        label = config.label
        rate = med(label, "rate")
        grown = (med(label, "peak_kib") - med(label, "before_kib")) / 1024
        print(
            f"{label:<26}{rate:>10.0f}{rate / med(threaded, 'rate'):>10.1f}x"
            f"{med(label, 'most_in_flight'):>11.0f}{med(label, 'cpu_us'):>11.0f}"
            f"{grown:>10.1f}{per_flight(label):>15.1f}"
        )


if __name__ == "__main__":
    main()

"""Where the publish-to-handler latency of an idle hexbus worker goes, phase by phase.

Run: .venv/bin/python bench/idle_path.py [--samples N] [--rounds R] [--gap-ms G]

bench/vs_bullmq.py measures the idle latency (publish-call start to the handler's first line)
beside BullMQ's; this splits hexbus's into its phases, to show what a change to the idle path
saves. It starts its own redis-server and, per round, one worker process (1 x 16, hexbus at its
defaults, as bench/vs_bullmq_python.py's ``Hexbus``) whose fetcher is wrapped to stamp the
moment a fetch reply is in the worker's hands and the moment it is read (the monotonic clock,
which the publishing process and the worker share). Then N events, one every G ms after the
previous one's handler started, as vs_bullmq.py's latency workload does. It prints the median
of each phase per round, and the median over the rounds:

  publish call              the publishing process's ``publish`` call, start to return
  publish to fetch reply    publish-call start until the worker holds the fetch's reply
  reading the reply         ``QueueFetcher.read``: the bodies read, the messages admitted
  reply read to handler     the start's round trip if the fetch did not start the message,
                            the hand-over to the thread, decoding the event, the runner
  total                     publish-call start to the handler's first line

and, as the floor under every hop, a bare ``PING`` made after the same idle gap: on a shared
virtual machine a process woken from idle pays for it on every hop.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis

from hexbus.testing.redis_server import RedisServer

sys.path.insert(0, str(Path(__file__).resolve().parent))
import vs_bullmq_python as helper  # the bench's hexbus at its defaults

SIGNAL = "idle-path:signal"
PHASES = (
    "publish call",
    "publish to fetch reply",
    "reading the reply",
    "reply read to handler",
    "total",
)


def worker(url: str) -> None:
    """A worker process of 1 x 16 whose handler pushes its stamps; stops on a line on stdin."""
    from hexbus.adapters.dramatiq import fetcher  # noqa: PLC0415

    stamps = threading.local()
    read = fetcher.QueueFetcher.read

    def stamped_read(self: fetcher.QueueFetcher, flat: list[Any]) -> Any:
        stamps.replied = time.monotonic_ns()
        result = read(self, flat)
        stamps.read = time.monotonic_ns()
        return result

    fetcher.QueueFetcher.read = stamped_read  # type: ignore[method-assign]
    signals = redis.Redis.from_url(url)

    def on_job(n: str) -> None:
        now = time.monotonic_ns()
        signals.lpush(SIGNAL, f"{n} {stamps.replied} {stamps.read} {now}")

    start, stop = helper.Hexbus(url, on_job=on_job).worker(16)
    start()
    print("ready", flush=True)
    sys.stdin.readline()
    stop()


def one_round(url: str, samples: int, warmup: int, gap: float) -> dict[str, float]:
    """One worker, ``samples`` timed events after ``warmup``; the median of each phase (ms)."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--worker", url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdin is not None
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError("the worker process did not start")
        time.sleep(0.5)
        system = helper.Hexbus(url)
        signals = redis.Redis.from_url(url)
        rows: list[tuple[int, ...]] = []
        for i, job in enumerate(system.jobs(warmup + samples, "i")):
            time.sleep(gap)
            started = time.monotonic_ns()
            system.send(job)
            returned = time.monotonic_ns()
            reply = signals.brpop([SIGNAL], 5)
            if reply is None:
                raise RuntimeError(f"event {i} did not reach its handler within 5 s")
            n, replied, read, handler = reply[1].decode().split()
            if n != helper.label("i", i):
                raise RuntimeError(f"expected {helper.label('i', i)}, the handler said {n}")
            if i >= warmup:
                r, d, h = int(replied), int(read), int(handler)
                rows.append((returned - started, r - started, d - r, h - d, h - started))
        floor: list[float] = []
        for _ in range(samples):
            time.sleep(gap)
            began = time.monotonic_ns()
            signals.ping()
            floor.append((time.monotonic_ns() - began) / 1e6)
        process.stdin.write("stop\n")
        process.stdin.flush()
        process.wait(60)
    finally:
        if process.poll() is None:
            process.kill()
    medians = {name: statistics.median(r[k] for r in rows) / 1e6 for k, name in enumerate(PHASES)}
    medians["PING after the same idle gap"] = statistics.median(floor)
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200, help="timed events per round (200)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, a worker each (3)")
    parser.add_argument("--gap-ms", type=float, default=10.0, help="idle gap before each (10)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    print(f"idle path, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"command: .venv/bin/python bench/idle_path.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"  {os.cpu_count()} cores, load average at start {os.getloadavg()[0]:.2f}")
    rounds = []
    with RedisServer() as server:
        url = f"redis://127.0.0.1:{server.port}/0"
        for number in range(args.rounds):
            rounds.append(one_round(url, args.samples, 20, args.gap_ms / 1000))
            print(f"  round {number + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    print(f"  {args.samples} events per round, one every {args.gap_ms:g} ms; p50 per round (ms)")
    print()
    for name in rounds[0]:
        values = [r[name] for r in rounds]
        per_round = ", ".join(f"{v:.3f}" for v in values)
        print(f"  {name:30s} median {statistics.median(values):.3f}   rounds {per_round}")


if __name__ == "__main__":
    main()

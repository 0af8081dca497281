"""hexbus side by side with BullMQ, and raw Dramatiq where it applies, on one private Redis.

Run: .venv/bin/python bench/vs_bullmq.py [--events N] [--rounds R] [--quick]

Starts its own redis-server (never the shared one) and, the first time, installs BullMQ into
bench/bullmq/ from its committed package.json and lock file (``npm ci``). Every workload runs
in processes of its own, one per system: ``node bench/bullmq/<workload>.mjs`` for BullMQ and
``bench/vs_bullmq_python.py {hexbus,dramatiq} <workload>`` for the other two, each printing its
results as JSON. This process starts them, flushes Redis before each, polls Redis to see a
drain end, and reads the CPU time of the worker processes (``/proc/<pid>/stat``, utime +
stime) and of redis-server (``INFO cpu``, used_cpu_user + used_cpu_sys) around each drain.

The three systems: BullMQ (the pinned 5.x release, every option at its default; a Worker's
``concurrency`` is its handlers at once), hexbus at its defaults (``create_container`` on the
Redis bus: success ledger, publish de-duplication, status tracking and metrics on; a
``WorkerRuntime`` from ``container.worker_runtime(queues=..., threads=...)``), and raw Dramatiq
(``RedisBroker``, default middleware, ``dramatiq.Worker``). One no-op handler; every job
carries the same 204-byte envelope (hexbus's serialized event; BullMQ's job data; Dramatiq's
actor argument) and an id of its own (BullMQ: ``jobId``; hexbus: the event id, de-duplicated;
Dramatiq: its message id).

Each round runs workloads 1-3 for every system, the systems in rotating order (round 1:
BullMQ, hexbus, Dramatiq; round 2: hexbus, Dramatiq, BullMQ; ...), so that load from elsewhere
on the machine falls on all alike; figures are medians over the rounds:

1. publish N one by one (``queue.add`` / ``publish`` / ``actor.send``, jobs built before the
   clock starts, after a 200-job warm-up that is then flushed away); then drain those N with 2
   worker processes of 8 (handlers at once each): from "go" to the last job done (BullMQ: N
   in ``completed``; hexbus and Dramatiq: the queue and its message hash empty, i.e. every
   message acked). Worker processes start and connect before "go"; their start-up is not
   counted.
2. publish N in batches of 1,000 (``addBulk`` / ``publish_all`` / Dramatiq's enqueue script
   pipelined: it has no batch send); then drain those N with 1 process of 16.
3. latency: an idle worker (1 x 16), then single jobs, each published 10 ms after the previous
   one's handler started; publish-call start to handler start (the monotonic clock, which the
   publishing and the worker process share), p50 and p99.

Then, after the rounds, two workloads whose fill is too slow to repeat in every round:

4. delayed jobs (BullMQ and hexbus): 100,000 jobs delayed 24 h for each, both on the server at
   once (``addBulk`` with ``delay`` / hexbus's publish script pipelined with a due time), and
   Redis ``used_memory`` per pending job; then, in R rounds in the same orders, with a worker
   (1 x 16) running and the backlogs pending, 1,000 jobs one every 5 ms, each due 1 s ahead
   (``delay: 1000`` / ``publish(at=)``): lateness = handler start (wall clock) - due time,
   stamped by the handler in its signal; the client reads the signals once at the end and
   meanwhile only checks the list's length, so it takes no CPU from the worker it measures.
   After each, a burst: 1,000 jobs added back to back, all due at the same millisecond 2 s
   after the first is added; its drain rate is the jobs over the time from that due time to
   the last job's start, to hold beside the 1 x 16 drain rate, and beside its own baseline: the
   same 1,000 jobs published with no delay and drained by a worker (1 x 16) whose handler
   pushes the same signal per job (a round trip no drain row's no-op handler makes).
5. stats (BullMQ and hexbus): ``queue.getJobCounts()`` against
   ``RedisQueueMonitor.queue_stats()`` with 10 and with 1,000,000 jobs waiting, each level a
   queue (a namespace, for hexbus) of its own on one server; 1,000 timed calls per level and
   system in each of R rounds, in the same orders; the median call. The 10, and 20,000 of the
   million, are added through the library (``addBulk`` / ``publish_all``); the other 980,000
   are copies of a real one made by a Lua script on the server (see ``Bench.copy_waiting``),
   so that the fill takes seconds instead of minutes.

CPU per job: "client" is the publishing process's own CPU over the timed part
(``process.cpuUsage()`` / ``time.process_time()``), "worker" the drain's worker processes', and
"Redis" redis-server's, each divided by the jobs. On a shared machine these move much less than
the rates do. ``--quick``: 2,000 jobs, 1 round, 10,000 pending, 10,000 waiting, fewer
samples: a smoke run of every workload, not figures to quote.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import select
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import IO, Any

import attrs
import redis

from hexbus.testing.redis_server import RedisServer

ROOT = Path(__file__).resolve().parent.parent
BULLMQ_DIR = ROOT / "bench" / "bullmq"
HELPER = ROOT / "bench" / "vs_bullmq_python.py"
SYSTEMS = ("bullmq", "hexbus", "dramatiq")
NAMES = {"bullmq": "BullMQ", "hexbus": "hexbus", "dramatiq": "raw Dramatiq"}
QUEUE = "bench"
SIGNAL = "vs-bullmq:signal"  # the list the handlers of the latency and lateness runs push to
DAY_MS = 86_400_000
WARMUP = 200  # jobs published (and flushed away) before the timed publishing
POLL = 0.002  # seconds between two checks of a drain's progress
READY_TIMEOUT = 60.0  # seconds a worker process may take to start
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Copies of a waiting job (see Bench.copy_waiting): ARGV = id prefix, first, last, then ...
COPY_BULLMQ = """
local prefix = ARGV[4]
local fields = {}
for i = 5, #ARGV do fields[#fields + 1] = ARGV[i] end
for i = tonumber(ARGV[2]), tonumber(ARGV[3]) do
  local id = ARGV[1] .. i
  redis.call('HSET', prefix .. id, unpack(fields))
  redis.call('LPUSH', KEYS[1], id)
end
"""
COPY_HEXBUS = """
for i = tonumber(ARGV[2]), tonumber(ARGV[3]) do
  local id = ARGV[1] .. i
  local body = string.gsub(ARGV[4], ARGV[5], id)
  redis.call('HSET', KEYS[2], id, body)
  redis.call('RPUSH', KEYS[1], id)
end
"""


@attrs.frozen(kw_only=True)
class Config:
    """What one run measures."""

    events: int
    rounds: int
    batch: int = 1_000
    samples: int = 200  # latency samples per round
    latency_warmup: int = 20
    gap_ms: float = 10.0
    pending: int = 100_000  # delayed 24 h, for lateness and memory
    late_samples: int = 1_000
    spacing_ms: float = 5.0
    lead_ms: int = 1_000
    burst: int = 1_000  # jobs all due at the same millisecond
    burst_lead_ms: int = 2_000
    calls: int = 1_000  # stats calls per level per round
    small: int = 10
    large: int = 1_000_000
    large_real: int = 20_000  # of ``large``, added through the library; the rest are copies


# --- processes ---------------------------------------------------------------------------


def flags(options: dict[str, object]) -> list[str]:
    argv = []
    for name, value in options.items():
        if value is not None:
            argv += [f"--{name.replace('_', '-')}", str(value)]
    return argv


def proc_cpu(pid: int) -> float:
    """Seconds of CPU (user + system, all threads) process ``pid`` has used so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def redis_cpu(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def read_line(process: subprocess.Popen[str], timeout: float, errors: IO[str]) -> dict[str, Any]:
    """The next JSON line ``process`` prints, within ``timeout`` seconds."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    line = process.stdout.readline() if ready else ""
    if not line:
        errors.seek(0)
        process.kill()
        raise RuntimeError(
            f"{shlex.join(map(str, process.args))} printed nothing within {timeout:.0f} s "  # type: ignore[arg-type]
            f"(exit {process.poll()}):\n{errors.read()[-3000:]}"
        )
    return dict(json.loads(line))


class Workers:
    """Worker processes that have started and connected, waiting for "go"."""

    def __init__(self, argvs: Sequence[list[str]]) -> None:
        self._errors = [tempfile.TemporaryFile("w+") for _ in argvs]  # noqa: SIM115 (kill)
        self.processes = [
            subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True
            )
            for argv, err in zip(argvs, self._errors, strict=True)
        ]
        for process, err in zip(self.processes, self._errors, strict=True):
            read_line(process, READY_TIMEOUT, err)

    def cpu(self) -> float:
        return sum(proc_cpu(p.pid) for p in self.processes)

    def _say(self, word: str) -> None:
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.write(word + "\n")
            process.stdin.flush()

    def go(self) -> None:
        self._say("go")

    def stop(self) -> list[dict[str, Any]]:
        self._say("stop")
        results = [read_line(p, 60, e) for p, e in zip(self.processes, self._errors, strict=True)]
        for process in self.processes:
            process.wait(timeout=30)
        return results

    def kill(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        for err in self._errors:
            err.close()


# --- the workloads ---------------------------------------------------------------------------


@attrs.frozen
class Throughput:
    """A timed publish or drain: jobs/s, and CPU per job (us) of its process(es) and Redis."""

    rate: float
    own_us: float
    redis_us: float


@attrs.frozen
class Round:
    """One round's figures for one system; lateness and memory are None for raw Dramatiq."""

    publish: Throughput
    drain_2x8: Throughput
    batch: Throughput
    drain_1x16: Throughput
    latency: tuple[float, ...]
    lateness: tuple[float, ...] | None = None
    burst: tuple[float, ...] | None = None
    burst_handler_drain: float | None = None
    memory: float | None = None


Stats = dict[tuple[str, int], list[float]]  # call times (ms) by (system, jobs waiting)


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(q / 100 * len(ordered)) - 1, 0)]


def burst_rate(lateness: Sequence[float]) -> float:
    """Jobs per second from their common due time to the last one's start."""
    last = max(lateness)
    return math.inf if last <= 0 else len(lateness) / (last / 1000)


class Bench:
    def __init__(self, server: RedisServer, config: Config) -> None:
        self.url = server.url
        # No 5 s socket timeout (redis-py's default): flushing millions of keys takes longer.
        self.client = server.client(socket_timeout=300)
        self.config = config
        self.envelope = subprocess.run(
            [sys.executable, str(HELPER), "hexbus", "envelope"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        assert len(self.envelope.encode()) == 204, self.envelope

    def command(self, system: str, workload: str, **options: object) -> list[str]:
        if system == "bullmq":
            options.setdefault("queue", QUEUE)
            if workload in {"publish", "latency", "lateness", "fill"}:
                options["envelope"] = self.envelope
            if "threads" in options:
                options["concurrency"] = options.pop("threads")
            script = str(BULLMQ_DIR / f"{workload}.mjs")
            return ["node", script, "--url", self.url, *flags(options)]
        return [sys.executable, str(HELPER), system, workload, "--url", self.url, *flags(options)]

    def run(self, system: str, workload: str, timeout: float, **options: object) -> dict[str, Any]:
        argv = self.command(system, workload, **options)
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0 or not done.stdout.strip():
            raise RuntimeError(
                f"{shlex.join(argv[:4])} ... failed (exit {done.returncode}):\n"
                f"{done.stderr[-3000:]}"
            )
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))

    @contextlib.contextmanager
    def workers(
        self, system: str, processes: int, threads: int, signal: str | None = None
    ) -> Iterator[Workers]:
        argv = self.command(system, "worker", threads=threads, signal=signal)
        workers = Workers([argv] * processes)
        try:
            yield workers
        finally:
            workers.kill()

    def flush(self) -> None:
        self.client.flushdb()

    def drained(self, system: str, count: int) -> Callable[[], bool]:
        client = self.client
        if system == "bullmq":
            return lambda: int(client.zcard(f"bull:{QUEUE}:completed")) >= count
        namespace = "hexbus" if system == "hexbus" else "dramatiq"

        def empty() -> bool:
            pipe = client.pipeline(transaction=False)
            pipe.llen(f"{namespace}:{QUEUE}")
            pipe.hlen(f"{namespace}:{QUEUE}.msgs")
            return not any(pipe.execute())

        return empty

    def publish(self, system: str, batch: int) -> Throughput:
        count = self.config.events
        result = self.run(
            system, "publish", 60 + count / 100, count=count, batch=batch, warmup=WARMUP
        )
        return Throughput(
            count / result["seconds"],
            result["cpu_us"] / count,
            result["redis_cpu_s"] * 1e6 / count,
        )

    def drain(self, system: str, processes: int, threads: int) -> Throughput:
        count = self.config.events
        done = self.drained(system, count)
        timeout = 120 + count / 50
        with self.workers(system, processes, threads) as workers:
            cpu, cpu_redis = workers.cpu(), redis_cpu(self.client)
            started = time.perf_counter()
            workers.go()
            while not done():
                if time.perf_counter() - started > timeout:
                    raise RuntimeError(f"{NAMES[system]}: drain incomplete after {timeout:.0f} s")
                time.sleep(POLL)
            elapsed = time.perf_counter() - started
            cpu, cpu_redis = workers.cpu() - cpu, redis_cpu(self.client) - cpu_redis
            handled = sum(r["handled"] for r in workers.stop())
        if handled != count:
            raise RuntimeError(f"{NAMES[system]}: the handler ran {handled} times for {count} jobs")
        return Throughput(count / elapsed, cpu / count * 1e6, cpu_redis / count * 1e6)

    def latency(self, system: str) -> tuple[float, ...]:
        c = self.config
        with self.workers(system, 1, 16, SIGNAL) as workers:
            workers.go()
            time.sleep(0.5)
            result = self.run(
                system,
                "latency",
                60 + (c.samples + c.latency_warmup) * 6,
                samples=c.samples,
                warmup=c.latency_warmup,
                gap_ms=c.gap_ms,
                signal=SIGNAL,
            )
            workers.stop()
        return tuple(result["latencies_ms"])

    def backlog(self, system: str) -> float:
        """Fill the delayed backlog; returns Redis memory per pending job."""
        c = self.config
        fill = self.run(
            system,
            "fill",
            120 + c.pending / 200,
            count=c.pending,
            delay_ms=DAY_MS,
            inflight=4 if system == "bullmq" else None,
        )
        return float(fill["memory_after"] - fill["memory_before"]) / c.pending

    def signal_drain(self, system: str) -> float:
        """The burst's baseline: ``burst`` jobs published at once (no delay), then drained by
        a worker (1 x 16) whose handler pushes the same signal per job as in the burst, with
        the backlog pending; jobs/s from ``go`` to the last signal."""
        c = self.config
        self.client.delete(SIGNAL)
        self.run(system, "publish", 60 + c.burst / 100, count=c.burst, batch=c.batch, warmup=0)
        with self.workers(system, 1, 16, SIGNAL) as workers:
            started = time.perf_counter()
            workers.go()
            while int(self.client.llen(SIGNAL)) < c.burst:
                if time.perf_counter() - started > 120:
                    raise RuntimeError(f"{NAMES[system]}: signal drain incomplete after 120 s")
                time.sleep(POLL)
            elapsed = time.perf_counter() - started
            workers.stop()
        self.client.delete(SIGNAL)
        return c.burst / elapsed

    def lateness(self, system: str, *, burst: bool = False) -> tuple[float, ...]:
        """With the backlog pending and a worker running, how late delayed jobs start: jobs
        one every ``spacing_ms``, or (``burst``) ``burst`` jobs all due at the same
        millisecond."""
        c = self.config
        self.client.delete(SIGNAL)
        samples = c.burst if burst else c.late_samples
        with self.workers(system, 1, 16, SIGNAL) as workers:
            workers.go()
            time.sleep(1.0)
            result = self.run(
                system,
                "lateness",
                120 + samples * c.spacing_ms / 1000,
                samples=samples,
                lead_ms=c.burst_lead_ms if burst else c.lead_ms,
                spacing_ms=c.spacing_ms,
                signal=SIGNAL,
                burst=1 if burst else None,
            )
            workers.stop()
        schedule = f"bull:{QUEUE}:delayed" if system == "bullmq" else "hexbus:schedule"
        left = int(self.client.zcard(schedule))
        if left != c.pending:
            raise RuntimeError(f"{NAMES[system]}: {left:,} of {c.pending:,} still pending")
        return tuple(math.inf if v is None else float(v) for v in result["lateness_ms"])

    def delayed(
        self, orders: Sequence[Sequence[str]], progress: Callable[[str], None]
    ) -> dict[str, tuple[float, list[tuple[float, ...]], list[tuple[float, ...]], list[float]]]:
        """Both backlogs filled once (memory per pending job), then lateness and a burst in
        rounds."""
        self.flush()
        memory = {}
        for system in ("bullmq", "hexbus"):
            started = time.perf_counter()
            memory[system] = self.backlog(system)
            progress(
                f"delayed: {NAMES[system]} has {self.config.pending:,} pending, "
                f"{memory[system]:,.0f} B each ({time.perf_counter() - started:.0f} s)"
            )
        lateness: dict[str, list[tuple[float, ...]]] = {"bullmq": [], "hexbus": []}
        bursts: dict[str, list[tuple[float, ...]]] = {"bullmq": [], "hexbus": []}
        signal_drains: dict[str, list[float]] = {"bullmq": [], "hexbus": []}
        for order in orders:
            for system in (s for s in order if s != "dramatiq"):
                lateness[system].append(self.lateness(system))
                values = lateness[system][-1]
                progress(
                    f"lateness {NAMES[system]}: p50 {pct(values, 50):.1f} ms, "
                    f"p99 {pct(values, 99):.1f} ms"
                )
                bursts[system].append(self.lateness(system, burst=True))
                values = bursts[system][-1]
                progress(
                    f"burst {NAMES[system]}: {burst_rate(values):,.0f} jobs/s after the due "
                    f"time, p50 {pct(values, 50):.1f} ms, p99 {pct(values, 99):.1f} ms"
                )
                signal_drains[system].append(self.signal_drain(system))
                progress(
                    f"the burst's handler, {self.config.burst:,} not delayed: "
                    f"{NAMES[system]} {signal_drains[system][-1]:,.0f} jobs/s"
                )
        self.flush()
        return {s: (memory[s], lateness[s], bursts[s], signal_drains[s]) for s in memory}

    def one_round(self, system: str, progress: Callable[[str], None]) -> Round:
        c = self.config
        steps: list[str] = []
        clock = time.perf_counter()

        def step(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            steps.append(f"{name} {now - clock:.0f}")
            clock = now

        self.flush()
        publish = self.publish(system, 1)
        step("publish")
        drain_2x8 = self.drain(system, 2, 8)
        step("2x8")
        self.flush()
        batch = self.publish(system, c.batch)
        step("batches")
        drain_1x16 = self.drain(system, 1, 16)
        step("1x16")
        self.flush()
        latency = self.latency(system)
        step("latency")
        self.flush()
        progress(
            f"{NAMES[system]}: publish {publish.rate:,.0f}/s, batches {batch.rate:,.0f}/s, "
            f"drain 2x8 {drain_2x8.rate:,.0f}/s, 1x16 {drain_1x16.rate:,.0f}/s, latency p50 "
            f"{pct(latency, 50):.2f} ms (seconds: {', '.join(steps)})"
        )
        return Round(publish, drain_2x8, batch, drain_1x16, latency)

    def copy_waiting(self, system: str, level: int, copies: int) -> None:
        """``copies`` more waiting jobs, copies of the newest real one under new ids, made by a
        Lua script on the server in chunks of 20,000: for BullMQ the job's hash and its id
        pushed on the wait list, for hexbus the message body (its redis id replaced) in the
        queue's message hash and its id pushed on the queue. Those are the keys each library
        writes for a waiting job; only the per-job bookkeeping of its add script (BullMQ's
        events stream entry, hexbus's dedup key) is left out, which neither stats call reads."""
        if system == "bullmq":
            prefix, wait = f"bull:stats-{level}:", f"bull:stats-{level}:wait"
            first = self.client.lindex(wait, 0).decode()
            fields = self.client.hgetall(prefix + first)
            pairs = [x for item in fields.items() for x in item]
            script, keys, args = COPY_BULLMQ, [wait], [prefix, *pairs]
        else:
            queue, messages = f"s{level}:{QUEUE}", f"s{level}:{QUEUE}.msgs"
            first = self.client.lindex(queue, 0).decode()
            body = self.client.hget(messages, first).decode()
            pattern = first.replace(".", "%.").replace("-", "%-")
            script, keys, args = COPY_HEXBUS, [queue, messages], [body, pattern]
        copy = self.client.register_script(script)
        for start in range(0, copies, 20_000):
            stop = min(start + 20_000, copies) - 1
            copy(keys=keys, args=[f"copy{level}-", start, stop, *args])

    def stats(self, orders: Sequence[Sequence[str]], progress: Callable[[str], None]) -> Stats:
        """Call times (ms) per (system, level), the levels filled once, the calls in rounds."""
        c = self.config
        self.flush()
        levels = (c.small, c.large)
        for level in levels:
            real = min(level, c.large_real)
            for system in ("bullmq", "hexbus"):
                started = time.perf_counter()
                where = (
                    {"queue": f"stats-{level}"}
                    if system == "bullmq"
                    else {"namespace": f"s{level}"}
                )
                inflight = 4 if system == "bullmq" else None
                fill = self.run(system, "fill", 600, count=real, inflight=inflight, **where)
                how = f"{real:,} through the library at {fill['rate']:,.0f}/s"
                if level > real:
                    self.copy_waiting(system, level, level - real)
                    how += f", {level - real:,} copies"
                progress(
                    f"stats: {NAMES[system]} has {level:,} waiting ({how}; "
                    f"{time.perf_counter() - started:.0f} s)"
                )
        times: Stats = {}
        for order in orders:
            for system in (s for s in order if s != "dramatiq"):
                for level in levels:
                    where = (
                        {"queue": f"stats-{level}"}
                        if system == "bullmq"
                        else {"namespace": f"s{level}"}
                    )
                    result = self.run(system, "stats", 120, calls=c.calls, warmup=20, **where)
                    found = result["counts"]["waiting"] if system == "bullmq" else result["waiting"]
                    if found != level:
                        raise RuntimeError(f"{NAMES[system]}: {found:,} waiting, not {level:,}")
                    times.setdefault((system, level), []).extend(result["call_ms"])
        self.flush()
        return times


# --- the report --------------------------------------------------------------------------------


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0 or math.isinf(a) or math.isinf(b):
        return "-"
    return f"{a / b:.2f}x"


def fmt(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    if math.isinf(value):
        return "> 30 s"
    return f"{value:,.{digits}f}"


Row = tuple[str, list[str], list[str]]  # label, a cell per system, the two ratios
HEADERS = ("BullMQ", "hexbus", "raw Dramatiq", "hexbus/BullMQ", "hexbus/raw")


def table(results: dict[str, list[Round]], stats: Stats, c: Config) -> list[Row]:
    """The rows of the report: medians over the rounds, and hexbus's ratios to the others."""

    def med(system: str, pick: Callable[[Round], float | None]) -> float | None:
        values = [v for r in results[system] if (v := pick(r)) is not None]
        return statistics.median(values) if values else None

    rows: list[Row] = []

    def row(label: str, pick: Callable[[Round], float | None], digits: int = 0) -> None:
        values = [med(s, pick) for s in SYSTEMS]
        cells = [fmt(v, digits) for v in values]
        rows.append((label, cells, [ratio(values[1], values[0]), ratio(values[1], values[2])]))

    def pair(label: str, pick: Callable[[Round], Sequence[float] | None], digits: int) -> None:
        def at(q: float) -> list[float | None]:
            return [med(s, lambda r: pct(v, q) if (v := pick(r)) else None) for s in SYSTEMS]

        p50s, p99s = at(50), at(99)
        cells = [
            "-" if p50 is None else f"{fmt(p50, digits)} / {fmt(p99, digits)}"
            for p50, p99 in zip(p50s, p99s, strict=True)
        ]
        ratios = []
        for other in (0, 2):
            a, b = ratio(p50s[1], p50s[other]), ratio(p99s[1], p99s[other])
            ratios.append("-" if a == "-" else f"{a} / {b}")
        rows.append((label, cells, ratios))

    n = f"{c.events:,}"
    row("publish one by one, with an id (jobs/s)", lambda r: r.publish.rate)
    row("  client CPU per job (us)", lambda r: r.publish.own_us)
    row("  Redis CPU per job (us)", lambda r: r.publish.redis_us, 1)
    row(f"publish in batches of {c.batch:,}, with ids (jobs/s)", lambda r: r.batch.rate)
    row("  client CPU per job (us)", lambda r: r.batch.own_us)
    row("  Redis CPU per job (us)", lambda r: r.batch.redis_us, 1)
    row(f"drain {n}, 1 process x 16 (jobs/s)", lambda r: r.drain_1x16.rate)
    row("  worker CPU per job (us)", lambda r: r.drain_1x16.own_us)
    row("  Redis CPU per job (us)", lambda r: r.drain_1x16.redis_us, 1)
    row(f"drain {n}, 2 processes x 8 (jobs/s)", lambda r: r.drain_2x8.rate)
    row("  worker CPU per job (us)", lambda r: r.drain_2x8.own_us)
    row("  Redis CPU per job (us)", lambda r: r.drain_2x8.redis_us, 1)
    pair("publish-to-handler latency p50 / p99 (ms)", lambda r: r.latency, 2)
    pair(f"lateness, {c.pending:,} pending, p50 / p99 (ms)", lambda r: r.lateness, 1)
    row(
        f"burst of {c.burst:,} due at once, drain after due (jobs/s)",
        lambda r: burst_rate(r.burst) if r.burst else None,
    )
    pair("  lateness in the burst, p50 / p99 (ms)", lambda r: r.burst, 1)
    row(
        f"  the same handler, {c.burst:,} not delayed, 1 x 16 (jobs/s)",
        lambda r: r.burst_handler_drain,
    )
    row("Redis bytes per pending delayed job", lambda r: r.memory)
    for level in (c.small, c.large):
        values = [
            statistics.median(stats[s, level]) if (s, level) in stats else None for s in SYSTEMS
        ]
        rows.append(
            (
                f"stats call, median (ms), {level:,} waiting",
                [fmt(v, 2) for v in values],
                [ratio(values[1], values[0]), "-"],
            )
        )
    return rows


def print_table(rows: list[Row]) -> None:
    """A Markdown table, numbers right-aligned."""
    width = max(len(label) for label, _, _ in rows)
    sizes = [max(len(HEADERS[i]), *(len([*r[1], *r[2]][i]) for r in rows)) for i in range(5)]

    def line(label: str, values: Sequence[str]) -> str:
        cells = " | ".join(v.rjust(size) for v, size in zip(values, sizes, strict=True))
        return f"| {label:<{width}} | {cells} |"

    print(line("measurement", HEADERS))
    print(f"|{'-' * (width + 2)}|" + "|".join("-" * (size + 1) + ":" for size in sizes) + "|")
    for label, cells, ratios in rows:
        print(line(label, [*cells, *ratios]))


def print_details(results: dict[str, list[Round]], stats: Stats, c: Config) -> None:
    """Each round's rates and latency, the stats p99s and jobs that never ran."""
    print("Each round (jobs/s; latency p50 in ms):")
    for system in SYSTEMS:
        rounds = results[system]
        parts = [
            ("publish", [r.publish.rate for r in rounds]),
            ("batches", [r.batch.rate for r in rounds]),
            ("1x16", [r.drain_1x16.rate for r in rounds]),
            ("2x8", [r.drain_2x8.rate for r in rounds]),
        ]
        text = "; ".join(f"{name} " + ", ".join(f"{v:,.0f}" for v in vs) for name, vs in parts)
        text += "; latency " + ", ".join(f"{pct(r.latency, 50):.2f}" for r in rounds)
        print(f"  {NAMES[system]:<13}{text}")
    for system in ("bullmq", "hexbus"):
        levels = ", ".join(
            f"{level:,} waiting {pct(stats[system, level], 99):.2f} ms"
            for level in (c.small, c.large)
        )
        late = sum(math.isinf(v) for r in results[system] if r.lateness for v in r.lateness)
        print(
            f"  {NAMES[system]}: stats p99 {levels}; lateness: {late} jobs not run 30 s after due"
        )


# --- the run -----------------------------------------------------------------------------------


def ensure_bullmq() -> str:
    """node's version; installs bench/bullmq/node_modules from the lock file if missing."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise SystemExit("vs_bullmq: Node.js (node and npm) is needed for BullMQ's side")
    if not (BULLMQ_DIR / "node_modules" / "bullmq" / "package.json").is_file():
        print("installing BullMQ: npm ci --prefix bench/bullmq", file=sys.stderr)
        subprocess.run(
            ["npm", "ci", "--prefix", str(BULLMQ_DIR), "--no-audit", "--no-fund"],
            check=True,
            stdout=sys.stderr,
        )
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True)
    return node.stdout.strip()


def source_version() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False
        ).stdout.strip()

    dirty = " + uncommitted changes" if git("status", "--porcelain", "--", "src", "bench") else ""
    branch, commit = git("rev-parse", "--abbrev-ref", "HEAD"), git("rev-parse", "--short", "HEAD")
    return f"{branch} at {commit}{dirty}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, help="jobs per publish and drain (20,000)")
    parser.add_argument("--rounds", type=int, help="rounds, median reported (3)")
    parser.add_argument("--quick", action="store_true", help="a small run of every workload")
    args = parser.parse_args()
    if args.quick:
        config = Config(
            events=args.events or 2_000,
            rounds=args.rounds or 1,
            samples=50,
            pending=10_000,
            late_samples=200,
            calls=200,
            large=10_000,
            large_real=2_000,
        )
    else:
        config = Config(events=args.events or 20_000, rounds=args.rounds or 3)
    wall = time.perf_counter()
    node = ensure_bullmq()
    bullmq = json.loads((BULLMQ_DIR / "node_modules" / "bullmq" / "package.json").read_text())
    print(
        f"hexbus vs BullMQ vs raw Dramatiq, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"Python {platform.python_version()}, Node.js {node}"
    )
    print(f"command: .venv/bin/python bench/vs_bullmq.py {shlex.join(sys.argv[1:])}".rstrip())
    print(f"  code: {source_version()}")
    print(f"  {os.cpu_count()} cores, load average at start {os.getloadavg()[0]:.2f}")

    def progress(line: str) -> None:
        print(f"  [{time.perf_counter() - wall:5.0f} s] {line}", file=sys.stderr, flush=True)

    results: dict[str, list[Round]] = {s: [] for s in SYSTEMS}
    orders = [SYSTEMS[r % 3 :] + SYSTEMS[: r % 3] for r in range(config.rounds)]
    with RedisServer() as server:
        bench = Bench(server, config)
        info = bench.client.info("server")
        print(
            f"  redis-server {info['redis_version']} (private, port {server.port}), bullmq "
            f"{bullmq['version']}, dramatiq {metadata.version('dramatiq')}, redis-py "
            f"{metadata.version('redis')}; {config.events:,} jobs per publish/drain, "
            f"{config.rounds} round(s), median"
        )
        for number, order in enumerate(orders, 1):
            progress(f"round {number}/{config.rounds}: {', '.join(NAMES[s] for s in order)}")
            for system in order:
                results[system].append(bench.one_round(system, progress))
        for system, (memory, lateness, bursts, drains) in bench.delayed(orders, progress).items():
            results[system] = [
                attrs.evolve(
                    r, lateness=late, burst=burst, burst_handler_drain=drain, memory=memory
                )
                for r, late, burst, drain in zip(
                    results[system], lateness, bursts, drains, strict=True
                )
            ]
        stats = bench.stats(orders, progress)
    print()
    print_table(table(results, stats, config))
    print()
    print(
        "Ratios are hexbus's figure over the other's: above 1 is better for hexbus in the jobs/s "
        "rows, below 1 in the CPU, latency, lateness, bytes and stats rows."
    )
    print_details(results, stats, config)
    print(
        f"  (whole run {time.perf_counter() - wall:.0f} s; load average at end "
        f"{os.getloadavg()[0]:.2f})"
    )


if __name__ == "__main__":
    main()

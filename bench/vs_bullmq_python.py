"""The Python side of bench/vs_bullmq.py: one workload per run, for hexbus or raw Dramatiq.

Run by vs_bullmq.py, as bench/bullmq/*.mjs are for BullMQ, each against the private
redis-server whose URL it is given, printing one JSON line of results on stdout:

  vs_bullmq_python.py SYSTEM publish --url URL --count N [--batch B] [--warmup W]
  vs_bullmq_python.py SYSTEM worker --url URL --threads T [--signal KEY]
  vs_bullmq_python.py SYSTEM latency --url URL --samples S --warmup W --gap-ms G --signal KEY
  vs_bullmq_python.py hexbus fill --url URL --count N [--delay-ms D] [--namespace NS]
  vs_bullmq_python.py hexbus lateness --url URL --samples M --lead-ms L --spacing-ms S
                      --signal KEY [--burst 1]
  vs_bullmq_python.py hexbus stats --url URL --calls C [--namespace NS]
  vs_bullmq_python.py hexbus envelope

SYSTEM is ``hexbus`` (built by ``hexbus.container.create_container`` from an explicit
environment: the Redis bus, the given URL, everything else at its defaults, so the success
ledger, publish de-duplication, status tracking and the metrics observer are on; logging is not
configured, as in an application that embeds the library, so the observer's INFO lines are not
written) or ``dramatiq`` (a plain ``RedisBroker`` with its default middleware and an actor).
Both have one no-op handler on the queue ``bench``, and every job is the same 204-byte
envelope: hexbus publishes a ``BenchJob`` event, whose serialized envelope is that; raw
Dramatiq sends the envelope as its actor's one argument; BullMQ adds it as the job's data.

A worker prints ``{"ready": true}`` once built, starts consuming on a ``go`` line on stdin, and
on ``stop`` stops and prints how many jobs it ran. With ``--signal KEY`` its handler stamps its
start and pushes ``label monotonic_ns wall_ms`` to the list KEY on a connection of its own; the
latency and lateness runs read it back.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import current_millis

from hexbus import DomainEvent, DomainEventsProcessor, EventSerializer

QUEUE = "bench"
HANDLER = "bench.noop"
ACTOR = "bench_noop"
LABEL_WIDTH = 6
FILL_BATCH = 1_000  # events per pipelined round trip when filling
SAMPLE_TIMEOUT = 5  # seconds a latency sample may take
POLL = 0.002  # seconds between two checks of the signal list (vs_bullmq.py's drain watcher's)


@attrs.frozen(kw_only=True)
class BenchJob(DomainEvent):
    """The benchmark's job: a 6-character label, which makes its envelope 204 bytes."""

    event_type = "bench.job"
    n: str


def label(prefix: str, i: int) -> str:
    """``prefix`` and ``i`` in LABEL_WIDTH characters (``j00042``), as common.mjs makes them."""
    digits = LABEL_WIDTH - len(prefix)
    return f"{prefix}{i % 10**digits:0{digits}d}"


def emit(result: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


def redis_cpu(client: redis.Redis) -> float:
    """Seconds of CPU redis-server has used so far."""
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def used_memory(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


# --- the two systems -----------------------------------------------------------------------


class Hexbus:
    """hexbus at its defaults, on the Redis bus, with one no-op handler on QUEUE."""

    def __init__(self, url: str, namespace: str | None = None, on_job: Callable[[str], None] = str):
        # Imported here: the container takes seconds to import, and raw Dramatiq's processes
        # need none of hexbus's adapters.
        from hexbus.container import create_container  # noqa: PLC0415

        env = {"USE_QUEUE_EVENT_BUS": "true", "REDIS_URL": url}
        if namespace:
            env["HEXBUS_NAMESPACE"] = namespace
        self.container = create_container(env=env)

        def noop(event: BenchJob) -> None:
            on_job(event.n)

        processor = self.container.processor()
        processor.register_handler(BenchJob, noop, name=HANDLER, queue=QUEUE)
        # Routes declared as the worker that serves them declares them (ADR 0015): publishing
        # before a worker has started queues the events for it instead of keeping them as
        # unrouted, as BullMQ's and Dramatiq's jobs wait in their queues.
        self.processor = processor
        self.declare()
        self.bus = self.container.event_bus()

    def declare(self) -> None:
        """Declare the handler's route, as the worker that serves it does when it starts."""
        from hexbus.testing.dramatiq_harness import declare_routes  # noqa: PLC0415

        declare_routes(self.container.redis_client(), self.container.redis_keys(), self.processor)

    def jobs(self, count: int, prefix: str) -> list[BenchJob]:
        return [BenchJob(n=label(prefix, i)) for i in range(count)]

    def publish(self, jobs: Sequence[BenchJob], batch: int) -> None:
        if batch <= 1:
            for job in jobs:
                self.bus.publish(job)
        else:
            for i in range(0, len(jobs), batch):
                self.bus.publish_all(jobs[i : i + batch])

    def send(self, job: BenchJob) -> None:
        self.bus.publish(job)

    def worker(self, threads: int) -> tuple[Callable[[], None], Callable[[], None]]:
        runtime = self.container.worker_runtime(queues=[QUEUE], threads=threads)
        return runtime.start, lambda: runtime.stop(timedelta(seconds=30))


class RawDramatiq:
    """A plain RedisBroker (default middleware, namespace ``dramatiq``) and a no-op actor."""

    def __init__(self, url: str, on_job: Callable[[str], None] = str):
        self.broker = RedisBroker(url=url)  # type: ignore[no-untyped-call]

        def noop(envelope: dict[str, Any]) -> None:
            on_job(envelope["payload"]["n"])

        self.actor = dramatiq.actor(  # type: ignore[call-overload]
            noop, broker=self.broker, actor_name=ACTOR, queue_name=QUEUE
        )

    def jobs(self, count: int, prefix: str) -> list[dict[str, Any]]:
        """The envelope with each job's label and an event id of its own (as common.mjs
        makes BullMQ's job data)."""
        template = envelope()
        return [
            {**template, "event_id": str(uuid.uuid4()), "payload": {"n": label(prefix, i)}}
            for i in range(count)
        ]

    def publish(self, jobs: Sequence[dict[str, Any]], batch: int) -> None:
        if batch <= 1:
            for job in jobs:
                self.actor.send(job)
        else:
            for i in range(0, len(jobs), batch):
                self.send_batch(jobs[i : i + batch])

    def send(self, job: dict[str, Any]) -> None:
        self.actor.send(job)

    def send_batch(self, jobs: Sequence[dict[str, Any]]) -> None:
        """Dramatiq has no batch send: this is ``RedisBroker.enqueue`` for each message, its
        middleware hooks included, with the dispatch script calls in one pipeline."""
        broker = self.broker
        dispatch = broker.scripts["dispatch"]
        pipe = broker.client.pipeline(transaction=False)
        messages = []
        for job in jobs:
            message = self.actor.message(job)
            message = message.copy(options={"redis_message_id": str(uuid.uuid4())})
            broker.emit_before("enqueue", message, None)
            dispatch(
                keys=[broker.namespace],
                args=[
                    "enqueue",
                    current_millis(),
                    message.queue_name,
                    broker.broker_id,
                    broker.heartbeat_timeout,
                    broker.dead_message_ttl,
                    broker._should_do_maintenance("enqueue"),
                    broker._max_unpack_size(),
                    message.options["redis_message_id"],
                    message.encode(),
                ],
                client=pipe,
            )
            messages.append(message)
        pipe.execute()
        for message in messages:
            broker.emit_after("enqueue", message, None)

    def worker(self, threads: int) -> tuple[Callable[[], None], Callable[[], None]]:
        worker = dramatiq.Worker(self.broker, worker_threads=threads)

        def start() -> None:
            self.broker.emit_after("process_boot")  # as the dramatiq CLI does
            worker.start()

        return start, lambda: worker.stop(timeout=30_000)


System = Hexbus | RawDramatiq


def envelope(n: str = label("j", 0)) -> dict[str, Any]:
    """A BenchJob's serialized envelope, as a dict (its JSON is 204 bytes)."""
    processor = DomainEventsProcessor()
    processor.register_handler(BenchJob, lambda event: None, name=HANDLER, queue=QUEUE)
    return dict(json.loads(EventSerializer(processor.registry).dumps(BenchJob(n=n))))


def make(
    name: str, url: str, namespace: str | None = None, on_job: Callable[[str], None] = str
) -> System:
    if name == "hexbus":
        return Hexbus(url, namespace, on_job)
    return RawDramatiq(url, on_job)


# --- the workloads ---------------------------------------------------------------------------


def publish(args: argparse.Namespace) -> None:
    client = redis.Redis.from_url(args.url)
    system = make(args.system, args.url)
    if args.warmup:
        # Connections open and scripts loaded, on the same calls; then nothing of it is left.
        system.publish(system.jobs(args.warmup, "w"), args.batch)
        client.flushdb()
        if isinstance(system, Hexbus):
            # The flush took the route table with it: without this every timed event would
            # be published unrouted (kept for a later subscriber), not queued for the handler.
            system.declare()
    jobs = system.jobs(args.count, "j")
    memory = used_memory(client)
    cpu_redis = redis_cpu(client)
    cpu = time.process_time()
    started = time.perf_counter()
    system.publish(jobs, args.batch)
    seconds = time.perf_counter() - started
    cpu_us = (time.process_time() - cpu) * 1e6
    emit(
        {
            "count": args.count,
            "seconds": seconds,
            "cpu_us": cpu_us,
            "redis_cpu_s": redis_cpu(client) - cpu_redis,
            "memory_before": memory,
            "memory_after": used_memory(client),
        }
    )


def worker(args: argparse.Namespace) -> None:
    counter = itertools.count()
    handled = [0]
    signals = redis.Redis.from_url(args.url) if args.signal else None
    key = args.signal

    def on_job(n: str) -> None:
        if signals is not None:
            stamp, wall = time.monotonic_ns(), time.time() * 1000
            signals.lpush(key, f"{n} {stamp} {wall:.3f}")
        handled[0] = next(counter) + 1

    system = make(args.system, args.url, args.namespace, on_job)
    start, stop = system.worker(args.threads)
    emit({"ready": True})
    for line in sys.stdin:
        if line.strip() == "go":
            break
    cpu = time.process_time()
    start()
    for line in sys.stdin:
        if line.strip() == "stop":
            break
    stop()
    emit({"handled": handled[0], "cpu_us": (time.process_time() - cpu) * 1e6})


def latency(args: argparse.Namespace) -> None:
    system = make(args.system, args.url)
    signals = redis.Redis.from_url(args.url)
    jobs = system.jobs(args.warmup + args.samples, "l")
    values = []
    cpu = time.process_time()
    for i, job in enumerate(jobs):
        time.sleep(args.gap_ms / 1000)
        started = time.monotonic_ns()
        system.send(job)  # type: ignore[arg-type]
        reply = signals.brpop([args.signal], SAMPLE_TIMEOUT)
        if reply is None:
            raise RuntimeError(f"latency sample {i} did not run within {SAMPLE_TIMEOUT} s")
        ran, stamp, _ = reply[1].decode().split()
        if ran != label("l", i):
            raise RuntimeError(f"expected {label('l', i)}, the handler signalled {ran}")
        if i >= args.warmup:
            values.append((int(stamp) - started) / 1e6)
    emit({"latencies_ms": values, "cpu_us": (time.process_time() - cpu) * 1e6})


def fill(args: argparse.Namespace) -> None:
    """hexbus: ``count`` events waiting (publish_all in batches) or due in ``delay_ms`` (the
    bus's own publish script, pipelined the way publish_all pipelines it: publish_all takes no
    delay)."""
    hexbus = Hexbus(args.url, args.namespace)
    bus = hexbus.bus
    client = redis.Redis.from_url(args.url)
    memory = used_memory(client)
    started = time.perf_counter()
    for offset in range(0, args.count, FILL_BATCH):
        jobs = hexbus.jobs(min(FILL_BATCH, args.count - offset), "f")
        if args.delay_ms:
            plan = bus.plan
            due = plan.due_at(timedelta(milliseconds=args.delay_ms), None)
            table = bus._table.current()
            calls = [
                plan.prepare(job, plan.envelope(job), due, table, plan.token()) for job in jobs
            ]
            assert all(reply == 1 for reply in bus._run_pipeline(calls))
        else:
            bus.publish_all(jobs)
    seconds = time.perf_counter() - started
    emit(
        {
            "count": args.count,
            "seconds": seconds,
            "rate": args.count / seconds,
            "memory_before": memory,
            "memory_after": used_memory(client),
        }
    )


def due_at(due_ms: int) -> datetime:
    """The exact datetime of an epoch-ms time (no float rounding on the way back to ms)."""
    return datetime.fromtimestamp(due_ms // 1000, UTC) + timedelta(milliseconds=due_ms % 1000)


def lateness(args: argparse.Namespace) -> None:
    """``samples`` events, one every ``spacing_ms``, each published due ``lead_ms`` ahead
    (``publish(at=)`` to the millisecond); with ``--burst 1``, published back to back, all due
    at the same millisecond, ``lead_ms`` after the first. Lateness = handler start - due, in
    ms."""
    bus = Hexbus(args.url).bus
    signals = redis.Redis.from_url(args.url)
    dues: dict[str, float] = {}
    start = time.time() + 0.1
    burst_due = int(start * 1000) + args.lead_ms
    for i in range(args.samples):
        pause = start + i * args.spacing_ms / 1000 - time.time()
        if pause > 0 and not args.burst:
            time.sleep(pause)
        due_ms = burst_due if args.burst else int(time.time() * 1000) + args.lead_ms
        n = label("d", i)
        bus.publish(BenchJob(n=n), at=due_at(due_ms))
        dues[n] = due_ms
    # The handler stamps its start in the signal, so the signals can be read once at the end:
    # meanwhile this process only checks the list's length, as the drains' watcher does, and
    # takes no CPU from the worker it measures (popping each signal as it came took ~1,000
    # round trips of Python during a burst, which the burst's baseline drain did not pay).
    deadline = max(dues.values()) / 1000 + args.give_up_ms / 1000
    while int(signals.llen(args.signal)) < args.samples and time.time() < deadline:
        time.sleep(POLL)
    ran: dict[str, float] = {}
    for signal in reversed(signals.lrange(args.signal, 0, -1)):  # oldest first
        n, _, wall = signal.decode().split()
        ran.setdefault(n, float(wall))
    emit({"lateness_ms": [ran[n] - due if n in ran else None for n, due in dues.items()]})


def stats(args: argparse.Namespace) -> None:
    monitor = Hexbus(args.url, args.namespace).container.monitor()
    for _ in range(args.warmup):
        found = monitor.queue_stats()
    values = []
    for _ in range(args.calls):
        started = time.perf_counter()
        found = monitor.queue_stats()
        values.append((time.perf_counter() - started) * 1000)
    waiting = next(s.waiting for s in found if s.queue == QUEUE)
    emit({"call_ms": values, "waiting": waiting})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("system", choices=["hexbus", "dramatiq"])
    parser.add_argument("workload", choices=WORKLOADS)
    parser.add_argument("--url")
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--signal")
    parser.add_argument("--samples", type=int, default=0)
    parser.add_argument("--gap-ms", type=float, default=10.0)
    parser.add_argument("--delay-ms", type=int, default=0)
    parser.add_argument("--lead-ms", type=int, default=1000)
    parser.add_argument("--spacing-ms", type=float, default=5.0)
    parser.add_argument("--give-up-ms", type=int, default=30_000)
    parser.add_argument("--burst", type=int, default=0)
    parser.add_argument("--calls", type=int, default=1_000)
    parser.add_argument("--namespace")
    args = parser.parse_args()
    if args.workload == "envelope":
        print(json.dumps(envelope(), separators=(",", ":")))
        return
    WORKLOADS[args.workload](args)


WORKLOADS: dict[str, Callable[[argparse.Namespace], None]] = {
    "publish": publish,
    "worker": worker,
    "latency": latency,
    "fill": fill,
    "lateness": lateness,
    "stats": stats,
    "envelope": lambda args: None,
}


if __name__ == "__main__":
    main()

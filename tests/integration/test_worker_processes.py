"""Real worker processes over a real Redis: crashes, restarts, shutdown, bad input, limits."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from typing import Any

import pytest
import redis

from hexbus import DeadLetterReason, HandlerTimeout
from hexbus.adapters.dramatiq import DramatiqEventBus
from hexbus.container import create_container

from .apps import Job, register
from .conftest import StartWorker, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.slow]


@pytest.fixture
def bus(worker_env: dict[str, str]) -> DramatiqEventBus:
    """A publisher built like the workers: same settings, same handlers."""
    container = create_container(worker_env)
    register(container)
    bus = container.event_bus()
    assert isinstance(bus, DramatiqEventBus)
    return bus


def runs(client: redis.Redis, namespace: str, kind: str) -> list[tuple[str, int]]:
    """(label, pid) of every recorded run of ``kind``."""
    out = []
    for raw in client.lrange(f"{namespace}:test:{kind}", 0, -1):
        label, pid, _ = raw.decode().split("|")
        out.append((label, int(pid)))
    return out


def in_flight(client: redis.Redis, namespace: str) -> int:
    return sum(client.scard(key) for key in client.scan_iter(f"{namespace}:__acks__.*"))


def test_sigkilled_worker_messages_run_again_within_the_heartbeat_bound(
    bus: DramatiqEventBus, client: redis.Redis, namespace: str, start_worker: StartWorker
) -> None:
    first = start_worker("slow", threads=1)
    bus.publish(Job(label="crash", seconds=0.6))
    wait_for(lambda: runs(client, namespace, "slow-started"), timeout=20, what="first run")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    killed_at = time.monotonic()
    assert in_flight(client, namespace) == 1  # the killed worker's message is stranded

    start_worker("slow", threads=1)
    # Heartbeat timeout is 3 s in these tests; recovery runs every second.
    wait_for(
        lambda: len(runs(client, namespace, "slow-started")) == 2,
        timeout=3 + 1 + 5,
        what="the killed worker's message to run again",
    )
    recovered_after = time.monotonic() - killed_at
    wait_for(lambda: runs(client, namespace, "slow-done"), timeout=10, what="the rerun to finish")
    pids = {pid for _, pid in runs(client, namespace, "slow-started")}
    assert len(pids) == 2, "the rerun happened in the new process"
    assert recovered_after < 9
    wait_for(lambda: in_flight(client, namespace) == 0, timeout=5, what="acks to clear")


def test_sigterm_finishes_the_handler_in_flight_then_exits(
    bus: DramatiqEventBus, client: redis.Redis, namespace: str, start_worker: StartWorker
) -> None:
    worker = start_worker("slow", threads=1)
    bus.publish(Job(label="graceful", seconds=1.0))
    wait_for(lambda: runs(client, namespace, "slow-started"), timeout=20, what="the run to start")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=15) == 0
    assert [label for label, _ in runs(client, namespace, "slow-done")] == ["graceful"]
    assert in_flight(client, namespace) == 0
    assert client.zcard(f"{namespace}:__heartbeats__") == 0, "a clean exit leaves no heartbeat"


def test_supervisor_restarts_a_dead_worker_process(
    bus: DramatiqEventBus, client: redis.Redis, namespace: str, start_worker: StartWorker
) -> None:
    # One group for every queue of the app, so exactly one worker process runs.
    supervisor = start_worker("work+work.high+limited+slow=1", supervise=True)
    lines: list[str] = []

    def seen_pids() -> list[int]:
        return [int(m) for m in re.findall(r"started \S+ \(pid (\d+)\)", "".join(lines))]

    def started_pids() -> list[int]:
        # Reads one more line of the supervisor's output (blocking until it prints one).
        assert supervisor.stdout is not None
        line = supervisor.stdout.readline()
        if line:
            lines.append(line)
        return seen_pids()

    wait_for(lambda: len(started_pids()) == 1, timeout=20, interval=0, what="first worker")
    child = seen_pids()[0]
    subprocess.run(["kill", "-9", str(child)], check=True)
    wait_for(lambda: len(started_pids()) == 2, timeout=20, interval=0, what="restart")
    assert "exited with SIGKILL" in "".join(lines)

    bus.publish(Job(label="after-restart"))
    wait_for(lambda: runs(client, namespace, "done"), timeout=20, what="the restarted worker")
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(timeout=30) == 0


def test_bad_messages_are_dead_lettered_and_the_worker_keeps_running(
    bus: DramatiqEventBus, client: redis.Redis, namespace: str, start_worker: StartWorker
) -> None:
    start_worker("work", threads=1)
    queue, bodies = f"{namespace}:work", f"{namespace}:work.msgs"

    def inject(redis_id: str, body: bytes) -> None:
        client.hset(bodies, redis_id, body)
        client.rpush(queue, redis_id)
        client.rpush(f"{namespace}:wake:work", "1")

    envelope = bus.serializer.dumps(Job(label="x"))
    inject("garbage", b"\xff\xfe not json at all")
    inject(
        "wrong-actor",
        b'{"queue_name":"work","actor_name":"nope","args":[],"kwargs":{},"options":{},'
        b'"message_id":"m1","message_timestamp":1}',
    )
    unknown_type = envelope.replace('"it.job"', '"it.unknown"')
    invalid = envelope.replace('"label":"x"', '"label":12')
    for redis_id, env in (("unknown-type", unknown_type), ("invalid", invalid)):
        inject(
            redis_id,
            (
                '{"queue_name":"work","actor_name":"hexbus_deliver",'
                f'"args":["it.work",{env}],"kwargs":{{}},'
                f'"options":{{"redis_message_id":"{redis_id}"}},'
                '"message_id":"m2","message_timestamp":1}'
            ).encode(),
        )
    bus.publish(Job(label="good-after-bad"))

    wait_for(lambda: runs(client, namespace, "done"), timeout=20, what="the good event")
    wait_for(lambda: bus.dead_letters.count() == 4, timeout=10, what="four dead letters")
    reasons = sorted(d.reason.value for d in bus.dead_letters.list().items)
    assert reasons == ["undecodable"] * 4
    assert any("it.unknown" in d.error for d in bus.dead_letters.list().items)
    assert any("label" in d.error for d in bus.dead_letters.list().items)
    assert in_flight(client, namespace) == 0
    assert client.hlen(bodies) == 0, "nothing stuck in the queue's message hash"


def test_retries_then_success_and_non_retryable_goes_dead_at_once(
    bus: DramatiqEventBus, client: redis.Redis, namespace: str, start_worker: StartWorker
) -> None:
    start_worker("work,work.high", threads=2)
    bus.publish(Job(label="flaky", fail_times=2))
    bus.publish(Job(label="doomed", permanent=True))
    wait_for(lambda: runs(client, namespace, "done"), timeout=20, what="flaky to succeed")
    wait_for(lambda: bus.dead_letters.count() == 1, timeout=10, what="doomed dead letter")
    assert [lbl for lbl, _ in runs(client, namespace, "started")].count("flaky") == 3
    assert [lbl for lbl, _ in runs(client, namespace, "started")].count("doomed") == 1
    dead = bus.dead_letters.list().items[0]
    assert dead.reason is DeadLetterReason.NON_RETRYABLE
    assert dead.handler == "it.work"
    assert dead.attempts == 1
    assert "can never work" in dead.error
    assert "Traceback" in dead.traceback
    # The urgent handler ran on its own queue for all three events' worth of publishes.
    assert sorted(lbl for lbl, _ in runs(client, namespace, "urgent")) == ["doomed", "flaky"]


def test_handler_timeout_counts_as_a_failed_attempt(
    bus: DramatiqEventBus, client: redis.Redis, namespace: str, start_worker: StartWorker
) -> None:
    start_worker("slow", threads=1)
    bus.publish(Job(label="hangs", seconds=5.0))
    wait_for(lambda: bus.dead_letters.count() == 1, timeout=30, what="timeout dead letter")
    dead = bus.dead_letters.list().items[0]
    assert dead.error_type.endswith(HandlerTimeout.__qualname__)
    assert dead.attempts == 4  # max_retries=3: every attempt was interrupted
    assert runs(client, namespace, "slow-done") == []


def test_rate_limited_runs_wait_for_a_slot_without_spending_attempts(
    bus: DramatiqEventBus, client: redis.Redis, namespace: str, start_worker: StartWorker
) -> None:
    start_worker("limited", threads=4)
    published_at = time.time()
    for i in range(7):
        bus.publish(Job(label=f"l{i}", clinic_id="c1"))
    bus.publish(Job(label="other-clinic", clinic_id="c2"))
    wait_for(lambda: len(runs(client, namespace, "limited")) == 8, timeout=20, what="all 8 to run")
    times: list[Any] = sorted(
        float(raw.decode().split("|")[2])
        for raw in client.lrange(f"{namespace}:test:limited", 0, -1)
        if raw.decode().startswith("l")
    )
    # 3 per second for clinic c1: the 4th waits about a second, the 7th about two.
    assert times[3] - times[0] >= 0.9
    assert times[6] - times[0] >= 1.9
    assert times[-1] - published_at < 6
    assert bus.dead_letters.count() == 0

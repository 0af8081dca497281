"""``hexbus worker`` under faults, black-box: real supervisors, real workers, a real Redis.

* SIGKILL the supervisor: its workers stop within a few seconds (finishing what they hold),
  and a new supervisor runs the layout once, not on top of orphans.
* A worker process that dies at every start is reported as a crash loop, once, with its error.
"""

from __future__ import annotations

import re
import signal
import time

import pytest
import redis

from hexbus.adapters.dramatiq import DramatiqEventBus
from hexbus.container import create_container

from .apps import START_UP_FAILURE, Job, register
from .conftest import StartSupervisor, Supervised, worker_pids

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def wait_for(condition, *, timeout: float, what: str, output=None) -> float:  # type: ignore[no-untyped-def]
    """Poll until ``condition()``; returns the seconds it took. ``output()``, if given, is
    added to the failure: what the processes under test printed."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            printed = f"\n--- their output ---\n{output()}" if output is not None else ""
            pytest.fail(f"timed out after {timeout}s waiting for {what}{printed}")
        time.sleep(0.05)
    return time.monotonic() - started


def live_heartbeats(client: redis.Redis, namespace: str, within: float = 2.0) -> int:
    """Workers that wrote a heartbeat in the last ``within`` seconds."""
    since = (time.time() - within) * 1000
    return int(client.zcount(f"{namespace}:__heartbeats__", since, "+inf"))


def runs(client: redis.Redis, namespace: str, kind: str) -> list[str]:
    return [raw.decode().split("|")[0] for raw in client.lrange(f"{namespace}:test:{kind}", 0, -1)]


def in_flight(client: redis.Redis, namespace: str) -> int:
    return sum(client.scard(key) for key in client.scan_iter(f"{namespace}:__acks__.*"))


def started_pids(supervised: Supervised) -> list[int]:
    return [int(pid) for pid in re.findall(r"started \S+ \(pid (\d+)\)", supervised.output)]


def test_workers_die_with_a_killed_supervisor_and_a_new_one_runs_the_layout_once(
    start_supervisor: StartSupervisor,
    worker_env: dict[str, str],
    client: redis.Redis,
    namespace: str,
) -> None:
    container = create_container(worker_env)
    register(container)
    bus = container.event_bus()
    assert isinstance(bus, DramatiqEventBus)

    first = start_supervisor("work=1x2")
    wait_for(
        lambda: len(worker_pids(namespace)) == 2 and live_heartbeats(client, namespace) == 2,
        timeout=40,
        what="two workers of the layout work=1x2",
    )
    orphans = worker_pids(namespace)
    assert sorted(started_pids(first)) == orphans
    bus.publish(Job(label="in-flight", seconds=1.0))
    wait_for(lambda: runs(client, namespace, "started"), timeout=10, what="the handler to start")

    first.process.send_signal(signal.SIGKILL)
    first.process.wait(timeout=5)
    gone_after = wait_for(
        lambda: not worker_pids(namespace),
        timeout=15,
        what="the orphaned workers to stop",
        # What they printed says where a stop hung, should one ever hang.
        output=lambda: first.output[-4000:],
    )
    print(f"supervisor SIGKILLed with 2 workers: 0 left after {gone_after:.1f}s")
    assert gone_after < 5
    assert runs(client, namespace, "done") == ["in-flight"], "the orphan finished its handler"
    assert in_flight(client, namespace) == 0, "and held nothing back"
    assert live_heartbeats(client, namespace) == 0, "and signed off"

    second = start_supervisor("work=1x2")
    wait_for(
        lambda: len(worker_pids(namespace)) == 2 and live_heartbeats(client, namespace) == 2,
        timeout=40,
        what="the second supervisor's two workers",
    )
    time.sleep(2)  # long enough for a straggler to show up
    pids = worker_pids(namespace)
    beats = live_heartbeats(client, namespace)
    print(f"after the restart: {len(pids)} worker processes, {beats} live heartbeats (layout 2)")
    assert len(pids) == 2
    assert beats == 2
    assert set(pids) == set(started_pids(second))
    assert not set(pids) & set(orphans)

    bus.publish(Job(label="after-restart"))
    wait_for(
        lambda: "after-restart" in runs(client, namespace, "done"),
        timeout=10,
        what="the new workers to handle an event",
    )
    second.process.send_signal(signal.SIGTERM)
    assert second.process.wait(timeout=30) == 0
    assert worker_pids(namespace) == []


def test_a_crash_looping_worker_is_reported_once_with_its_last_error(
    start_supervisor: StartSupervisor, namespace: str
) -> None:
    supervised = start_supervisor(
        "work=1",
        app="tests.faults.apps:crash_in_workers",
        HEXBUS_CRASH_LOOP_EXITS="3",
        HEXBUS_CRASH_LOOP_WINDOW="120",
    )
    took = wait_for(
        lambda: "CRASH LOOP" in supervised.output, timeout=45, what="the crash loop report"
    )
    report = next(line for line in supervised.lines if "CRASH LOOP" in line)
    print(f"reported after {took:.1f}s: {report}")
    assert "work#1 exited 3 times" in report
    assert "exit status 1" in report
    assert START_UP_FAILURE in report, "the tail of the worker's stderr"
    wait_for(
        lambda: any("ALERT" in line and "crash-looping" in line for line in supervised.lines),
        timeout=5,
        what="the alert (the log alerter: no webhook configured)",
    )
    # One more death within the alert period: no second report.
    exits = supervised.output.count("exited with")
    wait_for(
        lambda: supervised.output.count("exited with") > exits,
        timeout=20,
        what="another exit",
    )
    time.sleep(0.5)
    assert supervised.output.count("CRASH LOOP") == 1
    alerts = [line for line in supervised.lines if "ALERT" in line and "crash-looping" in line]
    print(f"exits: {supervised.output.count('exited with')}, reports: 1, alerts: {len(alerts)}")
    assert len(alerts) == 1
    supervised.process.send_signal(signal.SIGTERM)
    assert supervised.process.wait(timeout=20) == 0

"""Kill storm, black-box: two publishers, ``hexbus worker`` with two worker processes, one of
them SIGKILLed every couple of seconds and the whole supervisor twice; nothing acknowledged is
lost, nothing runs again after its success was recorded, nothing is dead-lettered.

Size: ``HEXBUS_FAULT_EVENTS`` events, half from each publisher: 4,000 by default, so the
default run stays within its time budget on a loaded 2-core machine (about 30 s); the issue's
20,000 is ``HEXBUS_FAULT_EVENTS=20000`` (about 90 s there; figures in bench/RESULTS.md). Worker
kills go on every ``KILL_EVERY`` seconds until every event is published, both supervisor kills
have landed, ``STORM_SECONDS`` have passed and at least ``MIN_CHILD_KILLS`` workers died.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from pathlib import Path

import pytest
import redis

from hexbus.adapters.dramatiq import RedisKeys

from .conftest import StartSupervisor, worker_pids
from .storm import acknowledged, handled, runs, size, start_publisher
from .test_supervisor_faults import live_heartbeats, started_pids, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.slow]

LAYOUT = "storm=4x2"
KILL_EVERY = 1.5
SUPERVISOR_KILLS_AT = (3.0, 8.0)
STORM_SECONDS = 13.0
MIN_CHILD_KILLS = 4


def test_a_kill_storm_loses_nothing_and_reruns_nothing_that_succeeded(
    start_supervisor: StartSupervisor,
    worker_env: dict[str, str],
    client: redis.Redis,
    namespace: str,
    tmp_path: Path,
) -> None:
    keys = RedisKeys(namespace)
    total = size("HEXBUS_FAULT_EVENTS", 4_000)
    supervisor = start_supervisor(LAYOUT, app="tests.faults.apps:storm")
    wait_for(lambda: live_heartbeats(client, namespace) == 2, timeout=40, what="two storm workers")
    files = [tmp_path / "acked-1", tmp_path / "acked-2"]
    half = total // 2
    publishers = [
        start_publisher(worker_env, 0, half, files[0]),
        start_publisher(worker_env, half, total - half, files[1]),
    ]
    began = time.monotonic()
    child_kills = supervisor_kills = 0
    next_kill = began + KILL_EVERY
    pending_supervisor_kills = list(SUPERVISOR_KILLS_AT)
    rng = random.Random(11)
    # Kill until every event is published, both supervisors are killed and the storm is over.
    while (
        any(p.poll() is None for p in publishers)
        or pending_supervisor_kills
        or time.monotonic() - began < STORM_SECONDS
        or (child_kills < MIN_CHILD_KILLS and time.monotonic() - began < 60)
    ):
        now = time.monotonic()
        if pending_supervisor_kills and now - began >= pending_supervisor_kills[0]:
            pending_supervisor_kills.pop(0)
            supervisor.process.send_signal(signal.SIGKILL)
            supervisor.process.wait(timeout=5)
            supervisor_kills += 1
            supervisor = start_supervisor(LAYOUT, app="tests.faults.apps:storm")
        elif now >= next_kill:
            # The current supervisor's workers (the orphans of a killed one are on their way out).
            pids = sorted(set(worker_pids(namespace)) & set(started_pids(supervisor)))
            if pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(rng.choice(pids), signal.SIGKILL)  # a worker of this test, by pid
                    child_kills += 1
            next_kill = now + KILL_EVERY
        time.sleep(0.05)
    for publisher in publishers:
        assert publisher.wait(timeout=60) == 0, publisher.stdout.read() if publisher.stdout else ""
    published = time.monotonic() - began
    ids = acknowledged(*files)
    assert len(ids) == total, "every publish was acknowledged"
    wait_for(
        lambda: len(handled(client, keys, ids)) == total,
        timeout=120,
        what=f"all {total} events handled",
    )
    took = time.monotonic() - began
    done = handled(client, keys, ids)
    record = runs(client, keys, done)
    dead = int(client.zcard(keys.dead))
    print(
        f"kill storm: {total} events, {child_kills} worker SIGKILLs, {supervisor_kills} "
        f"supervisor SIGKILLs, published in {published:.1f}s, all handled in {took:.1f}s; "
        f"handled {len(done)}, lost {total - len(done)}, "
        f"handler runs {record.runs}, run twice before their success was recorded "
        f"{record.twice}, run after a recorded success {record.after_success}, dead letters "
        f"{dead}"
    )
    assert child_kills >= MIN_CHILD_KILLS
    assert supervisor_kills == 2
    assert len(done) == total, "0 lost"
    assert record.after_success == 0, "0 re-run after a recorded success"
    assert dead == 0, "0 dead letters"
    assert record.events == total

"""Redis SIGKILLed and restarted from its AOF mid-stream, three times, black-box: with
``appendfsync always`` every acknowledged publish is handled, and the workers reconnect
without a restart. With ``everysec`` (a soak run, ``HEXBUS_SOAK=1``) what is lost must have
been acknowledged within the fsync window before a kill (Redis documents about a second); a
SIGKILL of the process alone loses nothing in practice, since Redis writes the AOF before it
replies and only the fsync waits: the window is a host crash's.

Size: ``HEXBUS_FAULT_EVENTS`` events from two publishers (default 4,000).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from hexbus.adapters.dramatiq import RedisKeys
from hexbus.testing.redis_server import RedisServer

from .conftest import StartSupervisor, worker_pids
from .storm import acknowledged_at, handled, runs, size, start_publisher
from .test_supervisor_faults import live_heartbeats, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.slow]

LAYOUT = "storm=4x2"
RESTARTS = 3
EVERYSEC_WINDOW = 2.0
"""Seconds before a kill within which an acknowledged write may be lost with everysec (Redis
fsyncs once a second; a slow disk can delay that by another second)."""


@pytest.mark.parametrize(
    "appendfsync",
    [
        "always",
        pytest.param(
            "everysec",
            marks=[
                pytest.mark.soak,
                pytest.mark.skipif(os.environ.get("HEXBUS_SOAK") != "1", reason="HEXBUS_SOAK=1"),
            ],
        ),
    ],
)
def test_redis_killed_and_restarted_from_its_aof_loses_no_acknowledged_publish(
    appendfsync: str,
    start_supervisor: StartSupervisor,
    worker_env: dict[str, str],
    namespace: str,
    tmp_path: Path,
) -> None:
    keys = RedisKeys(namespace)
    total = size("HEXBUS_FAULT_EVENTS", 4_000)
    with RedisServer(persist=True, appendfsync=appendfsync) as server:
        client = server.client()
        env = {**worker_env, "REDIS_URL": server.url}
        supervisor = start_supervisor(LAYOUT, app="tests.faults.apps:storm", REDIS_URL=server.url)
        wait_for(lambda: live_heartbeats(client, namespace) == 2, timeout=40, what="2 workers")
        workers = worker_pids(namespace)
        files = [tmp_path / "acked-1", tmp_path / "acked-2"]
        half = total // 2
        publishers = [
            start_publisher(env, 0, half, files[0]),
            start_publisher(env, half, total - half, files[1]),
        ]
        kills: list[float] = []
        began = time.monotonic()
        for _ in range(RESTARTS):
            time.sleep(1.5)
            server.kill()
            kills.append(time.time())
            time.sleep(0.3)
            server.start()
        for publisher in publishers:
            out = publisher.stdout.read() if publisher.stdout else ""
            assert publisher.wait(timeout=120) == 0, out
        acked = acknowledged_at(*files)
        ids = list(acked)
        if appendfsync == "always":
            wait_for(
                lambda: len(handled(client, keys, ids)) == len(ids),
                timeout=120,
                what="every acknowledged event handled",
            )
        else:
            time.sleep(15)  # what can be handled is, the rest was lost with Redis's last second
        done = handled(client, keys, ids)
        lost = [i for i in ids if i not in done]
        outside = [i for i in lost if not any(0 <= k - acked[i] <= EVERYSEC_WINDOW for k in kills)]
        record = runs(client, keys, done)
        restarted = supervisor.output.count("exited with")
        in_flight = sum(int(client.scard(k)) for k in client.scan_iter(f"{namespace}:__acks__.*"))
        print(
            f"redis restarts ({appendfsync}): {RESTARTS} SIGKILLs + AOF restarts, {len(ids)} "
            f"acknowledged of {total} in {time.monotonic() - began:.1f}s, handled {len(done)}, "
            f"lost {len(lost)} ({len(outside)} outside {EVERYSEC_WINDOW:g}s before a kill), "
            f"run after a recorded success {record.after_success}, worker restarts {restarted}, "
            f"left in flight {in_flight}"
        )
        assert len(ids) == total, "every publish was acknowledged in the end"
        assert restarted == 0, "the workers reconnected without a restart"
        assert worker_pids(namespace) == workers
        assert record.after_success == 0
        if appendfsync == "always":
            assert lost == []
            assert in_flight == 0, "nothing stranded in an acks set"
        else:
            assert outside == [], "lost only what Redis's fsync window allows"

"""A queue's work per minute lives in its stats hash: written by the worker's scripts, read as
one window, pruned by the workers' upkeep (keys.py, ADR 0008)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hexbus.adapters.clocks import VirtualClock
from hexbus.adapters.dramatiq import DramatiqEventBus
from hexbus.adapters.dramatiq.maintenance import Maintenance
from hexbus.adapters.dramatiq.tracking import minute_of

from .apps import Job
from .conftest import wait_for

pytestmark = pytest.mark.redis


def _fields(bus: DramatiqEventBus, queue: str) -> dict[str, int]:
    raw = bus.client.hgetall(bus.keys.stats(queue))
    return {k.decode(): int(v) for k, v in raw.items()}  # type: ignore[union-attr]


def test_the_workers_count_each_minutes_work_in_the_queues_stats_hash(wired) -> None:  # type: ignore[no-untyped-def]
    bus, monitor, runtime = wired
    for i in range(4):
        bus.publish(Job(label=f"ok{i}"))
    bus.publish(Job(label="retried", fail_times=1))
    bus.publish(Job(label="doomed", permanent=True))
    runtime.start()

    def work():  # type: ignore[no-untyped-def]
        return {s.queue: s for s in monitor.queue_stats()}["work"]

    wait_for(
        lambda: work().succeeded == 5 and work().dead == 1 and work().running == 0,
        timeout=15,
        what="work drained",
    )
    fields = _fields(bus, "work")

    def summed(kind: str) -> int:
        return sum(n for name, n in fields.items() if name.endswith(f":{kind}"))

    assert summed("succeeded") == 5
    assert summed("failed") == work().failed >= 2, "the retry and the dead letter"
    assert summed("dead") == 1
    assert summed("duration_ms") >= 0
    minutes = {int(name.split(":")[0]) for name in fields if ":" in name}
    now = minute_of(monitor._clock.now())
    assert minutes <= {now - 1, now}, "counted in the minute they happened"
    spelled = {
        f"{m}:{count}" for m in minutes for count in ("succeeded", "failed", "dead", "duration_ms")
    }
    written = {name for name in fields if ":" in name}
    assert written <= spelled, "the fields keys.py lists, and no other"
    assert fields["dead"] == 1, "the standing counter beside the minutes"
    stray = list(bus.client.scan_iter(match=f"{bus.keys.stats('work')}:*"))
    assert stray == [], "no key per minute any more"


def test_the_window_sums_exactly_its_own_minutes(wired) -> None:  # type: ignore[no-untyped-def]
    bus, monitor, _ = wired
    now = minute_of(monitor._clock.now())
    span = int(monitor.tracking.window.total_seconds() // 60)
    key = bus.keys.stats("work")
    bus.client.hset(
        key,
        mapping={
            f"{now}:succeeded": 3,
            f"{now}:duration_ms": 30,
            f"{now - span + 1}:succeeded": 2,
            f"{now - span + 1}:failed": 1,
            f"{now - span + 1}:duration_ms": 20,
            # One minute before the window: not counted.
            f"{now - span}:succeeded": 100,
            f"{now - span}:failed": 100,
            "scheduled": 4,
        },
    )
    work = {s.queue: s for s in monitor.queue_stats()}["work"]
    assert (work.succeeded, work.failed, work.scheduled) == (5, 1, 4)
    assert work.mean_duration == timedelta(milliseconds=10)
    assert work.problem is None


def test_the_upkeep_prunes_minutes_past_retention_and_keeps_the_counters(wired) -> None:  # type: ignore[no-untyped-def]
    bus, _, _ = wired
    clock = VirtualClock()
    now = minute_of(clock.now())
    key = bus.keys.stats("work")
    old = {f"{now - 121 - i}:{kind}": 1 for i in range(1500) for kind in ("succeeded", "failed")}
    kept = {f"{now - 120}:succeeded": 7, f"{now}:dead": 1, "scheduled": 2, "dead": 3}
    bus.client.hset(key, mapping={**old, **kept})
    bus.client.sadd(bus.keys.queues, "work", "broken", "empty")
    bus.client.set(bus.keys.stats("broken"), "not a hash")
    upkeep = Maintenance(bus.client, bus.keys, broker_id="t", queues=["urgent"], clock=clock)
    assert upkeep.prune_stats() == len(old), "in chunks, past a script's unpack limit"
    assert _fields(bus, "work") == kept
    assert bus.client.get(bus.keys.stats("broken")) == b"not a hash", "another type is left"
    clock.advance(timedelta(hours=2, minutes=1))
    assert upkeep.prune_stats() == 2
    assert _fields(bus, "work") == {"scheduled": 2, "dead": 3}

"""What the fault tests read back from Redis: acknowledged events, their runs, their fate."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import attrs
import redis

from hexbus.adapters.dramatiq import RedisKeys

from .conftest import ROOT

HANDLER = "faults.count"


def size(name: str, default: int) -> int:
    """A fault test's size, overridable from the environment (``HEXBUS_FAULT_EVENTS=...``)."""
    return int(os.environ.get(name, default))


def start_publisher(
    env: dict[str, str], first: int, count: int, acked: Path
) -> subprocess.Popen[str]:
    """``tests.faults.publisher`` publishing ``count`` ticks from ``first``."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.faults.publisher", str(first), str(count), str(acked)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def acknowledged(*files: Path) -> list[str]:
    """The event ids the publishers saw accepted."""
    return list(acknowledged_at(*files))


def acknowledged_at(*files: Path) -> dict[str, float]:
    """Event id -> when its publish returned (epoch seconds)."""
    ids: dict[str, float] = {}
    for path in files:
        if path.exists():
            for line in path.read_text().splitlines():
                event_id, at = line.split()
                ids[event_id] = float(at)
    return ids


def handled(client: redis.Redis, keys: RedisKeys, ids: list[str]) -> dict[str, int]:
    """Event id -> the ms its handler's success was recorded, for those recorded."""
    pipe = client.pipeline(transaction=False)
    for event_id in ids:
        pipe.hget(keys.done(event_id), HANDLER)
    return {i: int(ms) for i, ms in zip(ids, pipe.execute(), strict=True) if ms is not None}


@attrs.frozen
class Runs:
    """How the handler's runs went, from its start records and the success ledger."""

    events: int
    runs: int
    twice: int
    """Events whose handler started more than once (each before its success was recorded:
    a worker killed between the start and the record, the one case a run repeats)."""
    after_success: int
    """Starts later than the event's recorded success: must be 0."""


def runs(client: redis.Redis, keys: RedisKeys, done: dict[str, int]) -> Runs:
    """Compare every recorded start with the recorded success of its event."""
    starts: dict[str, list[int]] = defaultdict(list)
    for raw in client.lrange(f"{keys.namespace}:test:starts", 0, -1):
        event_id, ms = raw.decode().split("|")
        starts[event_id].append(int(ms))
    twice = sum(1 for times in starts.values() if len(times) > 1)
    after = sum(1 for event_id, times in starts.items() for t in times if t > done.get(event_id, t))
    return Runs(len(starts), sum(len(t) for t in starts.values()), twice, after)

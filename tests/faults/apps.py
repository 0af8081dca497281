"""Apps for the fault tests, loaded into ``hexbus worker`` with ``--app``.

``register`` serves one queue (``work``) with one handler, so a layout of ``work=1x2`` is two
worker processes and nothing else; ``crash_in_workers`` is the same app, except that every
worker process it is loaded into dies at start-up, as a bad deploy would.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from datetime import timedelta

import attrs
import redis

from hexbus import DomainEvent, RetryPolicy
from hexbus.container import Container

START_UP_FAILURE = "simulated start-up failure: the app cannot reach its database"


@attrs.frozen(kw_only=True)
class Job(DomainEvent):
    """Run for ``seconds``."""

    event_type = "faults.job"
    label: str
    seconds: float = 0.0


class Recorder:
    """Writes handler runs into Redis (``{ns}:test:{kind}``) for the test to read."""

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self.client = client
        self.prefix = f"{namespace}:test"

    def note(self, kind: str, label: str) -> None:
        self.client.rpush(f"{self.prefix}:{kind}", f"{label}|{os.getpid()}|{time.time():.4f}")


def register(container: Container) -> None:
    """``--app tests.faults.apps:register``: handler ``faults.work`` on queue ``work``."""
    processor = container.processor()
    recorder = Recorder(container.redis_client(), container.settings().worker.namespace)

    def work(event: Job) -> None:
        recorder.note("started", event.label)
        time.sleep(event.seconds)
        recorder.note("done", event.label)

    processor.register_handler(Job, work, name="faults.work", queue="work")


def crash_in_workers(container: Container) -> None:
    """``--app tests.faults.apps:crash_in_workers``: the supervisor starts; its workers die."""
    register(container)
    if "worker-process" in sys.argv:
        raise RuntimeError(START_UP_FAILURE)


@attrs.frozen(kw_only=True)
class Tick(DomainEvent):
    """One event of a fault run; ``crash`` makes its handler kill its worker process."""

    event_type = "faults.tick"
    n: int
    crash: bool = False


@attrs.frozen(kw_only=True)
class Sink(DomainEvent):
    """The event type of the queues a fuzz breaks the keys of (none is ever published)."""

    event_type = "faults.sink"


SINK_QUEUES = ("fuzz-list", "fuzz-msgs", "fuzz-wake", "fuzz-runs")
"""Queues whose own keys the fuzz gives the wrong type, one key each."""


def storm(container: Container) -> None:
    """``--app tests.faults.apps:storm``: handler ``faults.count`` on queue ``storm`` records
    each start as ``event_id|ms`` in ``{ns}:test:starts`` (best effort: Redis may be down); a
    ``Tick(crash=True)`` kills its process as a segfault would."""
    processor = container.processor()
    client = container.redis_client()
    starts = f"{container.settings().worker.namespace}:test:starts"

    def count(event: Tick) -> None:
        if event.crash:
            os._exit(3)
        with contextlib.suppress(redis.RedisError):
            client.rpush(starts, f"{event.event_id}|{int(time.time() * 1000)}")

    processor.register_handler(
        Tick,
        count,
        name="faults.count",
        queue="storm",
        retry=RetryPolicy(max_retries=50, min_backoff=timedelta(milliseconds=100)),
    )


def fuzz(container: Container) -> None:
    """``--app tests.faults.apps:fuzz``: :func:`storm`, and a handler per sink queue."""
    storm(container)
    processor = container.processor()
    for queue in SINK_QUEUES:
        processor.register_handler(Sink, lambda event: None, name=f"faults.{queue}", queue=queue)

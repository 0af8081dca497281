"""Apps for the fault tests, loaded into ``hexbus worker`` with ``--app``.

``register`` serves one queue (``work``) with one handler, so a layout of ``work=1x2`` is two
worker processes and nothing else; ``crash_in_workers`` is the same app, except that every
worker process it is loaded into dies at start-up, as a bad deploy would.
"""

from __future__ import annotations

import os
import sys
import time

import attrs
import redis

from hexbus import DomainEvent
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

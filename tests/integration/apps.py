"""Handlers for integration tests, loaded into worker processes with ``--app``.

They record what they do in Redis (``{ns}:test:*`` keys), because the test runs in another
process than the workers. The event says how the handler should behave.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta

import attrs
import redis

from hexbus import (
    DomainEvent,
    NonRetryableError,
    Priority,
    RateLimit,
    RetryPolicy,
    handler_context,
)
from hexbus.container import Container


@attrs.frozen(kw_only=True)
class Job(DomainEvent):
    """Tells the test handler what to do: how long to run, how many times to fail first."""

    event_type = "it.job"
    label: str
    seconds: float = 0.0
    fail_times: int = 0
    permanent: bool = False
    clinic_id: str = "c1"
    report: bool = False
    """Report progress and a log line through hexbus.handler_context()."""


FAST_RETRY = RetryPolicy(
    max_retries=3, min_backoff=timedelta(milliseconds=20), max_backoff=timedelta(milliseconds=50)
)


class Recorder:
    """Writes handler runs into Redis for the test to read."""

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self.client = client
        self.prefix = f"{namespace}:test"

    def note(self, kind: str, label: str) -> int:
        pipe = self.client.pipeline()
        pipe.rpush(f"{self.prefix}:{kind}", f"{label}|{os.getpid()}|{time.time():.4f}")
        pipe.incr(f"{self.prefix}:count:{kind}:{label}")
        return int(pipe.execute()[1])


def _busy(seconds: float) -> None:
    # Short sleeps, so a timeout's asynchronous exception gets a chance to land.
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.01)


def register(container: Container) -> None:
    """``--app tests.integration.apps:register``."""
    processor = container.processor()
    settings = container.settings()
    recorder = Recorder(container.redis_client(), settings.worker.namespace)

    def work(event: Job) -> None:
        attempt = recorder.note("started", event.label)
        if event.report:
            handler_context().log(f"{event.label}: working")
            handler_context().progress(50)
        _busy(event.seconds)
        if event.permanent:
            raise NonRetryableError(f"{event.label} can never work")
        if attempt <= event.fail_times:
            raise RuntimeError(f"{event.label} fails on attempt {attempt}")
        recorder.note("done", event.label)

    def urgent(event: Job) -> None:
        recorder.note("urgent", event.label)

    def limited(event: Job) -> None:
        recorder.note("limited", event.label)

    def slow(event: Job) -> None:
        recorder.note("slow-started", event.label)
        _busy(event.seconds)
        recorder.note("slow-done", event.label)

    processor.register_handler(Job, work, name="it.work", queue="work", retry=FAST_RETRY)
    processor.register_handler(
        Job, urgent, name="it.urgent", queue="work", priority=Priority.HIGH, retry=FAST_RETRY
    )
    processor.register_handler(
        Job,
        limited,
        name="it.limited",
        queue="limited",
        rate_limit=RateLimit(name="it", limit=3, period=timedelta(seconds=1), key="clinic_id"),
    )
    processor.register_handler(
        Job, slow, name="it.slow", queue="slow", retry=FAST_RETRY, timeout=timedelta(seconds=1.5)
    )

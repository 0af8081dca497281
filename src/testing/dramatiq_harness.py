"""The contract suite's harness for the Dramatiq/Redis adapter.

It runs the adapter as production does, minus process boundaries: a ``DramatiqEventBus`` over
a real Redis, and a ``WorkerRuntime`` (real Dramatiq worker threads, hexbus's consumer, mover
and recovery) in this process, started on first use so that handlers registered by the test are
all there. Each harness gets its own key namespace, so tests never see each other's keys.

``workers`` builds that runtime. By default it is ``WorkerRuntime`` itself with its defaults,
so the harness needs nothing but a Redis client. hexbus's own contract run passes the
container's ``worker_runtime`` provider instead, the one ``hexbus worker`` uses, so the suite
proves production's wiring too (the harness itself cannot import the composition root: the
layers keep ``hexbus.testing`` and ``hexbus.container`` apart, ADR 0001).

Time is real here: :meth:`advance` sleeps, and tests written for both adapters keep delays and
backoffs short.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol

import redis

from ..adapters.dramatiq.event_bus import DramatiqEventBus
from ..adapters.dramatiq.keys import RedisKeys
from ..adapters.dramatiq.maintenance import MaintenanceTimings
from ..adapters.dramatiq.worker import WorkerRuntime, handler_queues
from ..application.processor import DomainEventsProcessor
from ..domain.events import DomainEvent
from ..ports.dead_letters import DeadLetters


class WorkerFactory(Protocol):
    """Builds a worker runtime: ``WorkerRuntime``, or the container's ``worker_runtime``."""

    def __call__(
        self,
        *,
        processor: DomainEventsProcessor,
        client: redis.Redis,
        keys: RedisKeys,
        queues: tuple[str, ...],
        threads: int,
        timings: MaintenanceTimings,
        idle_timeout: timedelta,
    ) -> WorkerRuntime: ...


class DramatiqHarness:
    """A bus, its dead letters, and workers, over one Redis client and a fresh namespace."""

    def __init__(
        self, client: redis.Redis, *, threads: int = 4, workers: WorkerFactory = WorkerRuntime
    ) -> None:
        self.client = client
        self.keys = RedisKeys(f"contract{uuid.uuid4().hex[:12]}")
        self.processor = DomainEventsProcessor()
        self.bus = DramatiqEventBus(self.processor, client, keys=self.keys)
        self.dead_letters: DeadLetters = self.bus.dead_letters
        self._threads = threads
        self._workers = workers
        self._runtime: WorkerRuntime | None = None

    # --- the BusHarness protocol -----------------------------------------------------------

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until nothing is queued, in flight, or due within the next moment."""
        self._ensure_workers()
        deadline = time.monotonic() + timeout
        quiet_since: float | None = None
        while True:
            pending = self._pending()
            if not pending:
                # Quiet twice in a row, a little apart: a retry may be just moving.
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= 0.15:
                    return
            else:
                quiet_since = None
            if time.monotonic() > deadline:
                raise AssertionError(f"not settled after {timeout}s: {pending}")
            time.sleep(0.02)

    def redeliver(self, event: DomainEvent) -> None:
        """Enqueue the event's handler messages again, as after a worker crash."""
        self.bus.redeliver(event)

    def advance(self, delta: timedelta) -> None:
        """Real time: wait ``delta`` (plus a mover interval) and let due work finish."""
        self._ensure_workers()
        time.sleep(delta.total_seconds() + 0.1)
        self.settle()

    def slow_handler(self, seconds: float) -> Callable[[Any], None]:
        """A handler that takes ``seconds``, in small sleeps a timeout can interrupt."""

        def slow(event: Any) -> None:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                time.sleep(0.01)

        return slow

    def close(self) -> None:
        """Stop the workers and delete this harness's keys."""
        if self._runtime is not None:
            self._runtime.stop(timedelta(seconds=5))
        keys = list(self.client.scan_iter(f"{self.keys.namespace}:*", count=1000))
        if keys:
            self.client.delete(*keys)

    # --- internals -------------------------------------------------------------------------

    def _ensure_workers(self) -> None:
        if self._runtime is not None or not len(self.processor):
            return
        # The test's own registry, client and namespace; quicker upkeep than production's.
        self._runtime = self._workers(
            processor=self.processor,
            client=self.client,
            keys=self.keys,
            queues=handler_queues(self.processor),
            threads=self._threads,
            timings=MaintenanceTimings(move_interval=timedelta(milliseconds=20)),
            idle_timeout=timedelta(milliseconds=200),
        )
        self._runtime.start()

    def _pending(self) -> dict[str, int]:
        now_ms = int(self.bus.clock.now().timestamp() * 1000)
        pipe = self.client.pipeline(transaction=False)
        queues = handler_queues(self.processor)
        for queue in queues:
            pipe.hlen(self.keys.messages(queue))
        pipe.zcount(self.keys.schedule, "-inf", now_ms + 50)
        counts = pipe.execute()
        pending = {q: int(n) for q, n in zip(queues, counts[:-1], strict=True) if n}
        if counts[-1]:
            pending["due in the schedule"] = int(counts[-1])
        return pending

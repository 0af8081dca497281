"""The contract suite's harness for the Dramatiq/Redis adapter.

It runs the adapter as production does, minus process boundaries: a ``DramatiqEventBus`` over
a real Redis, and a ``WorkerRuntime`` (its worker threads and fetch, mover and recovery) in
this process, started on first use so that handlers registered by the test are all there: it
declares their routes before the bus publishes. A handler registered after that is a worker
that starts later: another runtime starts, declaring it (ADR 0015). The ``publisher`` is a
second bus whose handler registry stays empty, as a web process that only
publishes. Each harness gets its own key namespace, so tests never see each other's keys.

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
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import redis

from ..adapters.dramatiq.event_bus import DramatiqEventBus
from ..adapters.dramatiq.keys import RedisKeys
from ..adapters.dramatiq.maintenance import MaintenanceTimings
from ..adapters.dramatiq.monitor import RedisQueueMonitor
from ..adapters.dramatiq.routes import Declaration, RedisRoutes
from ..adapters.dramatiq.worker import WorkerRuntime, handler_queues
from ..application.processor import DomainEventsProcessor
from ..domain.events import DomainEvent
from ..ports.dead_letters import DeadLetters


def declare_routes(
    client: redis.Redis,
    keys: RedisKeys,
    processor: DomainEventsProcessor,
    *,
    queues: Iterable[str] | None = None,
    broker_id: str = "declared-by-a-test",
) -> None:
    """Declare the routes of ``processor``'s handlers (those on ``queues``, default all) as a
    worker serving them does when it starts (ADR 0015), without starting one: for a test that
    publishes first and starts its workers later, or never, and wants the events queued for
    them rather than kept as unrouted."""
    served = handler_queues(processor) if queues is None else tuple(queues)
    declaration = Declaration.of(processor, served, broker_id=broker_id, started=datetime.now(UTC))
    RedisRoutes(client, keys).declare(declaration)


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
        self,
        client: redis.Redis,
        *,
        threads: int = 4,
        workers: WorkerFactory = WorkerRuntime,
        processor: DomainEventsProcessor | None = None,
    ) -> None:
        self.client = client
        self.keys = RedisKeys(f"contract{uuid.uuid4().hex[:12]}")
        self.processor = processor if processor is not None else DomainEventsProcessor()
        self._bus = DramatiqEventBus(self.processor, client, keys=self.keys)
        self._publisher = DramatiqEventBus(DomainEventsProcessor(), client, keys=self.keys)
        self.dead_letters: DeadLetters = self._bus.dead_letters
        self.monitor = RedisQueueMonitor(
            client, self.keys, DomainEventsProcessor(), self.dead_letters
        )
        self._threads = threads
        self._workers = workers
        self._runtimes: list[WorkerRuntime] = []
        self._served: frozenset[str] = frozenset()

    # --- the BusHarness protocol -----------------------------------------------------------

    @property
    def bus(self) -> DramatiqEventBus:
        """The bus, built over the workers' registry (as a process that loaded the app); the
        workers are started first, so the routes of the handlers registered so far exist."""
        self._ensure_workers()
        return self._bus

    @property
    def publisher(self) -> DramatiqEventBus:
        """A bus with an empty registry (as a web process that loaded no app)."""
        self._ensure_workers()
        return self._publisher

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
        for runtime in self._runtimes:
            runtime.stop(timedelta(seconds=5))
        keys = list(self.client.scan_iter(f"{self.keys.namespace}:*", count=1000))
        if keys:
            self.client.delete(*keys)

    # --- internals -------------------------------------------------------------------------

    def _ensure_workers(self) -> None:
        """Start a runtime for the handlers registered since the last one started.

        The earlier runtimes keep running (they share the registry, so they run the new
        handlers' messages too); only the new one declares the new routes, as a worker
        deployed with a new handler does.
        """
        served = frozenset(spec.name for spec in self.processor)
        if not served or served <= self._served:
            return
        # The test's own registry, client and namespace; quicker upkeep than production's.
        runtime = self._workers(
            processor=self.processor,
            client=self.client,
            keys=self.keys,
            queues=handler_queues(self.processor),
            threads=self._threads,
            timings=MaintenanceTimings(move_interval=timedelta(milliseconds=20)),
            idle_timeout=timedelta(milliseconds=200),
        )
        runtime.start()
        self._runtimes.append(runtime)
        self._served = served

    def _pending(self) -> dict[str, int]:
        now_ms = int(self._bus.clock.now().timestamp() * 1000)
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

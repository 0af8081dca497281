"""One worker process: hexbus's threads on Dramatiq's Redis broker, plus upkeep threads.

The broker is made inside the process; its threads are hexbus's :class:`~.worker_pool.WorkerPool`,
not Dramatiq's Worker (ADR 0019). The CLI's ``hexbus worker`` spawns one such process per
queue group and restarts any that die (:mod:`.supervisor`); it and the tests get their runtime
from the container's ``worker_runtime`` provider, giving only queues and threads.

Built in one direction (ADR 0012): the process's identity (its broker id) is decided first,
then each part is built after the parts it calls, so none reaches for something built later:
settlement (names the acks sets by the broker id), then the deliverer (reports to
settlement), then the broker and its fetchers (hand bad bodies to settlement), then the
threads, then upkeep (heartbeats the broker id).
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterable, Sequence
from datetime import timedelta

import redis

from ...application.delivery import HandlerRunner
from ...application.observers import ObserverGroup
from ...application.processor import DomainEventsProcessor
from ...application.unrouted import UnroutedPolicy
from ...domain.serialization import EventSerializer
from ...ports.clock import Clock
from ...ports.observer import BusObserver
from ..clocks import SystemClock
from ..event_loop import EventLoopThread
from .broker import HexbusRedisBroker
from .dead_letters import RedisDeadLetters
from .delivery import Deliverer
from .fetcher import QueueFetcher
from .handler_reports import RedisHandlerReports
from .handler_returns import HandlerReturns
from .keys import RedisKeys
from .maintenance import Maintenance, MaintenanceTimings
from .messages import queue_for
from .routes import Declaration, RedisRoutes
from .scripts import Scripts
from .settlement import Settlement
from .timeouts import Watchdog
from .tracking import Tracking
from .worker_pool import WorkerPool

log = logging.getLogger("hexbus.worker")


def handler_queues(processor: DomainEventsProcessor) -> tuple[str, ...]:
    """Every queue the registered handlers' messages go to (priority queues included)."""
    return tuple(sorted({queue_for(spec) for spec in processor}))


class WorkerRuntime:
    """Consumes ``queues`` with ``threads`` worker threads in this process.

    ``broker_id`` is this process's identity in Redis (its heartbeat, acks sets and route
    declaration); a fresh one by default. It declares the routes of the handlers it serves
    (those of ``processor`` on ``queues``) when it starts, so publishers with no handler
    registry reach them (ADR 0015). The rest defaults to production's values; the
    container's ``worker_runtime`` provider passes the configured ones.
    """

    def __init__(
        self,
        *,
        processor: DomainEventsProcessor,
        client: redis.Redis,
        queues: Sequence[str],
        threads: int,
        keys: RedisKeys | None = None,
        serializer: EventSerializer | None = None,
        clock: Clock | None = None,
        observers: Iterable[BusObserver] = (),
        retention: timedelta = timedelta(days=7),
        dead_letter_retention: timedelta = timedelta(days=7),
        timings: MaintenanceTimings | None = None,
        idle_timeout: timedelta = timedelta(seconds=1),
        tracking: Tracking | None = None,
        broker_id: str | None = None,
        max_worker_deaths: int = 3,
        event_loop: EventLoopThread | None = None,
    ) -> None:
        if threads < 1:
            raise ValueError("a worker needs at least one thread")
        if not queues:
            raise ValueError("a worker needs at least one queue")
        # Identity first: everything below that names this process's keys is given it.
        self.broker_id = broker_id or str(uuid.uuid4())
        self.keys = keys or RedisKeys()
        self.queues = tuple(queues)
        clock = clock or SystemClock()
        timings = timings or MaintenanceTimings()
        scripts = Scripts.register(client)
        tracked = tracking is None or tracking.enabled
        # Handlers' progress and log lines go to their status records (ADR 0024).
        reports = [RedisHandlerReports(scripts, self.keys, clock)] if tracked else []
        observer = ObserverGroup([*observers, *reports])
        self.dead_letters = RedisDeadLetters(
            client,
            self.keys,
            scripts,
            processor,
            clock,
            retention=dead_letter_retention,
            tracking=tracking,
        )
        # The settlement tells it when a handler returned; the pool, built later, listens.
        handler_returns = HandlerReturns()
        self.settlement = Settlement(
            scripts=scripts,
            keys=self.keys,
            broker_id=self.broker_id,
            processor=processor,
            clock=clock,
            observer=observer,
            dead_letters=self.dead_letters,
            retention=retention,
            tracking=tracking,
            max_worker_deaths=max_worker_deaths,
            handler_returns=handler_returns,
        )
        self.watchdog = Watchdog()
        # ``async def`` handlers: the worker thread that took the message hands the coroutine
        # to the process's loop and waits, so sync handlers stay on threads (ADR 0023).
        self._owns_loop = event_loop is None
        self.event_loop = event_loop or EventLoopThread()
        self.deliverer = Deliverer(
            processor=processor,
            serializer=serializer or EventSerializer(processor.registry),
            runner=HandlerRunner(observer, clock, enforce_timeout=True, coroutines=self.event_loop),
            settlement=self.settlement,
            watchdog=self.watchdog,
        )
        self.broker = HexbusRedisBroker(
            client=client,
            keys=self.keys,
            broker_id=self.broker_id,
            heartbeat_timeout_ms=int(timings.heartbeat_timeout.total_seconds() * 1000),
        )
        self.pool = WorkerPool(
            broker=self.broker,
            settlement=self.settlement,
            fetchers=[
                QueueFetcher(self.broker, self.settlement, queue)
                for queue in dict.fromkeys(self.queues)
            ],
            deliver=self.deliverer.deliver,
            clock=clock,
            threads=threads,
            idle_timeout=idle_timeout,
            handler_returns=handler_returns,
        )
        self.routes = RedisRoutes(
            client,
            self.keys,
            clock=clock,
            heartbeat_timeout=timings.heartbeat_timeout,
            grace=timings.route_grace,
            # A worker only hands kept events out: keeping or not is the publisher's policy.
            unrouted=UnroutedPolicy(retention=timings.unrouted_retention),
        )
        self.declaration = Declaration.of(
            processor, self.queues, broker_id=self.broker_id, started=clock.now(), threads=threads
        )
        self.maintenance = Maintenance(
            client,
            self.keys,
            broker_id=self.broker_id,
            queues=self.queues,
            timings=timings,
            clock=clock,
            routes=self.routes,
            declaration=self.declaration,
            tracking=tracking,
        )

    def start(self) -> None:
        """Start consuming, and the upkeep threads."""
        self.maintenance.start()
        self.pool.start()
        log.info("worker %s consuming %s", self.broker_id, ", ".join(self.queues))

    def stop(self, timeout: timedelta = timedelta(seconds=30)) -> None:
        """Finish the handlers in flight (up to ``timeout``), give back the rest, and leave."""
        self.pool.stop(timeout)
        # A thread still waiting for Redis to put a message back gives up: it stays in flight.
        self.settlement.stop()
        self.maintenance.stop()
        # Whatever our acks sets hold that no thread still runs goes back to its queue now
        # (fetched and not taken, or a fetch whose reply was lost): a clean stop leaves
        # nothing behind.
        for queue in self.queues:
            with contextlib.suppress(redis.RedisError):
                self.broker.reconcile(queue)
        # Only when nothing is left in flight; if Redis is away, the heartbeat expires and
        # recovery returns whatever our acks sets still hold (and drops our declaration).
        with contextlib.suppress(redis.RedisError):
            self.maintenance.withdraw_routes()
        with contextlib.suppress(redis.RedisError):
            self.maintenance.forget()
        self.watchdog.stop()
        if self._owns_loop:  # a shared loop (the container's) is its owner's to stop
            self.event_loop.stop()
        self.broker.close()

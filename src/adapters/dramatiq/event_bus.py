"""The Dramatiq/Redis event bus: publishing stores the event's handler messages in Redis.

``publish`` returns once Redis has the messages; worker processes (``hexbus worker``) run the
handlers. Fan-out happens here, at publish time (ADR 0005), from the routes the workers
declared in Redis (ADR 0015), not from this process's handler registry: a publisher needs the
event classes only. One script call writes one Dramatiq message per route and marks the
event_id accepted, so an event costs one round trip and there is no half-published state.
The route table is cached with its version, which the script checks; only when a worker
changed the routes does the script answer "stale", and the table is read again.
``publish_all`` pipelines those calls: one round trip per batch. What the calls are is built
by :mod:`.publish_plan`, which the async twin (:mod:`.async_event_bus`) shares.

An event whose type has no route is accepted too (pub/sub allows it): ``publish_unrouted.lua``
counts it and keeps it for a handler that subscribes later (``HEXBUS_UNROUTED``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import redis

from ...application.observers import ObserverGroup
from ...application.processor import DomainEventsProcessor
from ...application.unrouted import UnroutedPolicy
from ...domain.events import DomainEvent
from ...domain.serialization import EventSerializer
from ...ports.clock import Clock
from ...ports.event_bus import PublishResult
from ...ports.observer import BusObserver
from ..clocks import SystemClock
from .connection import with_retries
from .dead_letters import RedisDeadLetters
from .keys import RedisKeys
from .messages import QueuedMessage
from .publish_plan import CALL_MEANINGS, BatchPlan, CompiledTable, PublishPlan, ScriptCall
from .routes import STALE, RedisRoutes, RouteCache, RouteTable, fresh
from .scripts import Scripts
from .settings import PUBLISH_TIMEOUT
from .tracking import Tracking

DEFAULT_RETENTION = timedelta(days=7)


class DramatiqEventBus:
    """An :class:`EventBus` and :class:`EventScheduler` over Redis, for Dramatiq workers.

    The handlers an event goes to are the routes the workers declared (ADR 0015), so
    ``processor`` may be empty: the bus takes only the event classes from its registry.
    """

    def __init__(
        self,
        processor: DomainEventsProcessor,
        client: redis.Redis,
        *,
        keys: RedisKeys | None = None,
        serializer: EventSerializer | None = None,
        clock: Clock | None = None,
        observers: Iterable[BusObserver] = (),
        retention: timedelta = DEFAULT_RETENTION,
        dead_letter_retention: timedelta = DEFAULT_RETENTION,
        publish_timeout: timedelta = PUBLISH_TIMEOUT.default,
        publish_attempts: int | None = None,
        tracking: Tracking | None = None,
        unrouted: UnroutedPolicy | None = None,
        routes: RedisRoutes | None = None,
    ) -> None:
        self.processor = processor
        self.client = client
        self.keys = keys or RedisKeys()
        self.serializer = serializer or EventSerializer(processor.registry)
        self.clock: Clock = clock or SystemClock()
        self.observer = ObserverGroup(observers)
        self.retention = retention
        self.tracking = tracking or Tracking()
        self.unrouted = unrouted or UnroutedPolicy()
        self.scripts = Scripts.register(client)
        self.routes = routes or RedisRoutes(
            client, self.keys, clock=self.clock, unrouted=self.unrouted
        )
        self.dead_letters = RedisDeadLetters(
            client,
            self.keys,
            self.scripts,
            processor,
            self.clock,
            retention=dead_letter_retention,
            tracking=self.tracking,
            routes=self.routes,
        )
        self.plan = PublishPlan(
            keys=self.keys,
            serializer=self.serializer,
            clock=self.clock,
            observer=self.observer,
            retention=retention,
            tracking=self.tracking,
            unrouted=self.unrouted,
        )
        self._table: RouteCache[CompiledTable] = RouteCache(self._read_routes)
        # Every call to Redis is bounded by ``publish_timeout`` (HEXBUS_PUBLISH_TIMEOUT), its
        # retries included: see with_retries for what each error then means.
        bounded = functools.partial(
            with_retries, deadline=publish_timeout, attempts=publish_attempts
        )
        self._publish_one = bounded(self._run_script, **CALL_MEANINGS["publish"])
        self._cancel = bounded(self._run_script, **CALL_MEANINGS["cancel"])
        self._reschedule = bounded(self._run_script, **CALL_MEANINGS["reschedule"])
        self._publish_batch = bounded(self._run_pipeline, **CALL_MEANINGS["publish_all"])
        self._read_table = bounded(self.routes.read, **CALL_MEANINGS["read_routes"])

    # --- the EventBus port -----------------------------------------------------------------

    def publish(
        self,
        event: DomainEvent,
        *,
        delay: timedelta | None = None,
        at: datetime | None = None,
    ) -> PublishResult:
        """Store ``event`` for the routes of its type (now, or due at ``delay``/``at``).

        Returns once Redis has it, or raises within about ``publish_timeout``:
        :class:`EventBusUnavailable` when Redis could not be reached or did not answer in time
        (the event may or may not have been accepted; publishing it again is safe), or
        :class:`EventBusRejected` when Redis answered with an error such as ``WRONGTYPE``
        (never retried: not accepted, and trying again cannot help until the cause is fixed).
        """
        plan = self.plan
        envelope = plan.envelope(event)
        due_at = plan.due_at(delay, at)
        token = plan.token()

        def attempt(table: CompiledTable) -> tuple[ScriptCall, Any]:
            call = plan.prepare(event, envelope, due_at, table, token)
            return call, self._publish_one(call)

        call, accepted = fresh(self._table, attempt, lambda answer: answer[1] == STALE)
        return plan.result(event, call, bool(accepted))

    def publish_all(self, events: Iterable[DomainEvent]) -> Sequence[PublishResult]:
        """Publish a batch in one pipelined round trip; duplicates within it are reported.

        Should the route table change under the batch, the events the scripts found stale
        (nothing of them written) are published again with the fresh table.
        """
        batch = BatchPlan(self.plan, list(events))
        table = self._table.current()
        while not batch.done:
            if batch.tries:
                table = self._table.refresh(table)
            batch.answered(self._publish_batch(batch.calls(table)))
        return batch.results()

    # --- the EventScheduler port -----------------------------------------------------------

    def cancel(self, event_id: UUID) -> bool:
        """Remove a scheduled event before it is due; False when it is not pending."""
        removed = self._cancel(self.plan.cancel_call(event_id))
        if removed:
            self.observer.cancelled(event_id)
        return bool(removed)

    def reschedule(
        self, event_id: UUID, *, delay: timedelta | None = None, at: datetime | None = None
    ) -> bool:
        """Move a pending event to a new due time; False when it is not pending."""
        due_at = self.plan.due_at(delay, at)
        if due_at is None:
            raise ValueError("reschedule needs delay= or at=")
        moved = self._reschedule(self.plan.reschedule_call(event_id, due_at))
        return bool(moved)

    # --- operations ------------------------------------------------------------------------

    def redeliver(self, event: DomainEvent) -> None:
        """Enqueue an event for the routes of its type again, past the publish de-duplication.

        For replaying an event (and for the contract suite's redelivery tests). Handlers that
        already succeeded for it are still skipped: the success ledger is not bypassed. An
        event whose type has no route is not counted or kept again: nothing happens.
        """
        plan = self.plan
        envelope = plan.envelope(event)
        token = plan.token()

        def attempt(table: CompiledTable) -> Any:
            call = plan.prepare(event, envelope, None, table, token)
            if call.unrouted:
                return None
            return self._publish_one(plan.redelivery(call, event, token))

        fresh(self._table, attempt, lambda answer: answer == STALE)

    # --- internals -------------------------------------------------------------------------

    def _read_routes(self) -> CompiledTable:
        table: RouteTable = self._read_table()
        return self.plan.compile(table)

    def _run_script(self, call: ScriptCall) -> Any:
        return getattr(self.scripts, call.script)(keys=call.keys, args=call.args)

    def _run_pipeline(self, calls: list[ScriptCall]) -> list[Any]:
        pipe = self.client.pipeline(transaction=False)
        for call in calls:
            getattr(self.scripts, call.script)(keys=call.keys, args=call.args, client=pipe)
        return list(pipe.execute())


__all__ = ["DramatiqEventBus", "QueuedMessage"]

"""The Dramatiq/Redis event bus: publishing stores the event's handler messages in Redis.

``publish`` returns once Redis has the messages; worker processes (``hexbus worker``) run the
handlers. Fan-out happens here, at publish time (ADR 0005), from the routes the workers
declared in Redis (ADR 0015), not from this process's handler registry: a publisher needs the
event classes only. One script call writes one Dramatiq message per route and marks the
event_id accepted, so an event costs one round trip and there is no half-published state.
The route table is cached with its version, which the script checks; only when a worker
changed the routes does the script answer "stale", and the table is read again.
``publish_all`` pipelines those calls: one round trip per batch.

An event whose type has no route is accepted too (pub/sub allows it): ``publish_unrouted.lua``
counts it and keeps it for a handler that subscribes later (``HEXBUS_UNROUTED``).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import attrs
import redis

from ...application.due_time import due_time
from ...application.observers import ObserverGroup
from ...application.processor import DomainEventsProcessor
from ...application.unrouted import UnroutedPolicy
from ...domain.errors import EventBusUnavailable
from ...domain.events import DomainEvent
from ...domain.serialization import EventSerializer
from ...ports.clock import Clock
from ...ports.event_bus import PublishOutcome, PublishResult
from ...ports.observer import BusObserver
from ..clocks import SystemClock
from .connection import with_retries
from .dead_letters import RedisDeadLetters
from .keys import RedisKeys
from .messages import MESSAGE_TEMPLATE, QueuedMessage, formatter, schedule_entry
from .routes import STALE, STALE_TRIES, RedisRoutes, Route, RouteCache, RouteTable, fresh
from .scripts import Scripts
from .settings import PUBLISH_TIMEOUT
from .tracking import Tracking, ms

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
        self._ttl_ms = max(int(retention.total_seconds() * 1000), 1)
        self._unrouted_ms = ms(self.unrouted.retention)
        self._compiled: dict[Route, _Route] = {}
        self._table: RouteCache[_Table] = RouteCache(self._read_routes)
        # Every call to Redis is bounded by ``publish_timeout`` (HEXBUS_PUBLISH_TIMEOUT), its
        # retries included: see with_retries for what each error then means.
        bounded = functools.partial(
            with_retries, deadline=publish_timeout, attempts=publish_attempts
        )
        self._publish_one = bounded(
            self._run_script,
            what="publish the event",
            hint="the event may or may not have been accepted; "
            "publishing the same event again is safe",
        )
        self._cancel = bounded(
            self.scripts.cancel,
            what="cancel the event",
            hint="it may or may not have been cancelled; cancelling again is safe",
        )
        self._reschedule = bounded(
            self.scripts.reschedule,
            what="reschedule the event",
            hint="it may or may not have been moved; rescheduling again is safe",
        )
        self._publish_batch = bounded(
            self._run_pipeline,
            what="publish the events",
            hint="each may or may not have been accepted; publishing them again is safe",
        )
        self._read_table = bounded(
            self.routes.read,
            what="read the route table",
            hint="the event may or may not have been accepted; "
            "publishing the same event again is safe",
        )

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
        envelope = self._envelope(event)
        due_at = self._due_at(delay, at)
        token = uuid.uuid4().hex

        def attempt(table: _Table) -> tuple[_ScriptCall, Any]:
            call = self._prepare(event, envelope, due_at, table, token)
            return call, self._publish_one(call)

        call, accepted = fresh(self._table, attempt, lambda answer: answer[1] == STALE)
        return self._result(event, call, bool(accepted))

    def publish_all(self, events: Iterable[DomainEvent]) -> Sequence[PublishResult]:
        """Publish a batch in one pipelined round trip; duplicates within it are reported.

        Should the route table change under the batch, the events the scripts found stale
        (nothing of them written) are published again with the fresh table.
        """
        batch = list(events)
        if not batch:
            return []
        envelopes = [self._envelope(event) for event in batch]
        tokens = [uuid.uuid4().hex for _ in batch]
        calls: list[_ScriptCall | None] = [None] * len(batch)
        answers: list[Any] = [0] * len(batch)
        pending = list(range(len(batch)))
        table = self._table.current()
        for tries in range(1, STALE_TRIES + 1):
            prepared = [
                self._prepare(batch[i], envelopes[i], None, table, tokens[i]) for i in pending
            ]
            replies = self._publish_batch(prepared)
            stale = []
            for i, call, reply in zip(pending, prepared, replies, strict=True):
                if reply == STALE:
                    stale.append(i)
                else:
                    calls[i], answers[i] = call, reply
            pending = stale
            if not pending:
                break
            if tries == STALE_TRIES:
                raise EventBusUnavailable(
                    f"the route table changed under {STALE_TRIES} attempts to publish the "
                    f"batch; {len(pending)} of its {len(batch)} events were not written, so "
                    "publishing the batch again is safe"
                )
            table = self._table.refresh(table)
        results = []
        seen: set[UUID] = set()
        for event, written, accepted in zip(batch, calls, answers, strict=True):
            assert written is not None
            # Two copies of one event_id in a batch carry different tokens: the second
            # finds the first's token and is a duplicate, as it would be one call later.
            new = bool(accepted) and event.event_id not in seen
            results.append(self._result(event, written, new))
            seen.add(event.event_id)
        return results

    # --- the EventScheduler port -----------------------------------------------------------

    def cancel(self, event_id: UUID) -> bool:
        """Remove a scheduled event before it is due; False when it is not pending."""
        removed = self._cancel(
            keys=[self.keys.schedule, self.keys.schedule_items, self.keys.status(event_id)],
            args=[
                str(event_id),
                _ms(self.clock.now()),
                self.keys.stats_template,
                ms(self.tracking.status_ttl),
            ],
        )
        if removed:
            self.observer.cancelled(event_id)
        return bool(removed)

    def reschedule(
        self, event_id: UUID, *, delay: timedelta | None = None, at: datetime | None = None
    ) -> bool:
        """Move a pending event to a new due time; False when it is not pending."""
        due_at = self._due_at(delay, at)
        if due_at is None:
            raise ValueError("reschedule needs delay= or at=")
        moved = self._reschedule(
            keys=[self.keys.schedule], args=[str(event_id), _ms(due_at), self.keys.schedule_wake]
        )
        return bool(moved)

    # --- operations ------------------------------------------------------------------------

    def redeliver(self, event: DomainEvent) -> None:
        """Enqueue an event for the routes of its type again, past the publish de-duplication.

        For replaying an event (and for the contract suite's redelivery tests). Handlers that
        already succeeded for it are still skipped: the success ledger is not bypassed. An
        event whose type has no route is not counted or kept again: nothing happens.
        """
        envelope = self._envelope(event)
        token = uuid.uuid4().hex

        def attempt(table: _Table) -> Any:
            call = self._prepare(event, envelope, None, table, token)
            if call.unrouted:
                return None
            call.keys[0] = self.keys.redelivery(event.event_id, token)  # fresh, unused
            call.args[1] = 1000  # and let it expire at once
            return self._publish_one(call)

        fresh(self._table, attempt, lambda answer: answer == STALE)

    # --- internals -------------------------------------------------------------------------

    def _envelope(self, event: DomainEvent) -> str:
        if not isinstance(event, DomainEvent):
            raise TypeError(f"publish takes a DomainEvent, got {type(event).__name__}")
        return self.serializer.dumps(event)

    def _prepare(
        self,
        event: DomainEvent,
        envelope: str,
        due_at: datetime | None,
        table: _Table,
        token: str,
    ) -> _ScriptCall:
        event_id = str(event.event_id)
        event_type = event.event_type
        routed = table.by_type.get(event_type)
        published = self.keys.published(event_id)
        now = _ms(self.clock.now())
        delayed = due_at is not None and due_at > self.clock.now()
        # A delayed event's dedup key outlives its due time by the retention.
        ttl = self._ttl_ms + (max(_ms(due_at) - now, 0) if delayed and due_at else 0)
        if delayed and due_at is not None:
            return self._prepare_later(
                event_id=event_id,
                event_type=event_type,
                envelope=envelope,
                due_at=due_at,
                routed=routed,
                version=table.version,
                token=token,
                now=now,
                ttl=ttl,
            )
        if routed is None:
            return self._prepare_unrouted(
                event_id=event_id,
                event_type=event_type,
                envelope=envelope,
                version=table.version,
                token=token,
                now=now,
                ttl=ttl,
            )
        keys: list[str] = [published, self.keys.routes_version]
        args: list[Any] = [token, ttl, f"{token}|{event_type}|{now}|{routed.names}", table.version]
        # The hot path: each body is the message template with the route's part filled once
        # per route (cached), and redis ids derive from this call's token (unique, and stable
        # if the call is retried).
        for index, route in enumerate(routed.routes):
            redis_id = f"{token}.{index}"
            keys += route.keys
            args += [redis_id, route.body(envelope=envelope, id=redis_id, event=event_id, now=now)]
        return _ScriptCall(self.scripts.publish, keys, args, None)

    def _prepare_later(
        self,
        *,
        event_id: str,
        event_type: str,
        envelope: str,
        due_at: datetime,
        routed: _TypeRoutes | None,
        version: str,
        token: str,
        now: int,
        ttl: int,
    ) -> _ScriptCall:
        """A schedule entry for the routes of the type now (``publish_later.lua``). One with
        no route is routed when due (``move_due.lua``), so it stays cancellable and
        reschedulable like the rest; it is counted as unrouted now."""
        routes = routed.routes if routed is not None else ()
        entry = schedule_entry(
            event_id=event_id,
            event_type=event_type,
            envelope_json=envelope,
            handlers=[(r.queue, r.handler, 1) for r in routes],
            published_ms=now,
            new_event=True,
            track=self.tracking.enabled,
            unrouted=routed is None,
            keep=self.unrouted.keep,
        )
        counted = [] if routed is not None else [self.keys.unrouted]
        return _ScriptCall(
            self.scripts.publish_later,
            [
                self.keys.published(event_id),
                self.keys.routes_version,
                self.keys.schedule,
                self.keys.schedule_items,
                *counted,
                *(self.keys.stats(r.queue) for r in routes),
            ],
            [
                token,
                ttl,
                event_id,
                _ms(due_at),
                entry,
                version,
                event_type if counted else "",
                self.keys.schedule_wake,
            ],
            due_at,
            unrouted=routed is None,
        )

    def _prepare_unrouted(
        self,
        *,
        event_id: str,
        event_type: str,
        envelope: str,
        version: str,
        token: str,
        now: int,
        ttl: int,
    ) -> _ScriptCall:
        """No route has the event's type: counted, and kept for the retention unless the
        policy says count only (``publish_unrouted.lua``)."""
        return _ScriptCall(
            self.scripts.publish_unrouted,
            [
                self.keys.published(event_id),
                self.keys.routes_version,
                self.keys.unrouted,
                self.keys.unrouted_kept(event_type),
                self.keys.unrouted_given(event_type),
            ],
            [
                token,
                ttl,
                f"{token}|{event_type}|{now}|",
                version,
                event_type,
                "1" if self.unrouted.keep else "0",
                f"{event_id}|{now}|{now}\n{envelope}",
                now,
                self._unrouted_ms,
            ],
            None,
            unrouted=True,
        )

    def _read_routes(self) -> _Table:
        """Read the route table and compile it: each route's keys and message body prefix are
        made once and kept across reads (a deploy changes a few routes, not all)."""
        table: RouteTable = self._read_table()
        by_type = {}
        for event_type, routes in table.by_type().items():
            compiled = tuple(self._compile(route) for route in routes)
            by_type[event_type] = _TypeRoutes(compiled, ",".join(r.handler for r in routes))
        return _Table(table.version, by_type)

    def _compile(self, route: Route) -> _Route:
        compiled = self._compiled.get(route)
        if compiled is None:
            queue = route.queue
            compiled = _Route(
                queue=queue,
                handler=route.handler,
                keys=(self.keys.queue(queue), self.keys.messages(queue), self.keys.wake(queue)),
                body=formatter(MESSAGE_TEMPLATE, queue=queue, handler=route.handler, attempt=1),
            )
            self._compiled[route] = compiled
        return compiled

    def _run_script(self, call: _ScriptCall) -> Any:
        return call.script(keys=call.keys, args=call.args)

    def _run_pipeline(self, calls: list[_ScriptCall]) -> list[Any]:
        pipe = self.client.pipeline(transaction=False)
        for call in calls:
            call.script(keys=call.keys, args=call.args, client=pipe)
        return list(pipe.execute())

    def _result(self, event: DomainEvent, call: _ScriptCall, accepted: bool) -> PublishResult:
        if not accepted:
            outcome = PublishOutcome.DUPLICATE
        elif call.due_at is not None:
            outcome = PublishOutcome.SCHEDULED
        else:
            outcome = PublishOutcome.ACCEPTED
        result = PublishResult(
            event.event_id,
            outcome,
            call.due_at if accepted else None,
            unrouted=accepted and call.unrouted,
        )
        if self.observer:
            self.observer.published(event, result)
        return result

    def _due_at(self, delay: timedelta | None, at: datetime | None) -> datetime | None:
        return due_time(self.clock.now(), delay, at)


@attrs.frozen
class _Route:
    """What publishing needs to know of one route, computed once per route: its queue's
    keys, and its messages' body with only the envelope, ids and time left to fill."""

    queue: str
    handler: str
    keys: tuple[str, str, str]
    body: Callable[..., str]


@attrs.frozen
class _TypeRoutes:
    """The routes of one event type, and their handler names as the published key lists them."""

    routes: tuple[_Route, ...]
    names: str


@attrs.frozen
class _Table:
    """The route table as this publisher compiled it, with the version it was read at."""

    version: str
    by_type: dict[str, _TypeRoutes]


class _ScriptCall:
    """One prepared script invocation (kept so a retry sends exactly the same thing)."""

    __slots__ = ("args", "due_at", "keys", "script", "unrouted")

    def __init__(
        self,
        script: Any,
        keys: list[str],
        args: list[Any],
        due_at: datetime | None,
        *,
        unrouted: bool = False,
    ):
        self.script = script
        self.keys = keys
        self.args = args
        self.due_at = due_at
        self.unrouted = unrouted


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


__all__ = ["DramatiqEventBus", "QueuedMessage"]

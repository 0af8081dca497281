"""What publishing an event to Redis sends, built once for the sync and the async bus.

:class:`PublishPlan` is the pure core of publishing (no I/O): the envelope, the script call
(which script, its KEYS and ARGV) for an event against a route table, the compiled table, and
the :class:`~hexbus.PublishResult` an answer means. :class:`~.event_bus.DramatiqEventBus`
runs its calls on redis-py, :class:`~.async_event_bus.AsyncDramatiqEventBus` on
``redis.asyncio``: the same scripts, the same keys, the same wire format, one writer of each
(ADR 0022). :class:`BatchPlan` is ``publish_all``'s bookkeeping: which events are still to be
sent after the scripts found some stale, and their results in the end.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, TypedDict
from uuid import UUID

import attrs

from ...application.due_time import due_time
from ...application.observers import ObserverGroup
from ...application.unrouted import UnroutedPolicy
from ...domain.errors import EventBusUnavailable
from ...domain.events import DomainEvent
from ...domain.serialization import EventSerializer
from ...ports.clock import Clock
from ...ports.event_bus import PublishOutcome, PublishResult
from .keys import RedisKeys
from .messages import MESSAGE_TEMPLATE, formatter, schedule_entry
from .millis import epoch_ms, ms
from .routes import STALE, STALE_TRIES, Route, RouteTable
from .tracking import Tracking

CAUSED_KEEP: Final = 1000
"""The newest caused events an index ``{ns}:caused:{id}`` keeps (ADR 0024)."""


class CallMeaning(TypedDict):
    """The ``what`` and ``hint`` of one bounded call (``with_retries``)."""

    what: str
    hint: str


CALL_MEANINGS: Final[dict[str, CallMeaning]] = {
    "publish": {
        "what": "publish the event",
        "hint": "the event may or may not have been accepted; "
        "publishing the same event again is safe",
    },
    "cancel": {
        "what": "cancel the event",
        "hint": "it may or may not have been cancelled; cancelling again is safe",
    },
    "reschedule": {
        "what": "reschedule the event",
        "hint": "it may or may not have been moved; rescheduling again is safe",
    },
    "publish_all": {
        "what": "publish the events",
        "hint": "each may or may not have been accepted; publishing them again is safe",
    },
    "read_routes": {
        "what": "read the route table",
        "hint": "the event may or may not have been accepted; "
        "publishing the same event again is safe",
    },
}
"""What each bounded call of both Redis buses does, and what its failure means for the caller
(the ``what`` and ``hint`` of ``with_retries``): said once for the sync and the async bus."""


@attrs.frozen
class CompiledRoute:
    """What publishing needs to know of one route, computed once per route: its queue's
    keys, and its messages' body with only the envelope, ids and time left to fill."""

    queue: str
    handler: str
    keys: tuple[str, str, str]
    body: Callable[..., str]


@attrs.frozen
class TypeRoutes:
    """The routes of one event type, and their handler names as the published key lists them."""

    routes: tuple[CompiledRoute, ...]
    names: str


@attrs.frozen
class CompiledTable:
    """The route table as this publisher compiled it, with the version it was read at."""

    version: str
    by_type: dict[str, TypeRoutes]


class ScriptCall:
    """One prepared script invocation, by script name (kept so a retry sends exactly the
    same thing, whichever client sends it)."""

    __slots__ = ("args", "due_at", "keys", "script", "unrouted")

    def __init__(
        self,
        script: str,
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


class PublishPlan:
    """Builds the script calls of publishing and reads their answers, for one publisher."""

    def __init__(
        self,
        *,
        keys: RedisKeys,
        serializer: EventSerializer,
        clock: Clock,
        observer: ObserverGroup,
        retention: timedelta,
        tracking: Tracking,
        unrouted: UnroutedPolicy,
    ) -> None:
        self.keys = keys
        self.serializer = serializer
        self.clock = clock
        self.observer = observer
        self.tracking = tracking
        self.unrouted = unrouted
        self._ttl_ms = max(int(retention.total_seconds() * 1000), 1)
        self._unrouted_ms = ms(unrouted.retention)
        self._caused_ms = ms(tracking.status_ttl)
        self._compiled: dict[Route, CompiledRoute] = {}

    def envelope(self, event: DomainEvent) -> str:
        """The event's wire form (sealed when keys are configured)."""
        if not isinstance(event, DomainEvent):
            raise TypeError(f"publish takes a DomainEvent, got {type(event).__name__}")
        return self.serializer.dumps(event)

    def due_at(self, delay: timedelta | None, at: datetime | None) -> datetime | None:
        """When an event published with ``delay`` or ``at`` is due (None: now)."""
        return due_time(self.clock.now(), delay, at)

    @staticmethod
    def token() -> str:
        """A fresh call token: the redis ids of one publish derive from it."""
        return uuid.uuid4().hex

    def compile(self, table: RouteTable) -> CompiledTable:
        """Compile a route table read from Redis: each route's keys and message body prefix
        are made once and kept across reads (a deploy changes a few routes, not all)."""
        by_type = {}
        for event_type, routes in table.by_type().items():
            compiled = tuple(self._compile(route) for route in routes)
            by_type[event_type] = TypeRoutes(compiled, ",".join(r.handler for r in routes))
        return CompiledTable(table.version, by_type)

    def prepare(
        self,
        event: DomainEvent,
        envelope: str,
        due_at: datetime | None,
        table: CompiledTable,
        token: str,
    ) -> ScriptCall:
        """The one script call that publishes ``event`` against ``table``."""
        event_id = str(event.event_id)
        event_type = event.event_type
        routed = table.by_type.get(event_type)
        published = self.keys.published(event_id)
        now = epoch_ms(self.clock.now())
        delayed = due_at is not None and due_at > self.clock.now()
        # A delayed event's dedup key outlives its due time by the retention.
        ttl = self._ttl_ms + (max(epoch_ms(due_at) - now, 0) if delayed and due_at else 0)
        if delayed and due_at is not None:
            return self._prepare_later(
                causation=event.causation_id,
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
                causation=event.causation_id,
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
        args += self._caused_of(event_id, event_type, event.causation_id, now, 0)
        return ScriptCall("publish", keys, args, None)

    def redelivery(self, call: ScriptCall, event: DomainEvent, token: str) -> ScriptCall:
        """``call`` made to pass the de-duplication: a fresh published key, expiring at once."""
        call.keys[0] = self.keys.redelivery(event.event_id, token)
        call.args[1] = 1000
        return call

    def cancel_call(self, event_id: UUID) -> ScriptCall:
        """The call of ``cancel.lua`` for ``event_id``."""
        return ScriptCall(
            "cancel",
            [self.keys.schedule, self.keys.schedule_items, self.keys.status(event_id)],
            [
                str(event_id),
                epoch_ms(self.clock.now()),
                self.keys.stats_template,
                ms(self.tracking.status_ttl),
            ],
            None,
        )

    def reschedule_call(self, event_id: UUID, due_at: datetime) -> ScriptCall:
        """The call of ``reschedule.lua`` moving ``event_id`` to ``due_at``."""
        return ScriptCall(
            "reschedule",
            [self.keys.schedule],
            [str(event_id), epoch_ms(due_at), self.keys.schedule_wake],
            None,
        )

    def result(self, event: DomainEvent, call: ScriptCall, accepted: bool) -> PublishResult:
        """What the script's answer means for ``event`` (and tell the observers)."""
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

    def _prepare_later(
        self,
        *,
        causation: UUID | None,
        event_id: str,
        event_type: str,
        envelope: str,
        due_at: datetime,
        routed: TypeRoutes | None,
        version: str,
        token: str,
        now: int,
        ttl: int,
    ) -> ScriptCall:
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
        return ScriptCall(
            "publish_later",
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
                epoch_ms(due_at),
                entry,
                version,
                event_type if counted else "",
                self.keys.schedule_wake,
                *self._caused_of(
                    event_id, event_type, causation, now, max(epoch_ms(due_at) - now, 0)
                ),
            ],
            due_at,
            unrouted=routed is None,
        )

    def _prepare_unrouted(
        self,
        *,
        causation: UUID | None,
        event_id: str,
        event_type: str,
        envelope: str,
        version: str,
        token: str,
        now: int,
        ttl: int,
    ) -> ScriptCall:
        """No route has the event's type: counted, and kept for the retention unless the
        policy says count only (``publish_unrouted.lua``)."""
        return ScriptCall(
            "publish_unrouted",
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
                *self._caused_of(event_id, event_type, causation, now, 0),
            ],
            None,
            unrouted=True,
        )

    def _caused_of(
        self, event_id: str, event_type: str, causation: UUID | None, now: int, later_ms: int
    ) -> list[Any]:
        """The trailing ARGV that index a caused event under its cause (none without one):
        the index key, ``id|type``, published ms, the TTL (the status retention, plus the
        wait of a delayed event) and how many it keeps."""
        if causation is None:
            return []
        return [
            self.keys.caused(causation),
            f"{event_id}|{event_type}",
            now,
            self._caused_ms + later_ms,
            CAUSED_KEEP,
        ]

    def _compile(self, route: Route) -> CompiledRoute:
        compiled = self._compiled.get(route)
        if compiled is None:
            queue = route.queue
            compiled = CompiledRoute(
                queue=queue,
                handler=route.handler,
                keys=(self.keys.queue(queue), self.keys.messages(queue), self.keys.wake(queue)),
                body=formatter(MESSAGE_TEMPLATE, queue=queue, handler=route.handler, attempt=1),
            )
            self._compiled[route] = compiled
        return compiled


class BatchPlan:
    """``publish_all`` without the I/O: the calls to send, the stale ones to send again with
    a fresh table, and the results in order.

    Should the route table change under the batch, the events the scripts found stale
    (nothing of them written) are sent again, up to ``STALE_TRIES`` times in all.
    """

    def __init__(self, plan: PublishPlan, events: Sequence[DomainEvent]) -> None:
        self._plan = plan
        self._events = list(events)
        self._envelopes = [plan.envelope(event) for event in self._events]
        self._tokens = [plan.token() for _ in self._events]
        self._calls: list[ScriptCall | None] = [None] * len(self._events)
        self._answers: list[Any] = [0] * len(self._events)
        self._pending = list(range(len(self._events)))
        self._sent: list[ScriptCall] = []
        self.tries = 0

    @property
    def done(self) -> bool:
        """True once every event has an answer that is not stale."""
        return not self._pending

    def calls(self, table: CompiledTable) -> list[ScriptCall]:
        """The calls still to send, against ``table``."""
        self.tries += 1
        self._sent = [
            self._plan.prepare(self._events[i], self._envelopes[i], None, table, self._tokens[i])
            for i in self._pending
        ]
        return self._sent

    def answered(self, replies: Sequence[Any]) -> None:
        """Take the replies to the last :meth:`calls`; raise when stale too many times."""
        stale = []
        for i, call, reply in zip(self._pending, self._sent, replies, strict=True):
            if reply == STALE:
                stale.append(i)
            else:
                self._calls[i], self._answers[i] = call, reply
        self._pending = stale
        if stale and self.tries >= STALE_TRIES:
            raise EventBusUnavailable(
                f"the route table changed under {STALE_TRIES} attempts to publish the "
                f"batch; {len(stale)} of its {len(self._events)} events were not written, so "
                "publishing the batch again is safe"
            )

    def results(self) -> list[PublishResult]:
        """One result per event, in order."""
        results = []
        seen: set[UUID] = set()
        for event, written, accepted in zip(self._events, self._calls, self._answers, strict=True):
            assert written is not None
            # Two copies of one event_id in a batch carry different tokens: the second
            # finds the first's token and is a duplicate, as it would be one call later.
            new = bool(accepted) and event.event_id not in seen
            results.append(self._plan.result(event, written, new))
            seen.add(event.event_id)
        return results

"""The Dramatiq/Redis event bus: publishing stores the event's handler messages in Redis.

``publish`` returns once Redis has the messages; worker processes (``hexbus worker``) run the
handlers. Fan-out happens here, at publish time (ADR 0005): one script call writes one
Dramatiq message per handler and marks the event_id accepted, so an event costs one round trip
and there is no half-published state. ``publish_all`` pipelines those calls: one round trip per
batch.
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
from ...domain.events import DomainEvent
from ...domain.serialization import EventSerializer
from ...ports.clock import Clock
from ...ports.event_bus import PublishOutcome, PublishResult
from ...ports.handlers import HandlerSpec
from ...ports.observer import BusObserver
from ..clocks import SystemClock
from .connection import with_retries
from .dead_letters import RedisDeadLetters
from .keys import RedisKeys
from .messages import MESSAGE_TEMPLATE, QueuedMessage, formatter, queue_for, schedule_entry
from .scripts import Scripts
from .settings import PUBLISH_TIMEOUT
from .tracking import Tracking, ms

DEFAULT_RETENTION = timedelta(days=7)


class DramatiqEventBus:
    """An :class:`EventBus` and :class:`EventScheduler` over Redis, for Dramatiq workers.

    Every process that publishes must build the same handler registry as the workers (the
    composition root does), because the handlers an event goes to are decided here.
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
    ) -> None:
        self.processor = processor
        self.client = client
        self.keys = keys or RedisKeys()
        self.serializer = serializer or EventSerializer(processor.registry)
        self.clock: Clock = clock or SystemClock()
        self.observer = ObserverGroup(observers)
        self.retention = retention
        self.tracking = tracking or Tracking()
        self.scripts = Scripts.register(client)
        self.dead_letters = RedisDeadLetters(
            client,
            self.keys,
            self.scripts,
            processor,
            self.clock,
            retention=dead_letter_retention,
            tracking=self.tracking,
        )
        self._ttl_ms = max(int(retention.total_seconds() * 1000), 1)
        self._routes: dict[HandlerSpec, _Route] = {}
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

    # --- the EventBus port -----------------------------------------------------------------

    def publish(
        self,
        event: DomainEvent,
        *,
        delay: timedelta | None = None,
        at: datetime | None = None,
    ) -> PublishResult:
        """Store ``event`` for its handlers (now, or due at ``delay``/``at``).

        Returns once Redis has it, or raises within about ``publish_timeout``:
        :class:`EventBusUnavailable` when Redis could not be reached or did not answer in time
        (the event may or may not have been accepted; publishing it again is safe), or
        :class:`EventBusRejected` when Redis answered with an error such as ``WRONGTYPE``
        (never retried: not accepted, and trying again cannot help until the cause is fixed).
        """
        call = self._prepare(event, self._due_at(delay, at))
        accepted = self._publish_one(call)
        return self._result(event, call, bool(accepted))

    def publish_all(self, events: Iterable[DomainEvent]) -> Sequence[PublishResult]:
        """Publish a batch in one pipelined round trip; duplicates within it are reported."""
        batch = list(events)
        calls = [self._prepare(event, None) for event in batch]
        answers = self._publish_batch(calls) if calls else []
        results = []
        seen: set[UUID] = set()
        for event, call, accepted in zip(batch, calls, answers, strict=True):
            # Two copies of one event_id in a batch carry different tokens: the second
            # finds the first's token and is a duplicate, as it would be one call later.
            results.append(self._result(event, call, bool(accepted) and event.event_id not in seen))
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
        moved = self._reschedule(keys=[self.keys.schedule], args=[str(event_id), _ms(due_at)])
        return bool(moved)

    # --- operations ------------------------------------------------------------------------

    def redeliver(self, event: DomainEvent) -> None:
        """Enqueue an event for its handlers again, past the publish de-duplication.

        For replaying an event (and for the contract suite's redelivery tests). Handlers that
        already succeeded for it are still skipped: the success ledger is not bypassed.
        """
        call = self._prepare(event, None)
        call.keys[0] = self.keys.redelivery(event.event_id, call.args[0])  # fresh, unused
        call.args[1] = 1000  # and let it expire at once
        self._publish_one(call)

    # --- internals -------------------------------------------------------------------------

    def _prepare(self, event: DomainEvent, due_at: datetime | None) -> _ScriptCall:
        if not isinstance(event, DomainEvent):
            raise TypeError(f"publish takes a DomainEvent, got {type(event).__name__}")
        envelope = self.serializer.dumps(event)
        event_id = str(event.event_id)
        routes = [self._route(spec) for spec in self.processor.handlers_for(event.event_type)]
        token = uuid.uuid4().hex
        published = self.keys.published(event_id)
        track = self.tracking
        now = _ms(self.clock.now())
        if due_at is not None and due_at > self.clock.now():
            entry = schedule_entry(
                event_id=event_id,
                event_type=event.event_type,
                envelope_json=envelope,
                handlers=[(r.queue, r.handler, 1) for r in routes],
                published_ms=now,
                new_event=True,
                track=track.enabled,
            )
            return _ScriptCall(
                self.scripts.publish_later,
                [published, self.keys.schedule, self.keys.schedule_items]
                + [self.keys.stats(r.queue) for r in routes],
                # The dedup key outlives the due time by the retention, not the publish time.
                [token, self._ttl_ms + max(_ms(due_at) - now, 0), event_id, _ms(due_at), entry],
                due_at,
            )
        keys: list[str] = [published]
        args: list[Any] = [token, self._ttl_ms, f"{token}|{event.event_type}|{now}"]
        # The hot path: each body is the message template with the handler's part filled once
        # per handler (cached), and redis ids derive from this call's token (unique, and stable
        # if the call is retried).
        for index, route in enumerate(routes):
            redis_id = f"{token}.{index}"
            keys += route.keys
            args += [redis_id, route.body(envelope=envelope, id=redis_id, event=event_id, now=now)]
        return _ScriptCall(self.scripts.publish, keys, args, None)

    def _route(self, spec: HandlerSpec) -> _Route:
        route = self._routes.get(spec)
        if route is None:
            queue = queue_for(spec)
            route = _Route(
                queue=queue,
                handler=spec.name,
                keys=(self.keys.queue(queue), self.keys.messages(queue), self.keys.wake(queue)),
                body=formatter(MESSAGE_TEMPLATE, queue=queue, handler=spec.name, attempt=1),
            )
            self._routes[spec] = route
        return route

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
        result = PublishResult(event.event_id, outcome, call.due_at if accepted else None)
        if self.observer:
            self.observer.published(event, result)
        return result

    def _due_at(self, delay: timedelta | None, at: datetime | None) -> datetime | None:
        return due_time(self.clock.now(), delay, at)


@attrs.frozen
class _Route:
    """What publishing needs to know of one handler, computed once per handler: its queue's
    keys, and its messages' body with only the envelope, ids and time left to fill."""

    queue: str
    handler: str
    keys: tuple[str, str, str]
    body: Callable[..., str]


class _ScriptCall:
    """One prepared script invocation (kept so a retry sends exactly the same thing)."""

    __slots__ = ("args", "due_at", "keys", "script")

    def __init__(self, script: Any, keys: list[str], args: list[Any], due_at: datetime | None):
        self.script = script
        self.keys = keys
        self.args = args
        self.due_at = due_at


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


__all__ = ["DramatiqEventBus", "QueuedMessage"]

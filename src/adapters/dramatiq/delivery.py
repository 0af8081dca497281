"""The one Dramatiq actor of hexbus: run one handler for one event, then settle the message.

Every outcome ends in one script that also acks the message, so no outcome can be lost between
"decided" and "acked":

* success          -> ``complete.lua``: record (event_id, handler) as done, ack;
* already done     -> plain ack (a redelivery skipped the handler);
* retryable error  -> ``defer.lua``: the next attempt scheduled after backoff, ack;
* final error      -> ``dead_letter.lua``: dead letter with error and traceback, ack;
* rate-limited     -> ``defer.lua`` at the time a slot frees, same attempt number, ack;
* unreadable event / unknown handler -> dead letter with the reason, ack.

Dramatiq's Retries middleware is not installed: it would count rate-limit waits as failures
and can lose a message whose retry fails to enqueue. If Redis is unreachable while settling,
the message is marked to be requeued instead of acked (``hexbus_keep``), and Dramatiq keeps
retrying that until Redis is back: it runs again rather than vanishing.
"""

from __future__ import annotations

import json
import logging
import random
import traceback
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import attrs
import redis
from dramatiq.broker import MessageProxy
from dramatiq.middleware import CurrentMessage

from ...application.delivery import AttemptOutcome, AttemptResult, HandlerRunner, dead_letter_for
from ...application.processor import DomainEventsProcessor
from ...domain.errors import EventError, HandlerTimeout, UnknownHandler
from ...domain.events import DomainEvent
from ...domain.serialization import EventSerializer
from ...ports.clock import Clock
from ...ports.dead_letters import DeadLetter, DeadLetterReason
from ...ports.handlers import HandlerSpec
from ...ports.observer import BusObserver
from .broker import KEEP, SETTLED
from .connection import TRANSIENT
from .dead_letters import RedisDeadLetters
from .idempotency import RedisIdempotencyStore
from .keys import RedisKeys
from .messages import ATTEMPT, schedule_entry
from .scripts import Scripts
from .timeouts import DeadlineExceeded, Watchdog
from .tracking import Tracking, minute_of, ms

log = logging.getLogger("hexbus.worker")


@attrs.frozen
class _Context:
    """Where the message being processed lives, for the scripts that settle it."""

    proxy: MessageProxy
    event_id: str
    event_type: str
    queue: str
    redis_id: str
    acks: str
    messages: str
    attempt: int


class Deliverer:
    """Called by Dramatiq as ``hexbus_deliver(handler_name, envelope)`` in a worker thread."""

    def __init__(
        self,
        *,
        processor: DomainEventsProcessor,
        client: redis.Redis,
        keys: RedisKeys,
        scripts: Scripts,
        serializer: EventSerializer,
        clock: Clock,
        observer: BusObserver,
        dead_letters: RedisDeadLetters,
        retention: timedelta,
        broker_id: Callable[[], str],
        watchdog: Watchdog | None = None,
        random_fraction: Callable[[], float] = random.random,
        tracking: Tracking | None = None,
    ) -> None:
        self._processor = processor
        self._keys = keys
        self._scripts = scripts
        self._serializer = serializer
        self._clock = clock
        self._observer = observer
        self._dead_letters = dead_letters
        self._ttl_ms = max(int(retention.total_seconds() * 1000), 1)
        self._broker_id = broker_id
        self._watchdog = watchdog
        self._random = random_fraction
        self._tracking = tracking or Tracking()
        self._status_ttl_ms = ms(self._tracking.status_ttl)
        self._runner = HandlerRunner(
            RedisIdempotencyStore(client, keys, clock),
            observer,
            clock,
            success_ttl=retention,
            enforce_timeout=True,
        )

    def __call__(self, handler_name: str, envelope: dict[str, Any]) -> None:
        proxy: MessageProxy | None = CurrentMessage.get_current_message()  # type: ignore[assignment]
        if proxy is None:  # pragma: no cover - only without the CurrentMessage middleware
            raise RuntimeError("hexbus_deliver needs Dramatiq's CurrentMessage middleware")
        context = self._context(proxy)
        try:
            self._deliver(handler_name, envelope, context)
        except TRANSIENT as error:
            proxy.options[KEEP] = True
            log.warning(
                "Redis unreachable while settling %s for %s (%s); it will run again",
                proxy.message_id,
                handler_name,
                error,
            )
        except Exception:
            # A bug of ours, not the handler's (the runner keeps those). Dramatiq would ack
            # and lose the message; requeue it instead, loudly.
            proxy.options[KEEP] = True
            log.exception("hexbus failed delivering %s to %s", proxy.message_id, handler_name)

    # --- the steps -------------------------------------------------------------------------

    def _deliver(self, handler_name: str, envelope: dict[str, Any], context: _Context) -> None:
        try:
            spec = self._processor.get(handler_name)
        except UnknownHandler as error:
            self._reject(context, envelope, handler_name, error, DeadLetterReason.UNKNOWN_HANDLER)
            return
        try:
            event = self._serializer.from_dict(envelope)
        except EventError as error:
            self._reject(context, envelope, handler_name, error, DeadLetterReason.UNDECODABLE)
            return
        if spec.rate_limit is not None and not self._take_slot(
            spec, event, context, _compact(envelope)
        ):
            return
        result = self._attempt(event, spec, context)
        if result.outcome is AttemptOutcome.SUCCEEDED:
            context.proxy.options[SETTLED] = True
        if result.done:
            return
        assert result.error is not None
        # Serialized again only here, off the success path: a retry or dead letter carries it.
        self._after_failure(event, spec, context, _compact(envelope), result.error)

    def _attempt(self, event: DomainEvent, spec: HandlerSpec, context: _Context) -> AttemptResult:
        if spec.timeout is not None and self._watchdog is not None:
            spec = attrs.evolve(spec, handler=self._watchdog.guard(spec.handler, spec.timeout))
        try:
            return self._runner.run(
                event,
                spec,
                context.attempt,
                record_success=lambda elapsed: self._complete(
                    event.event_id, spec.name, context, elapsed
                ),
                check_done=lambda: self._start(event.event_id, spec.name, context),
            )
        except DeadlineExceeded:  # arrived just as the handler returned
            return AttemptResult(AttemptOutcome.FAILED, HandlerTimeout("handler timed out"))

    def _start(self, event_id: UUID, handler: str, context: _Context) -> bool:
        """Whether the handler already succeeded; if not, its status becomes running."""
        done = self._scripts.start(
            keys=[
                self._keys.done(event_id),
                self._keys.status(event_id),
                self._keys.published(event_id),
            ],
            args=[
                handler,
                self._now_ms(),
                context.attempt,
                self._tracking.flag,
                self._status_ttl_ms,
                self._handler_names(context.event_type),
            ],
        )
        return bool(done)

    def _complete(
        self, event_id: UUID, handler: str, context: _Context, elapsed: timedelta
    ) -> None:
        track = self._tracking
        now = self._clock.now()
        self._scripts.complete(
            keys=[
                self._keys.done(event_id),
                context.acks,
                context.messages,
                self._keys.status(event_id),
                self._keys.stats_bucket(context.queue, minute_of(now)),
                self._keys.recent,
            ],
            args=[
                handler,
                int(now.timestamp() * 1000),
                self._ttl_ms,
                context.redis_id,
                int(elapsed.total_seconds() * 1000),
                track.flag,
                ms(track.bucket_ttl),
                ms(track.succeeded_ttl),
                track.succeeded_keep,
                str(event_id),
                self._keys.status_template,
            ],
        )

    def _after_failure(
        self,
        event: DomainEvent,
        spec: HandlerSpec,
        context: _Context,
        envelope_json: str,
        error: BaseException,
    ) -> None:
        policy = spec.retry
        if policy.is_retryable(error) and context.attempt < policy.max_attempts:
            due = self._clock.now() + policy.backoff(context.attempt, self._random())
            self._defer(context, spec.name, envelope_json, due, context.attempt + 1, error=error)
            self._observer.handler_failed(event, spec, context.attempt, error, due)
            return
        dead_letter = dead_letter_for(
            spec=spec,
            event_id=event.event_id,
            event_type=event.event_type,
            message=envelope_json,
            error=error,
            attempts=context.attempt,
            failed_at=self._clock.now(),
        )
        self._settle_dead(context, dead_letter)
        self._observer.handler_failed(event, spec, context.attempt, error, None)
        self._observer.dead_lettered(dead_letter)

    def _take_slot(
        self, spec: HandlerSpec, event: DomainEvent, context: _Context, envelope_json: str
    ) -> bool:
        limit = spec.rate_limit
        assert limit is not None
        wait_ms = int(
            self._scripts.rate_limit(
                keys=[self._keys.rate(limit.bucket_for(event))],
                args=[
                    self._now_ms(),
                    int(limit.period.total_seconds() * 1000),
                    limit.limit,
                    context.redis_id,
                ],
            )
        )
        if wait_ms == 0:
            return True
        # Waiting for a slot is not an attempt: same attempt number, no backoff, no dead letter.
        due = self._clock.now() + timedelta(milliseconds=wait_ms)
        self._defer(context, spec.name, envelope_json, due, context.attempt)
        log.debug("rate limit %s full; %s waits %d ms", limit.name, spec.name, wait_ms)
        return False

    def _defer(
        self,
        context: _Context,
        handler: str,
        envelope_json: str,
        due: datetime,
        attempt: int,
        *,
        error: BaseException | None = None,
    ) -> None:
        """Schedule the next run: a retry (``error`` given) or a wait for a rate-limit slot."""
        event_id = context.event_id
        now = self._clock.now()
        entry = schedule_entry(
            event_id=event_id,
            event_type="",
            envelope_json=envelope_json,
            handlers=[(context.queue, handler, attempt)],
            published_ms=0,
            new_event=False,
            track=self._tracking.enabled,
        )
        self._scripts.defer(
            keys=[
                context.acks,
                context.messages,
                self._keys.schedule,
                self._keys.schedule_items,
                self._keys.stats(context.queue),
                self._keys.stats_bucket(context.queue, minute_of(now)),
                self._keys.status(event_id or "none"),
            ],
            args=[
                context.redis_id,
                uuid.uuid4().hex,
                int(due.timestamp() * 1000),
                entry,
                "wait" if error is None else "retry",
                handler,
                context.attempt,
                "" if error is None else f"{type(error).__name__}: {error}"[:500],
                int(now.timestamp() * 1000),
                self._tracking.flag,
                ms(self._tracking.bucket_ttl),
            ],
        )
        context.proxy.options[SETTLED] = True

    def _reject(
        self,
        context: _Context,
        envelope: dict[str, Any],
        handler_name: str,
        error: Exception,
        reason: DeadLetterReason,
    ) -> None:
        dead_letter = DeadLetter(
            id=uuid.uuid4().hex,
            reason=reason,
            queue=context.queue,
            handler=handler_name,
            event_id=_event_id_of(envelope),
            event_type=envelope.get("event_type") if isinstance(envelope, dict) else None,
            message=_compact(envelope),
            error_type=f"{type(error).__module__}.{type(error).__qualname__}",
            error=str(error),
            traceback="".join(traceback.format_exception(error)),
            attempts=context.attempt,
            failed_at=self._clock.now(),
        )
        self._settle_dead(context, dead_letter)
        self._observer.dead_lettered(dead_letter)

    def quarantine(self, queue: str, redis_id: str, body: bytes | None, reason: str) -> None:
        """Dead-letter a message the consumer could not even hand to the actor."""
        dead_letter = DeadLetter(
            id=uuid.uuid4().hex,
            reason=DeadLetterReason.UNDECODABLE,
            queue=queue,
            handler=None,
            event_id=None,
            event_type=None,
            message=(body or b"").decode("utf-8", errors="replace"),
            error_type="hexbus.BadMessage",
            error=reason,
            traceback="",
            attempts=0,
            failed_at=self._clock.now(),
        )
        self._dead_letters.record(
            dead_letter,
            acks=self._keys.acks(self._broker_id(), queue),
            messages=self._keys.messages(queue),
            redis_id=redis_id,
        )
        log.error("message %s on %s dead-lettered: %s", redis_id, queue, reason)
        self._observer.dead_lettered(dead_letter)

    def _settle_dead(self, context: _Context, dead_letter: DeadLetter) -> None:
        self._dead_letters.record(
            dead_letter, acks=context.acks, messages=context.messages, redis_id=context.redis_id
        )
        context.proxy.options[SETTLED] = True

    def _context(self, proxy: MessageProxy) -> _Context:
        queue = proxy.queue_name
        redis_id = proxy.options["redis_message_id"]
        attempt = proxy.options.get(ATTEMPT, 1)
        args = proxy.args
        event_id = _event_id_of(args[1]) if len(args) > 1 else None
        return _Context(
            proxy=proxy,
            event_id=str(event_id) if event_id else "",
            event_type=_event_type_of(args[1]) if len(args) > 1 else "",
            queue=queue,
            redis_id=redis_id,
            acks=self._keys.acks(self._broker_id(), queue),
            messages=self._keys.messages(queue),
            attempt=attempt if isinstance(attempt, int) and attempt >= 1 else 1,
        )

    def _handler_names(self, event_type: str) -> str:
        return ",".join(spec.name for spec in self._processor.handlers_for(event_type))

    def _now_ms(self) -> int:
        return int(self._clock.now().timestamp() * 1000)


def _compact(envelope: dict[str, Any]) -> str:
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)


def _event_type_of(envelope: Any) -> str:
    event_type = envelope.get("event_type") if isinstance(envelope, dict) else None
    return event_type if isinstance(event_type, str) else ""


def _event_id_of(envelope: Any) -> UUID | None:
    try:
        return UUID(str(envelope["event_id"]))
    except (KeyError, TypeError, ValueError):
        return None

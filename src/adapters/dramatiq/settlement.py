"""Settlement: the one owner of what becomes of each message a worker took (ADR 0006, 0012).

A message handed to a worker ends in exactly one fate, decided here and written by one script
that also takes the message out of flight, so no fate is decided without being written or
written without the ack:

============================ ========= ==================================================
what happened                fate      script
============================ ========= ==================================================
the handler succeeded        completed ``complete.lua``: success recorded, acked
it had already succeeded     skipped   ``ack.lua``: a redelivery, plain ack
it failed and may retry      retry     ``defer.lua``: the next attempt after backoff
it failed for the last time  dead      ``dead_letter.lua``
its rate limit is full       wait      ``defer.lua``: when a slot frees, same attempt
no such handler, unreadable  dead      ``dead_letter.lua``, with the reason
event or undecodable body
Redis unreachable, or a bug  put back  ``put_back.lua``, tried until Redis answers
of ours interrupted it
============================ ========= ==================================================

Calls come one way, fetch -> actor -> handler -> here: the consumer hands what it cannot
deliver to :meth:`Settlement.quarantine`; the actor opens a :class:`Delivery` per message; the
handler runner sees the delivery only as its :class:`~hexbus.ports.ledger.DeliveryLedger`
(``begin`` is ``start.lua``, ``succeeded`` is ``complete.lua``: one script before the handler,
one after, as before); and the actor reports the run to :meth:`Settlement.settle`. Nothing is
left on the message for another layer to act on later, so Dramatiq's ack that follows has
nothing to do.

Dramatiq's Retries middleware is not installed: it counts rate-limit waits as failures and can
lose a message whose retry fails to enqueue (docs/research).
"""

from __future__ import annotations

import json
import logging
import random
import threading
import traceback
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import Enum
from typing import Any
from uuid import UUID

import attrs

from ...application.delivery import AttemptOutcome, AttemptResult, dead_letter_for
from ...application.processor import DomainEventsProcessor
from ...domain.events import DomainEvent
from ...ports.clock import Clock
from ...ports.dead_letters import DeadLetter, DeadLetterReason
from ...ports.handlers import HandlerSpec
from ...ports.observer import BusObserver
from .connection import TRANSIENT
from .dead_letters import RedisDeadLetters
from .keys import RedisKeys
from .messages import schedule_entry
from .scripts import Scripts
from .tracking import Tracking, minute_of, ms

log = logging.getLogger("hexbus.worker")


class Fate(Enum):
    """What became of one delivery (each written by one script, see the module's table)."""

    COMPLETED = "completed"
    SKIPPED = "skipped"
    RETRY = "retry"
    WAIT = "wait"
    DEAD = "dead"
    PUT_BACK = "put back"
    LEFT_IN_FLIGHT = "left in flight"
    """The worker stopped while Redis was still away: recovery returns it (ADR 0007)."""


@attrs.frozen
class _QueueKeys:
    """One queue's name and keys as this worker process sees them (made once per queue)."""

    name: str
    list: str
    messages: str
    acks: str
    wake: str
    stats: str


class Delivery:
    """One message on its way to its handler, and the ledger the handler runner uses.

    Made by :meth:`Settlement.delivery` only. ``fate`` is set by the settlement when it writes
    one, and read by no other layer: it lets the settlement refuse to settle a message twice.
    """

    __slots__ = (
        "_settlement",
        "attempt",
        "event_id",
        "event_type",
        "fate",
        "handler",
        "keys",
        "redis_id",
    )

    def __init__(
        self,
        settlement: Settlement,
        *,
        keys: _QueueKeys,
        redis_id: str,
        attempt: int,
        handler: str,
        event_id: str,
        event_type: str,
    ) -> None:
        self._settlement = settlement
        self.keys = keys
        self.redis_id = redis_id
        self.attempt = attempt
        self.handler = handler
        self.event_id = event_id
        self.event_type = event_type
        self.fate: Fate | None = None

    @property
    def queue(self) -> str:
        """The queue the message was taken from."""
        return self.keys.name

    # --- the DeliveryLedger port ------------------------------------------------------------

    def begin(self) -> bool:
        """``start.lua``: True when the handler already succeeded; else it is now running."""
        return self._settlement._start(self)

    def succeeded(self, elapsed: timedelta) -> None:
        """``complete.lua``: the success recorded and the message acked, in one step."""
        self._settlement._complete(self, elapsed)


class Settlement:
    """Decides and writes the fate of every message this worker process took.

    ``broker_id`` is this process's identity, decided before anything is built (it names the
    acks sets the scripts take messages out of); ``retention`` is the idempotency retention
    of success records.
    """

    def __init__(
        self,
        *,
        scripts: Scripts,
        keys: RedisKeys,
        broker_id: str,
        processor: DomainEventsProcessor,
        clock: Clock,
        observer: BusObserver,
        dead_letters: RedisDeadLetters,
        retention: timedelta,
        tracking: Tracking | None = None,
        random_fraction: Callable[[], float] = random.random,
        put_back_interval: timedelta = timedelta(seconds=1),
    ) -> None:
        self._scripts = scripts
        self._keys = keys
        self._broker_id = broker_id
        self._processor = processor
        self._clock = clock
        self._observer = observer
        self._dead_letters = dead_letters
        self._ttl_ms = ms(retention)
        self._tracking = tracking or Tracking()
        self._random = random_fraction
        self._put_back_interval = put_back_interval.total_seconds()
        self._stopping = threading.Event()
        self._queues: dict[str, _QueueKeys] = {}
        track = self._tracking
        self._status_ttl_ms = ms(track.status_ttl)
        self._bucket_ttl_ms = ms(track.bucket_ttl)
        self._succeeded_ttl_ms = ms(track.succeeded_ttl)
        self._status_template = keys.status_template

    # --- opening a delivery (the actor) ------------------------------------------------------

    def delivery(
        self, *, queue: str, redis_id: str, attempt: object, handler: str, envelope: Any
    ) -> Delivery:
        """The delivery of the message ``redis_id`` taken from ``queue``, for ``handler``.

        ``envelope`` is the event as the message carries it, not yet decoded: its id and type
        are read leniently, because an event that does not decode still has to be settled.
        """
        return Delivery(
            self,
            keys=self._queue_keys(queue),
            redis_id=redis_id,
            attempt=attempt if isinstance(attempt, int) and attempt >= 1 else 1,
            handler=handler,
            event_id=_event_id_of(envelope),
            event_type=_event_type_of(envelope),
        )

    # --- deciding (the actor reports; the settlement decides and writes) ---------------------

    def admit(
        self, delivery: Delivery, event: DomainEvent, spec: HandlerSpec, envelope: Any
    ) -> bool:
        """Take a slot of the handler's rate limit: True to run now; else the message waits
        on the schedule until a slot frees (``wait``: same attempt, no backoff, never dead)."""
        limit = spec.rate_limit
        if limit is None:
            return True
        now = self._clock.now()
        wait_ms = int(
            self._scripts.rate_limit(
                keys=[self._keys.rate(limit.bucket_for(event))],
                args=[_ms(now), ms(limit.period), limit.limit, delivery.redis_id],
            )
        )
        if wait_ms == 0:
            return True
        due = now + timedelta(milliseconds=wait_ms)
        self._defer(delivery, _compact(envelope), due, delivery.attempt, error=None, now=now)
        log.debug("rate limit %s full; %s waits %d ms", limit.name, spec.name, wait_ms)
        return False

    def settle(
        self,
        delivery: Delivery,
        event: DomainEvent,
        spec: HandlerSpec,
        result: AttemptResult,
        envelope: Any,
    ) -> None:
        """Write what the handler's run comes to: nothing more for a success (its ledger
        write was the settlement), an ack for a skip, a retry or a dead letter for a failure."""
        if delivery.fate is not None:  # its success was written, then a timeout landed
            return
        if result.outcome is AttemptOutcome.SUCCEEDED:
            raise RuntimeError(f"{spec.name} succeeded but its success was not recorded")
        if result.outcome is AttemptOutcome.SKIPPED:
            self._ack(delivery)
            return
        error = result.error
        assert error is not None
        now = self._clock.now()
        policy = spec.retry
        if policy.is_retryable(error) and delivery.attempt < policy.max_attempts:
            due = now + policy.backoff(delivery.attempt, self._random())
            # Serialized again only here, off the success path: a retry carries the event.
            next_attempt = delivery.attempt + 1
            self._defer(delivery, _compact(envelope), due, next_attempt, error=error, now=now)
            self._observer.handler_failed(event, spec, delivery.attempt, error, due)
            return
        dead_letter = dead_letter_for(
            spec=spec,
            event_id=event.event_id,
            event_type=event.event_type,
            message=_compact(envelope),
            error=error,
            attempts=delivery.attempt,
            failed_at=now,
        )
        self._dead(delivery, dead_letter)
        self._observer.handler_failed(event, spec, delivery.attempt, error, None)
        self._observer.dead_lettered(dead_letter)

    def reject(
        self, delivery: Delivery, envelope: Any, error: Exception, reason: DeadLetterReason
    ) -> None:
        """Dead-letter a message that names no handler of ours or holds no readable event."""
        dead_letter = DeadLetter(
            id=uuid.uuid4().hex,
            reason=reason,
            queue=delivery.queue,
            handler=delivery.handler,
            event_id=UUID(delivery.event_id) if delivery.event_id else None,
            event_type=envelope.get("event_type") if isinstance(envelope, dict) else None,
            message=_compact(envelope),
            error_type=f"{type(error).__module__}.{type(error).__qualname__}",
            error=str(error),
            traceback="".join(traceback.format_exception(error)),
            attempts=delivery.attempt,
            failed_at=self._clock.now(),
        )
        self._dead(delivery, dead_letter)
        self._observer.dead_lettered(dead_letter)

    def quarantine(self, queue: str, redis_id: str, body: bytes | None, reason: str) -> None:
        """Dead-letter a message the consumer could not even hand to the actor (a body that
        does not decode, names another queue or an actor we do not have, or was nacked)."""
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
        keys = self._queue_keys(queue)
        self._dead_letters.record(
            dead_letter, acks=keys.acks, messages=keys.messages, redis_id=redis_id
        )
        log.error("message %s on %s dead-lettered: %s", redis_id, queue, reason)
        self._observer.dead_lettered(dead_letter)

    def put_back(self, delivery: Delivery, error: BaseException) -> None:
        """The message could not be settled (Redis unreachable, or a bug of ours): back to its
        queue, to run again rather than vanish; the success ledger skips it if it had in fact
        succeeded. Retried every ``put_back_interval`` until Redis answers or the worker
        stops, when it stays in flight and recovery returns it once the heartbeat stops."""
        if delivery.fate is not None:  # settled before the error: nothing is left to do
            log.warning("error after settling %s (%s): %r", delivery.redis_id, delivery.fate, error)
            return
        if isinstance(error, TRANSIENT):
            log.warning(
                "Redis unreachable while settling %s for %s (%s); it goes back to its queue",
                delivery.redis_id,
                delivery.handler,
                error,
            )
        else:
            log.error(
                "hexbus failed delivering %s to %s; it goes back to its queue",
                delivery.redis_id,
                delivery.handler,
                exc_info=error,
            )
        keys = delivery.keys
        while True:
            try:
                self._scripts.put_back(
                    keys=[keys.acks, keys.messages, keys.list, keys.wake],
                    args=[delivery.redis_id],
                )
                delivery.fate = Fate.PUT_BACK
                return
            except TRANSIENT as again:
                if self._stopping.wait(self._put_back_interval):
                    delivery.fate = Fate.LEFT_IN_FLIGHT
                    log.warning(
                        "stopping with %s still in flight (%s): recovery will return it",
                        delivery.redis_id,
                        again,
                    )
                    return

    def stop(self) -> None:
        """Stop waiting for Redis to come back (the worker is shutting down)."""
        self._stopping.set()

    # --- writing (one script per fate) -------------------------------------------------------

    def _start(self, delivery: Delivery) -> bool:
        event_id = delivery.event_id
        done = self._scripts.start(
            keys=[
                self._keys.done(event_id),
                self._keys.status(event_id),
                self._keys.published(event_id),
            ],
            args=[
                delivery.handler,
                _ms(self._clock.now()),
                delivery.attempt,
                self._tracking.flag,
                self._status_ttl_ms,
                self._handler_names(delivery.event_type),
            ],
        )
        return bool(done)

    def _complete(self, delivery: Delivery, elapsed: timedelta) -> None:
        track = self._tracking
        keys = delivery.keys
        event_id = delivery.event_id
        now = self._clock.now()
        self._scripts.complete(
            keys=[
                self._keys.done(event_id),
                keys.acks,
                keys.messages,
                self._keys.status(event_id),
                self._keys.stats_bucket(keys.name, minute_of(now)),
                self._keys.recent,
            ],
            args=[
                delivery.handler,
                _ms(now),
                self._ttl_ms,
                delivery.redis_id,
                int(elapsed.total_seconds() * 1000),
                track.flag,
                self._bucket_ttl_ms,
                self._succeeded_ttl_ms,
                track.succeeded_keep,
                event_id,
                self._status_template,
            ],
        )
        delivery.fate = Fate.COMPLETED

    def _ack(self, delivery: Delivery) -> None:
        keys = delivery.keys
        self._scripts.ack(keys=[keys.acks, keys.messages], args=[delivery.redis_id])
        delivery.fate = Fate.SKIPPED

    def _defer(
        self,
        delivery: Delivery,
        envelope_json: str,
        due: datetime,
        attempt: int,
        *,
        error: BaseException | None,
        now: datetime,
    ) -> None:
        """Schedule the next run: a retry (``error`` given) or a wait for a rate-limit slot."""
        keys = delivery.keys
        entry = schedule_entry(
            event_id=delivery.event_id,
            event_type="",
            envelope_json=envelope_json,
            handlers=[(keys.name, delivery.handler, attempt)],
            published_ms=0,
            new_event=False,
            track=self._tracking.enabled,
        )
        self._scripts.defer(
            keys=[
                keys.acks,
                keys.messages,
                self._keys.schedule,
                self._keys.schedule_items,
                keys.stats,
                self._keys.stats_bucket(keys.name, minute_of(now)),
                self._keys.status(delivery.event_id or "none"),
            ],
            args=[
                delivery.redis_id,
                uuid.uuid4().hex,
                _ms(due),
                entry,
                "wait" if error is None else "retry",
                delivery.handler,
                delivery.attempt,
                "" if error is None else f"{type(error).__name__}: {error}"[:500],
                _ms(now),
                self._tracking.flag,
                self._bucket_ttl_ms,
                self._keys.schedule_wake,
            ],
        )
        delivery.fate = Fate.WAIT if error is None else Fate.RETRY

    def _dead(self, delivery: Delivery, dead_letter: DeadLetter) -> None:
        keys = delivery.keys
        self._dead_letters.record(
            dead_letter, acks=keys.acks, messages=keys.messages, redis_id=delivery.redis_id
        )
        delivery.fate = Fate.DEAD

    # --- internals ---------------------------------------------------------------------------

    def _queue_keys(self, queue: str) -> _QueueKeys:
        keys = self._queues.get(queue)
        if keys is None:
            keys = _QueueKeys(
                name=queue,
                list=self._keys.queue(queue),
                messages=self._keys.messages(queue),
                acks=self._keys.acks(self._broker_id, queue),
                wake=self._keys.wake(queue),
                stats=self._keys.stats(queue),
            )
            self._queues[queue] = keys
        return keys

    def _handler_names(self, event_type: str) -> str:
        return ",".join(spec.name for spec in self._processor.handlers_for(event_type))


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _compact(envelope: Any) -> str:
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)


def _event_type_of(envelope: Any) -> str:
    event_type = envelope.get("event_type") if isinstance(envelope, dict) else None
    return event_type if isinstance(event_type, str) else ""


def _event_id_of(envelope: Any) -> str:
    """The envelope's event id in canonical form (as every key spells it), or ''."""
    try:
        return str(UUID(str(envelope["event_id"])))
    except (KeyError, TypeError, ValueError):
        return ""

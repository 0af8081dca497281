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
workers died running it N    dead      ``dead_letter.lua`` (``start.lua`` counts starts)
times (N: max_worker_deaths)
Redis refused a step (a key  dead      ``dead_letter.lua``, with Redis's answer
of the wrong type)
Redis unreachable, or a bug  put back  ``put_back.lua``, tried until Redis answers
of ours interrupted it
============================ ========= ==================================================

Every fate script also clears the message's start count in ``{ns}:runs:{queue}``: a count
left when the message is fetched again is a worker process that died while running it
(ADR 0017).

Deciding is here; writing, one script per fate, is :mod:`.fates`; the message on its way and
its ledger are :mod:`.deliveries`. Calls come one way, fetch -> actor -> handler -> here: the
consumer hands what it cannot deliver to :meth:`Settlement.quarantine` (and, serving one queue,
has each fetched batch started at once, :meth:`Settlement.start_all`, ADR 0019); the actor
opens a :class:`Delivery` per message; the handler runner sees the delivery only as its
:class:`~hexbus.ports.ledger.DeliveryLedger` (``begin`` is ``start.lua``, or its batch's answer,
``succeeded`` is ``complete.lua``: one script before the handler, one after); and the actor
reports the run to
:meth:`Settlement.settle`. Nothing is left on the message for another layer to act on later,
so Dramatiq's ack that follows has nothing to do.

Dramatiq's Retries middleware is not installed: it counts rate-limit waits as failures and can
lose a message whose retry fails to enqueue (docs/research).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import redis

from ...application.delivery import AttemptOutcome, AttemptResult, dead_letter_for
from ...application.processor import DomainEventsProcessor
from ...domain.events import DomainEvent
from ...ports.clock import Clock
from ...ports.dead_letters import DeadLetterReason
from ...ports.handlers import HandlerSpec
from ...ports.observer import BusObserver
from .connection import TRANSIENT
from .dead_letters import RedisDeadLetters
from .deliveries import (
    Delivery,
    Fate,
    Fetched,
    StartedFor,
    WorkerDeaths,
    event_id_of,
    event_type_of,
)
from .fates import Fates
from .handler_returns import HandlerReturns
from .keys import RedisKeys
from .millis import epoch_ms, ms
from .scripts import Scripts
from .tracking import Tracking
from .undeliverable import compact, quarantined, rejected

Refusal = tuple[str | bytes, bytes | None, str, StartedFor | None]
"""An item a consumer refused: the id the queue held (bytes when not UTF-8), its body, why (a
reason that quotes none of it), and what ``fetch.lua`` started it for, if it did: that
handler's status then says dead, not running."""


log = logging.getLogger("hexbus.worker")


__all__ = ["Delivery", "Fate", "Fetched", "Settlement", "WorkerDeaths"]


class Settlement:
    """Decides the fate of every message this worker process took; :class:`Fates` writes it.

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
        max_worker_deaths: int = 3,
        handler_returns: HandlerReturns | None = None,
    ) -> None:
        self._scripts = scripts
        self._keys = keys
        self._clock = clock
        self._observer = observer
        self._random = random_fraction
        self._put_back_interval = put_back_interval.total_seconds()
        self._stopping = threading.Event()
        self._quarantine_log = QuarantineLog()
        self._fates = Fates(
            scripts=scripts,
            keys=keys,
            broker_id=broker_id,
            processor=processor,
            clock=clock,
            dead_letters=dead_letters,
            retention=retention,
            tracking=tracking or Tracking(),
            max_worker_deaths=max_worker_deaths,
            handler_returns=handler_returns or HandlerReturns(),
        )

    # --- opening a delivery (the actor) ------------------------------------------------------

    def delivery(
        self, *, queue: str, redis_id: str, attempt: object, handler: str, envelope: Any
    ) -> Delivery:
        """The delivery of the message ``redis_id`` taken from ``queue``, for ``handler``.

        ``envelope`` is the event as the message carries it, not yet decoded: its id and type
        are read leniently, because an event that does not decode still has to be settled.
        """
        return Delivery(
            self._fates,
            keys=self._fates.queue_keys(queue),
            redis_id=redis_id,
            attempt=attempt if isinstance(attempt, int) and attempt >= 1 else 1,
            handler=handler,
            event_id=event_id_of(envelope),
            event_type=event_type_of(envelope),
        )

    def start_all(self, fetched: Sequence[Fetched]) -> None:
        """Start, in one round trip (``start.lua`` taking every item), the messages of a batch
        just fetched that ``fetch.lua`` could not start as it took them, so that no
        delivery's ledger ``begin`` needs one (ADR 0019). The worker pool fetches only as
        many as it has idle threads, so each goes to a thread at once."""
        self._fates.start_all(
            [
                self.delivery(
                    queue=item.queue,
                    redis_id=item.redis_id,
                    attempt=item.attempt,
                    handler=item.handler,
                    envelope=item.envelope,
                )
                for item in fetched
                if not self._fates.has_start(item.redis_id)
            ]
        )

    @property
    def fetch_start_args(self) -> tuple[str | int, ...]:
        """What ``fetch.lua`` needs to start the messages it takes (:mod:`.fetcher`)."""
        return self._fates.fetch_start_args

    def started_at_fetch(self, item: Fetched, answer: Any) -> None:
        """``fetch.lua`` started ``item`` as it took it, with this answer."""
        self._fates.started_at_fetch(item.redis_id, answer)

    def forget(self, redis_id: str) -> None:
        """A message started with its batch goes back unhandled (the worker stops)."""
        self._fates.forget(redis_id)

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
                args=[epoch_ms(now), ms(limit.period), limit.limit, delivery.redis_id],
            )
        )
        if wait_ms == 0:
            return True
        due = now + timedelta(milliseconds=wait_ms)
        self._fates.defer(delivery, compact(envelope), due, delivery.attempt, error=None, now=now)
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
            self._fates.ack(delivery)
            return
        error = result.error
        assert error is not None
        now = self._clock.now()
        policy = spec.retry
        if policy.is_retryable(error) and delivery.attempt < policy.max_attempts:
            due = now + policy.backoff(delivery.attempt, self._random())
            # Serialized again only here, off the success path: a retry carries the event.
            next_attempt = delivery.attempt + 1
            self._fates.defer(delivery, compact(envelope), due, next_attempt, error=error, now=now)
            self._observer.handler_failed(event, spec, delivery.attempt, error, due)
            return
        dead_letter = dead_letter_for(
            spec=spec,
            event_id=event.event_id,
            event_type=event.event_type,
            message=compact(envelope),
            error=error,
            attempts=delivery.attempt,
            failed_at=now,
        )
        self._fates.dead(delivery, dead_letter)
        self._observer.handler_failed(event, spec, delivery.attempt, error, None)
        self._observer.dead_lettered(dead_letter)

    def reject(
        self, delivery: Delivery, envelope: Any, error: BaseException, reason: DeadLetterReason
    ) -> None:
        """Dead-letter a message that names no handler of ours, holds no readable event, or
        whose delivery cannot go on (workers died running it, Redis refused a step)."""
        dead_letter = rejected(
            queue=delivery.queue,
            handler=delivery.handler,
            event_id=delivery.event_id,
            envelope=envelope,
            error=error,
            reason=reason,
            attempts=delivery.attempt,
            failed_at=self._clock.now(),
            # A death or a refused step is not an error of the handler's: the reason is the
            # whole story, and the frames would be hexbus's own.
            include_traceback=reason
            not in (DeadLetterReason.WORKER_DIED, DeadLetterReason.UNSETTLEABLE),
        )
        self._fates.dead(delivery, dead_letter)
        # The observers log it (its error only with HEXBUS_LOG_PAYLOADS: it may quote the event).
        self._observer.dead_lettered(dead_letter)

    def quarantine(
        self, queue: str, redis_id: str | bytes, body: bytes | None, reason: str
    ) -> None:
        """Dead-letter an item the fetch could not even hand to the actor (a bad id, a body
        that is empty, unreadable or not a hexbus message).

        ``redis_id`` is what the queue held, bytes when it is not UTF-8; ``reason`` says what
        is wrong with the item without quoting it (:mod:`.intake`)."""
        dead_letter = quarantined(
            queue=queue, body=body, reason=reason, failed_at=self._clock.now()
        )
        self._fates.quarantine(queue, redis_id, dead_letter)
        self._quarantine_log.note(queue, redis_id, dead_letter.error)
        self._observer.dead_lettered(dead_letter)

    def quarantine_all(self, queue: str, items: Sequence[Refusal]) -> None:
        """:meth:`quarantine` for what one fetch refused, in one round trip: a fuzz of bad
        items costs a consumer a fraction of what the good ones do, not a round trip each.
        Raises the first error Redis answered (after recording every item it could), as
        :meth:`quarantine` would have for that item."""
        if not items:
            return
        now = self._clock.now()
        letters = [
            (quarantined(queue=queue, body=body, reason=reason, failed_at=now), redis_id, started)
            for redis_id, body, reason, started in items
        ]
        errors = self._fates.quarantine_all(queue, letters)
        first: Exception | None = None
        for (dead_letter, redis_id, _), error in zip(letters, errors, strict=True):
            if error is not None:
                first = first or error
                continue
            self._quarantine_log.note(queue, redis_id, dead_letter.error)
            self._observer.dead_lettered(dead_letter)
        if first is not None:
            raise first

    def drop(self, queue: str, redis_id: str) -> None:
        """Take an id whose body is gone out of flight: it was settled elsewhere meanwhile
        (recovered while its first run finished), so there is nothing left to run."""
        self._fates.drop(queue, redis_id)

    def put_back(self, delivery: Delivery, error: BaseException, envelope: Any = None) -> None:
        """The message could not be settled: decide what becomes of it.

        Worker processes died running it too often (:class:`WorkerDeaths`), or Redis refused
        a step and would again (an error reply, such as a key of the wrong type): it is
        dead-lettered with that reason, never tried forever. Redis unreachable, or a bug of
        ours: back to its queue, to run again rather than vanish; the success ledger skips it
        if it had in fact succeeded. Retried every ``put_back_interval`` until Redis answers
        or the worker stops, when it stays in flight and recovery returns it once the
        heartbeat stops."""
        if delivery.fate is not None:  # settled before the error: nothing is left to do
            log.warning("error after settling %s (%s): %r", delivery.redis_id, delivery.fate, error)
            return
        if isinstance(error, WorkerDeaths | redis.ResponseError):
            reason = (
                DeadLetterReason.WORKER_DIED
                if isinstance(error, WorkerDeaths)
                else DeadLetterReason.UNSETTLEABLE
            )
            try:
                self.reject(delivery, envelope, error, reason)
                return
            except redis.ResponseError as refused:  # the dead letters themselves are unusable
                log.error("could not dead-letter %s: %s", delivery.redis_id, refused)
                error = refused
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
        while True:
            try:
                self._fates.put_back(delivery)
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


class QuarantineLog:
    """Logs why items were quarantined, at most :attr:`PER_MINUTE` lines a minute per queue,
    then how many more: a flood of garbage must not flood the log (or slow the worker down)."""

    PER_MINUTE = 10

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def note(self, queue: str, redis_id: str | bytes, reason: str) -> None:
        """One item of ``queue`` dead-lettered for ``reason`` (which quotes none of it)."""
        now = self._clock()
        with self._lock:
            since, count = self._windows.get(queue, (now, 0))
            if now - since >= 60:
                if count > self.PER_MINUTE:
                    log.error(
                        "%d more items of %s dead-lettered in the last minute (hexbus "
                        "dead-letters list)",
                        count - self.PER_MINUTE,
                        queue,
                    )
                since, count = now, 0
            count += 1
            self._windows[queue] = (since, count)
        if count <= self.PER_MINUTE:
            shown = redis_id if isinstance(redis_id, str) and len(redis_id) <= 64 else "(bad id)"
            log.error("message %s on %s dead-lettered: %s", shown, queue, reason)

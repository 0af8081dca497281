"""Dead letters in Redis: listed newest first, retried atomically, bounded by retention.

Dramatiq keeps its own dead letters in ``{queue}.XQ`` with no way to list or requeue them;
hexbus never sends anything there (what it cannot deliver is dead-lettered here), so an
operator has one place to look.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import redis

from ...application.processor import DomainEventsProcessor
from ...domain.errors import (
    DeadLetterNotFound,
    DeadLetterNotRetryable,
    UnknownHandler,
)
from ...ports.clock import Clock
from ...ports.dead_letters import DeadLetter, DeadLetterPage, Progress
from .codec import dump_dead_letter, load_dead_letter
from .connection import translated, with_retries
from .deliveries import StartedFor
from .keys import RedisKeys
from .messages import build_message, queue_for
from .millis import epoch_ms
from .routes import RedisRoutes
from .scripts import Scripts
from .tracking import Tracking, minute_of

PAGE = 500


class RedisDeadLetters:
    """The :class:`DeadLetters` port on Redis (``{ns}:dead`` ZSET + ``{ns}:dead:items`` HASH)."""

    def __init__(
        self,
        client: redis.Redis,
        keys: RedisKeys,
        scripts: Scripts,
        processor: DomainEventsProcessor,
        clock: Clock,
        *,
        retention: timedelta,
        tracking: Tracking | None = None,
        routes: RedisRoutes | None = None,
    ) -> None:
        self._client = client
        self._keys = keys
        self._scripts = scripts
        self._processor = processor
        self._clock = clock
        self.retention = retention
        self.tracking = tracking or Tracking()
        self._routes = routes

    # --- recording (workers) ---------------------------------------------------------------

    def record(
        self,
        dead_letter: DeadLetter,
        *,
        acks: str,
        messages: str,
        runs: str,
        redis_id: str | bytes,
        counts_as_failure: bool = True,
    ) -> None:
        """Keep ``dead_letter`` and ack the message it came from, in one script.

        Also counts it against its queue, marks the handler dead in the event's status, and
        clears the message's start count (``runs``, ADR 0017).
        """
        keys, args = self._call(
            dead_letter,
            acks=acks,
            messages=messages,
            runs=runs,
            redis_id=redis_id,
            counts_as_failure=counts_as_failure,
        )
        self._scripts.dead_letter(keys=keys, args=args)

    def record_all(
        self,
        items: Sequence[tuple[DeadLetter, str | bytes, StartedFor | None]],
        *,
        acks: str,
        messages: str,
        runs: str,
    ) -> list[Exception | None]:
        """:meth:`record` for several items of one queue in one pipelined round trip (what a
        consumer refused of one fetch): each script runs on its own, so one refused by Redis
        (a key of the wrong type) does not keep the others from being recorded. Returns, per
        item, None when recorded or the error Redis answered; raises when Redis could not be
        reached (nothing is lost: the items stay in the acks set, reconciled later)."""
        if not items:
            return []
        pipe = self._scripts.dead_letter.registered_client.pipeline(transaction=False)
        for dead_letter, redis_id, started_for in items:
            keys, args = self._call(
                dead_letter,
                acks=acks,
                messages=messages,
                runs=runs,
                redis_id=redis_id,
                started_for=started_for,
            )
            self._scripts.dead_letter(keys=keys, args=args, client=pipe)
        replies = pipe.execute(raise_on_error=False)
        return [reply if isinstance(reply, Exception) else None for reply in replies]

    def _call(
        self,
        dead_letter: DeadLetter,
        *,
        acks: str,
        messages: str,
        runs: str,
        redis_id: str | bytes,
        counts_as_failure: bool = True,
        started_for: StartedFor | None = None,
    ) -> tuple[list[str], list[Any]]:
        # ``started_for``: the (event id, handler) whose status says running for an item the
        # fetch started and the worker then refused; the dead letter marks it dead.
        now = self._clock.now()
        horizon = now - self.retention
        queue = dead_letter.queue
        keys = [
            acks,
            messages,
            self._keys.dead,
            self._keys.dead_items,
            self._keys.stats(queue),
            self._keys.status(started_for[0] if started_for else dead_letter.event_id or "none"),
            runs,
        ]
        args: list[Any] = [
            redis_id,
            dead_letter.id,
            epoch_ms(dead_letter.failed_at),
            dump_dead_letter(dead_letter),
            epoch_ms(horizon),
            started_for[1] if started_for else dead_letter.handler or "",
            dead_letter.attempts,
            dead_letter.error[:500],
            self.tracking.flag,
            minute_of(now),
            self._keys.stats_template,
            "1" if counts_as_failure else "0",
        ]
        return keys, args

    # --- the DeadLetters port --------------------------------------------------------------

    @translated
    def list(self, *, offset: int = 0, limit: int = 50) -> DeadLetterPage:
        """Newest first; expired ones are dropped first so they never show."""
        if offset < 0 or limit < 1:
            raise ValueError("offset must be >= 0 and limit >= 1")
        self.purge_expired()
        ids, total = self._read_page(offset, limit)
        items = self._client.hmget(self._keys.dead_items, ids) if ids else []
        letters = tuple(load_dead_letter(item) for item in items if item is not None)
        return DeadLetterPage(items=letters, total=total, offset=offset, limit=limit)

    @translated
    def get(self, dead_letter_id: str) -> DeadLetter:
        """One dead letter."""
        item = self._client.hget(self._keys.dead_items, dead_letter_id)
        if item is None:
            raise DeadLetterNotFound(dead_letter_id)
        return load_dead_letter(item)

    @translated
    def count(self) -> int:
        """How many there are (ZCARD: constant time)."""
        return int(self._client.zcard(self._keys.dead))

    def retry(self, dead_letter_id: str) -> None:
        """Send it again to its handler, attempts counted afresh; atomic, so never twice.

        The handler's queue is its route's (ADR 0015), so an operator's process needs no
        handler registry; without a route (no live worker declared it for the grace period),
        this process's own registry may still name it.
        """
        self._retry(dead_letter_id, self._route_queues())

    def _retry(self, dead_letter_id: str, route_queues: Mapping[str, str]) -> None:
        dead_letter = self.get(dead_letter_id)
        handler = dead_letter.handler
        if handler is None:
            raise DeadLetterNotRetryable(
                f"dead letter {dead_letter_id} ({dead_letter.reason.value}) names no handler: "
                f"it is kept for inspection; remove it when done. Error: {dead_letter.error}"
            )
        queue = self._queue_of(handler, route_queues)
        if queue is None:
            raise DeadLetterNotRetryable(
                f"dead letter {dead_letter_id} is for handler {handler!r}, which no worker "
                "declares (hexbus routes) and this process does not have; start a worker that "
                "serves it, or remove the dead letter"
            )
        try:
            json.loads(dead_letter.message)
        except ValueError:
            raise DeadLetterNotRetryable(
                f"dead letter {dead_letter_id} holds no readable event; inspect and remove it"
            ) from None
        now = self._clock.now()
        message = build_message(
            queue=queue,
            handler=handler,
            envelope_json=dead_letter.message,
            # With the handler, the event id makes the message_id; a dead letter without one
            # (an unreadable event) is named after itself.
            event_id=str(dead_letter.event_id or f"dead-{dead_letter.id}"),
            now_ms=epoch_ms(now),
        )
        requeue = with_retries(self._scripts.requeue_dead, what="retry a dead letter")
        done = requeue(
            keys=[
                self._keys.dead,
                self._keys.dead_items,
                self._keys.queue(message.queue),
                self._keys.messages(message.queue),
                self._keys.wake(message.queue),
                self._keys.status(dead_letter.event_id or "none"),
                self._keys.stats(dead_letter.queue),
            ],
            args=[dead_letter_id, message.redis_id, message.body, handler, epoch_ms(now)],
        )
        if not done:
            raise DeadLetterNotFound(dead_letter_id)

    @translated
    def retry_all(self, progress: Progress | None = None) -> int:
        """Retry every retryable dead letter, oldest first, reporting progress."""
        ids = [_text(i) for i in self._client.zrange(self._keys.dead, 0, -1)]  # type: ignore[arg-type]
        route_queues = self._route_queues()
        retried = 0
        for done, dead_letter_id in enumerate(ids, start=1):
            try:
                self._retry(dead_letter_id, route_queues)
                retried += 1
            except (DeadLetterNotRetryable, DeadLetterNotFound):
                pass
            if progress is not None:
                progress(done, len(ids))
        return retried

    @translated
    def remove(self, dead_letter_id: str) -> None:
        """Delete it; DeadLetterNotFound when it was not there."""
        removed = self._scripts.remove_dead(
            keys=[self._keys.dead, self._keys.dead_items],
            args=[dead_letter_id, self._keys.stats_template],
        )
        if not removed:
            raise DeadLetterNotFound(dead_letter_id)

    @translated
    def purge_expired(self) -> int:
        """Drop dead letters older than the retention; returns how many."""
        horizon = epoch_ms(self._clock.now() - self.retention)
        stale: Any = self._client.zrangebyscore(self._keys.dead, "-inf", f"({horizon}")
        for dead_letter_id in stale:
            self._scripts.remove_dead(
                keys=[self._keys.dead, self._keys.dead_items],
                args=[dead_letter_id, self._keys.stats_template],
            )
        return len(stale)

    @translated
    def _route_queues(self) -> dict[str, str]:
        """Handler -> its route's queue (one read of the route table)."""
        if self._routes is None:
            return {}
        return {route.handler: route.queue for route in self._routes.read().routes}

    def _queue_of(self, handler: str, route_queues: Mapping[str, str]) -> str | None:
        """Where a retry of ``handler`` goes: its route's queue, else its spec's here."""
        if handler in route_queues:
            return route_queues[handler]
        try:
            return queue_for(self._processor.get(handler))
        except UnknownHandler:
            return None

    def _read_page(self, offset: int, limit: int) -> tuple[Sequence[str], int]:
        pipe = self._client.pipeline(transaction=False)
        pipe.zrevrange(self._keys.dead, offset, offset + limit - 1)
        pipe.zcard(self._keys.dead)
        ids, total = pipe.execute()
        return [_text(i) for i in ids], int(total)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value

"""Fates: the scripts that write what becomes of a message, one per fate (ADR 0006, 0012).

:class:`~.settlement.Settlement` decides; this writes, each fate with the script that also
takes the message out of flight and clears its start count (ADR 0017), and sets the
delivery's ``fate``. Nothing here decides anything but the order of keys and arguments.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import redis

from ...application.processor import DomainEventsProcessor
from ...ports.clock import Clock
from ...ports.dead_letters import DeadLetter
from .connection import TRANSIENT
from .dead_letters import RedisDeadLetters
from .deliveries import Delivery, Fate, QueueKeys, StartedFor, WorkerDeaths
from .group_commit import GroupCommit
from .handler_returns import HandlerReturns
from .keys import RedisKeys
from .messages import ATTEMPT, schedule_entry
from .millis import epoch_ms, ms
from .scripts import Scripts
from .tracking import Tracking, minute_of

log = logging.getLogger("hexbus.worker")

ScriptCall = tuple[list[str], list[str | int]]
"""One item's KEYS and ARGV in a script call that carries many."""


class Fates:
    """Writes the fates of the messages one worker process (``broker_id``) took.

    ``retention`` is the idempotency retention of success records; ``max_worker_deaths`` how
    many worker deaths while running one message make ``start.lua`` refuse to start it.
    """

    def __init__(
        self,
        *,
        scripts: Scripts,
        keys: RedisKeys,
        broker_id: str,
        processor: DomainEventsProcessor,
        clock: Clock,
        dead_letters: RedisDeadLetters,
        retention: timedelta,
        tracking: Tracking,
        max_worker_deaths: int,
        handler_returns: HandlerReturns,
    ) -> None:
        if max_worker_deaths < 1:
            raise ValueError("max_worker_deaths must be at least 1")
        self._scripts = scripts
        self._keys = keys
        self._broker_id = broker_id
        self._processor = processor
        self._clock = clock
        self._dead_letters = dead_letters
        self._ttl_ms = ms(retention)
        self._tracking = tracking
        self._queues: dict[str, QueueKeys] = {}
        # The arguments every message of a start.lua or complete.lua call shares, given once.
        self._start_shared: tuple[str | int, ...] = (
            tracking.flag,
            ms(tracking.status_ttl),
            max_worker_deaths,
        )
        self._complete_shared: tuple[str | int, ...] = (
            self._ttl_ms,
            tracking.flag,
            ms(tracking.succeeded_ttl),
            tracking.succeeded_keep,
            keys.status_template,
        )
        # What fetch.lua needs to start the messages it takes (start.lua's shared arguments,
        # then the templates of the keys it names by event id).
        self.fetch_start_args: tuple[str | int, ...] = (
            *self._start_shared,
            keys.done_template,
            keys.status_template,
            keys.published_template,
            ATTEMPT,
        )
        # The start answers of messages started with their batch (by fetch.lua or start_all),
        # by redis id, until their delivery begins; every fate written drops its entry.
        self._started: dict[str, Any] = {}
        # Successes the threads report while a call is on the wire go in the next one.
        self._completions: GroupCommit[ScriptCall] = GroupCommit(self._complete_all)
        self._handler_returns = handler_returns

    def start(self, delivery: Delivery) -> bool:
        """``start.lua``: True when the handler already succeeded; else it is now running.
        Raises :class:`WorkerDeaths` when workers died running it as often as allowed.

        A message started with its batch when it was fetched (:meth:`start_all`) has its
        answer already: no round trip here."""
        answer = self._started.pop(delivery.redis_id, None)
        if answer is None:
            (answer,) = self._scripts.start(
                keys=self._start_keys(delivery),
                args=[*self._start_shared, *self._start_args(delivery)],
            )
        done = _answer(answer)
        if done < 0:
            raise WorkerDeaths(-done)
        return bool(done)

    def start_all(self, deliveries: Sequence[Delivery]) -> None:
        """``start.lua`` for every message of a batch just fetched, in one call instead of one
        before each handler (ADR 0019); :meth:`start` then answers from it.

        Only for messages that go to a thread at once (the worker pool's fetch): the start count
        is then as true as when each thread starts its own. Never raises: what could not be
        started here (Redis unreachable) is started by :meth:`start` as before, and an error
        answer (a wrong-typed key) is raised there, by its delivery."""
        if not deliveries:
            return
        keys: list[str] = []
        args: list[str | int] = [*self._start_shared]
        for delivery in deliveries:
            keys += self._start_keys(delivery)
            args += self._start_args(delivery)
        try:
            answers = self._scripts.start(keys=keys, args=args)
        except (*TRANSIENT, redis.ResponseError) as error:
            # Unreachable, or the whole call refused (one message's refusal is an answer):
            # the fetch goes on, and each delivery's own start raises whatever stands.
            log.debug("batch start failed (%s): each message starts on its own", error)
            return
        for delivery, answer in zip(deliveries, answers, strict=True):
            self._started[delivery.redis_id] = answer

    def started_at_fetch(self, redis_id: str, answer: Any) -> None:
        """fetch.lua started this message as it took it: :meth:`start` answers from that."""
        self._started[redis_id] = answer

    def has_start(self, redis_id: str) -> bool:
        """Whether this message's start answer is here already (its batch started it)."""
        return redis_id in self._started

    def forget(self, redis_id: str) -> None:
        """A message started with its batch that no delivery will take (handed back)."""
        self._started.pop(redis_id, None)

    def _start_keys(self, delivery: Delivery) -> list[str]:
        event_id = delivery.event_id
        return [
            self._keys.done(event_id),
            self._keys.status(event_id),
            self._keys.published(event_id),
            delivery.keys.runs,
        ]

    def _start_args(self, delivery: Delivery) -> list[str | int]:
        return [
            delivery.handler,
            epoch_ms(self._clock.now()),
            delivery.attempt,
            self._handler_names(delivery.event_type),
            delivery.redis_id,
        ]

    def complete(self, delivery: Delivery, elapsed: timedelta) -> None:
        """``complete.lua``: the success recorded and the message acked, in one step; made
        with the other threads' successes waiting at the time, in one call (ADR 0019)."""
        keys = delivery.keys
        event_id = delivery.event_id
        now = self._clock.now()
        # The handler is done with its thread: the pool may fetch its next message while
        # the record is on the wire.
        self._handler_returns()
        self._completions.submit(
            (
                [
                    self._keys.done(event_id),
                    keys.acks,
                    keys.messages,
                    self._keys.status(event_id),
                    keys.stats,
                    self._keys.recent,
                    keys.runs,
                ],
                [
                    delivery.handler,
                    epoch_ms(now),
                    delivery.redis_id,
                    int(elapsed.total_seconds() * 1000),
                    event_id,
                    minute_of(now),
                ],
            )
        )
        delivery.fate = Fate.COMPLETED
        self._started.pop(delivery.redis_id, None)

    def _complete_all(self, items: Sequence[ScriptCall]) -> list[BaseException | None]:
        keys: list[str] = []
        args: list[str | int] = [*self._complete_shared]
        for item_keys, item_args in items:
            keys += item_keys
            args += item_args
        answers = self._scripts.complete(keys=keys, args=args)
        return [_refusal(answer) for answer in answers]

    def ack(self, delivery: Delivery) -> None:
        """``ack.lua``: a redelivery of a handler that already succeeded."""
        keys = delivery.keys
        self._scripts.ack(keys=[keys.acks, keys.messages, keys.runs], args=[delivery.redis_id])
        delivery.fate = Fate.SKIPPED
        self._started.pop(delivery.redis_id, None)

    def defer(
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
                self._keys.status(delivery.event_id or "none"),
                keys.runs,
            ],
            args=[
                delivery.redis_id,
                uuid.uuid4().hex,
                epoch_ms(due),
                entry,
                "wait" if error is None else "retry",
                delivery.handler,
                delivery.attempt,
                "" if error is None else f"{type(error).__name__}: {error}"[:500],
                epoch_ms(now),
                self._tracking.flag,
                minute_of(now),
                self._keys.schedule_wake,
            ],
        )
        delivery.fate = Fate.WAIT if error is None else Fate.RETRY
        self._started.pop(delivery.redis_id, None)

    def dead(self, delivery: Delivery, dead_letter: DeadLetter) -> None:
        """``dead_letter.lua``: the dead letter kept and the message acked, in one step."""
        keys = delivery.keys
        self._dead_letters.record(
            dead_letter,
            acks=keys.acks,
            messages=keys.messages,
            runs=keys.runs,
            redis_id=delivery.redis_id,
        )
        delivery.fate = Fate.DEAD
        self._started.pop(delivery.redis_id, None)

    def queue_keys(self, queue: str) -> QueueKeys:
        """One queue's keys as this process names them (made once per queue)."""
        keys = self._queues.get(queue)
        if keys is None:
            keys = QueueKeys(
                name=queue,
                list=self._keys.queue(queue),
                messages=self._keys.messages(queue),
                acks=self._keys.acks(self._broker_id, queue),
                wake=self._keys.wake(queue),
                stats=self._keys.stats(queue),
                runs=self._keys.runs(queue),
            )
            self._queues[queue] = keys
        return keys

    def _handler_names(self, event_type: str) -> str:
        return ",".join(spec.name for spec in self._processor.handlers_for(event_type))

    def quarantine(self, queue: str, redis_id: str | bytes, dead_letter: DeadLetter) -> None:
        """``dead_letter.lua`` for an item that never became a delivery."""
        keys = self.queue_keys(queue)
        self._dead_letters.record(
            dead_letter, acks=keys.acks, messages=keys.messages, runs=keys.runs, redis_id=redis_id
        )

    def quarantine_all(
        self, queue: str, items: Sequence[tuple[DeadLetter, str | bytes, StartedFor | None]]
    ) -> list[Exception | None]:
        """:meth:`quarantine` for several items of one fetch, in one round trip; an item
        ``fetch.lua`` started has the status of the (event id, handler) it started marked dead."""
        keys = self.queue_keys(queue)
        return self._dead_letters.record_all(
            items, acks=keys.acks, messages=keys.messages, runs=keys.runs
        )

    def drop(self, queue: str, redis_id: str) -> None:
        """``ack.lua`` for an id whose body is gone: nothing left to run."""
        keys = self.queue_keys(queue)
        self._scripts.ack(keys=[keys.acks, keys.messages, keys.runs], args=[redis_id])

    def put_back(self, delivery: Delivery) -> None:
        """``put_back.lua``: back to the tail of its queue, its start count cleared."""
        keys = delivery.keys
        self._scripts.put_back(
            keys=[keys.acks, keys.messages, keys.list, keys.wake, keys.runs],
            args=[delivery.redis_id],
        )
        delivery.fate = Fate.PUT_BACK
        self._started.pop(delivery.redis_id, None)


def _refusal(answer: Any) -> redis.ResponseError | None:
    """A batch script's answer for one item: None when written, else the error reply it
    stands for (the script returns it as text: one item's refusal is not the call's)."""
    if isinstance(answer, bytes):
        answer = answer.decode("utf-8", "replace")
    return redis.ResponseError(answer) if isinstance(answer, str) else None


def _answer(answer: Any) -> int:
    """``start.lua``'s answer for one message: raises the error reply it stands for."""
    refused = _refusal(answer)
    if refused is not None:
        raise refused
    return int(answer)

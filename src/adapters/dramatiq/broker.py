"""Dramatiq's Redis broker with hexbus's consumer: the fetch end of the worker path.

Dramatiq's consumer fetches message bodies without their ids, so a body it cannot decode
cannot be acked or moved: it stays in the acks set with the rest of its batch until the process
dies, and comes back to do it again (see docs/research). hexbus's consumer fetches ids with
bodies (``fetch.lua``), reads each with :mod:`.intake`, and hands anything it cannot deliver
(with the reason: an empty or unreadable body, a bad id, options or arguments, another queue,
or nacked) to the :class:`~.settlement.Settlement`, which dead-letters it, so a worker never
chokes and the items fetched with a bad one go on (ADR 0018).

What the consumer holds is known to the broker, per queue (:class:`InFlight`), across the
consumers Dramatiq makes after each reconnect; each new consumer first reconciles its acks set
with it (``reconcile.lua``), so ids a fetch moved whose reply was lost go back to the queue
(ADR 0017). A queue whose keys hold the wrong type is reported and skipped, never the
others.

Everything it hands out is settled by the settlement before Dramatiq calls :meth:`ack` (the
actor reports every outcome there, ADR 0012), so ``ack`` only frees the prefetch slot: no
round trip, and nothing to read off the message. What the consumer does write is its own
side of a fetch: it gives back what it prefetched but never handed out (on close and at
shutdown), and drops ids whose bodies vanished meanwhile.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

import redis
from dramatiq.broker import Consumer, MessageProxy
from dramatiq.brokers.redis import RedisBroker
from dramatiq.errors import ConnectionClosed
from dramatiq.message import Message

from ...ports.clock import Clock
from . import intake
from .connection import TRANSIENT
from .keys import RedisKeys
from .messages import ATTEMPT
from .scripts import Scripts
from .settlement import Fetched, Refusal, Settlement

log = logging.getLogger("hexbus.worker")

REPORT_EVERY: float = 60.0
"""Seconds between two reports of the same broken queue (a wrong-typed key)."""


class InFlight:
    """The ids of one queue this process has handed to its threads and not yet settled.

    Kept by the broker, not the consumer: Dramatiq makes a new consumer after a connection
    error while the old one's messages are still running, and the new one must not give
    those back.
    """

    def __init__(self) -> None:
        self._ids: set[str] = set()
        self._lock = threading.Lock()

    def add(self, redis_id: str) -> None:
        with self._lock:
            self._ids.add(redis_id)

    def discard(self, redis_id: str) -> None:
        with self._lock:
            self._ids.discard(redis_id)

    def snapshot(self) -> list[str]:
        with self._lock:
            return list(self._ids)

    def __len__(self) -> int:
        return len(self._ids)


class HexbusRedisBroker(RedisBroker):
    """A RedisBroker whose consumers are :class:`HexbusConsumer`.

    Dramatiq's probabilistic maintenance is off (``maintenance_chance=0``): recovery of dead
    workers' messages is done deterministically by :mod:`.maintenance`. ``broker_id`` is the
    worker process's identity, decided by the caller before anything else is built (it is in
    the name of the acks sets the settlement takes messages out of); Dramatiq's own random one
    is replaced.
    """

    def __init__(
        self,
        *,
        client: redis.Redis,
        keys: RedisKeys,
        broker_id: str,
        settlement: Settlement,
        clock: Clock,
        middleware: list[Any] | None = None,
        heartbeat_timeout_ms: int = 15_000,
        start_at_fetch: bool = False,
    ) -> None:
        super().__init__(  # type: ignore[no-untyped-call]
            client=client,
            namespace=keys.namespace,
            middleware=middleware,
            maintenance_chance=0,
            heartbeat_timeout=heartbeat_timeout_ms,
        )
        self.broker_id = broker_id
        self.hexbus_keys = keys
        self.hexbus_scripts = Scripts.register(client)
        self.hexbus_settlement = settlement
        self.hexbus_clock = clock
        self.start_at_fetch = start_at_fetch
        """Start each fetched batch's handlers in one round trip (ADR 0019): only when every
        message fetched has a thread waiting for it, i.e. one queue whose prefetch is the
        thread count (:class:`~.worker.WorkerRuntime` decides)."""
        self._in_flight: dict[str, InFlight] = collections.defaultdict(InFlight)
        self._reported: dict[str, float] = {}

    def in_flight(self, queue: str) -> InFlight:
        """What this process holds of ``queue``."""
        return self._in_flight[queue]

    def reconcile(self, queue: str, prefetched: Iterable[str] = ()) -> int:
        """Give back to ``queue``'s head whatever this broker's acks set of it holds that is
        neither handed to a thread nor in ``prefetched``; returns how many went back."""
        keys = self.hexbus_keys
        held = [*self.in_flight(queue).snapshot(), *prefetched]
        returned = int(
            self.hexbus_scripts.reconcile(
                keys=[
                    keys.acks(self.broker_id, queue),
                    keys.messages(queue),
                    keys.queue(queue),
                    keys.wake(queue),
                ],
                args=held,
            )
        )
        if returned:
            log.warning(
                "gave %d message(s) of %s back: in this worker's acks set but held by none "
                "of its threads (a fetch whose reply was lost)",
                returned,
                queue,
            )
        return returned

    def report_broken(self, queue: str, error: redis.ResponseError) -> None:
        """Log that ``queue`` cannot be consumed, at most once per :data:`REPORT_EVERY`."""
        now = time.monotonic()
        if now - self._reported.get(queue, -REPORT_EVERY) >= REPORT_EVERY:
            self._reported[queue] = now
            log.error(
                "queue %s cannot be consumed: %s; its other keys and every other queue go on; "
                "fix or delete the key (reported once per %gs)",
                queue,
                error,
                REPORT_EVERY,
            )

    @property
    def consumer_class(self) -> type[HexbusConsumer]:
        """Dramatiq asks this for the consumer to build per queue."""
        return HexbusConsumer


class HexbusConsumer(Consumer):
    """Consumes one queue: prefetches ids with bodies, never lets a bad item stall it."""

    def __init__(self, broker: HexbusRedisBroker, queue_name: str, prefetch: int, timeout: int):
        self.broker = broker
        self.queue_name = queue_name
        self.prefetch = prefetch
        self.timeout = timeout
        keys = broker.hexbus_keys
        self._fetch = broker.hexbus_scripts.fetch
        self._fetch_keys = [
            keys.queue(queue_name),
            keys.messages(queue_name),
            keys.acks(broker.broker_id, queue_name),
            keys.heartbeats,
            keys.paused,
            keys.acks_registry,
        ]
        self._wake = keys.wake(queue_name)
        self._settlement = broker.hexbus_settlement
        self._clock = broker.hexbus_clock
        self._actors = frozenset(broker.actors)
        # Fetched and read, not yet handed out (held already, and started with their batch
        # when the broker starts at fetch).
        self._cache: collections.deque[Message[Any]] = collections.deque()
        self._held = broker.in_flight(queue_name)
        self._reconciled = False
        # Set when a message is acked, nacked or requeued: a consumer whose prefetch is full
        # waits on it, so it fetches again the moment a thread frees up instead of sleeping.
        self._room = threading.Event()

    # --- Dramatiq's Consumer interface -----------------------------------------------------

    def __next__(self) -> MessageProxy | None:
        try:
            if not self._reconciled:
                # At start and after every reconnect (Dramatiq makes a new consumer then).
                self.broker.reconcile(self.queue_name)
                self._reconciled = True
            # A batch whose every item was refused (settled already) is no reason to wait:
            # fetch again at once, and wait only when the queue gave nothing.
            while not self._cache:
                if not self._fill():
                    self._wait_for_work()
                    return None
            return MessageProxy(self._cache.popleft())
        except TRANSIENT as error:
            raise ConnectionClosed(error) from None  # type: ignore[no-untyped-call]
        except redis.ResponseError as error:
            # A key of this queue holds the wrong type (the scripts check before writing, so
            # nothing was taken): this queue waits, reported; the others go on.
            self.broker.report_broken(self.queue_name, error)
            time.sleep(max(self.timeout / 1000, 0.1))
            return None

    def ack(self, message: MessageProxy) -> None:
        # The settlement already wrote this message's fate, acking it in the same script (or
        # put it back): all that is left is the prefetch slot it held.
        self._held.discard(message.options["redis_message_id"])
        self._room.set()

    def nack(self, message: MessageProxy) -> None:
        # Dramatiq nacks what it could not process (no such actor, a failed middleware). Its
        # dead-letter set has no API; ours does, so the message goes there instead.
        redis_id = message.options["redis_message_id"]
        try:
            self._settlement.quarantine(
                self.queue_name, redis_id, message.encode(), "nacked by the Dramatiq worker"
            )
        finally:
            self._held.discard(redis_id)
            self._room.set()

    def requeue(self, messages: Iterable[MessageProxy]) -> None:
        ids = [m.options["redis_message_id"] for m in messages]
        if ids:
            self.broker.do_requeue(self.queue_name, *ids)
        for redis_id in ids:
            self._held.discard(redis_id)
        self._room.set()

    def close(self) -> None:
        # Prefetched but never handed out: back to the head of the queue now, not after a
        # recovery. On failure they stay in our acks set, and the next consumer's reconcile
        # (or recovery, once our heartbeat stops) returns them.
        for message in self._cache:
            redis_id = message.options["redis_message_id"]
            self._held.discard(redis_id)
            self._settlement.forget(redis_id)
        self._cache.clear()
        with contextlib.suppress(redis.RedisError):
            self.broker.reconcile(self.queue_name)

    # --- internals -------------------------------------------------------------------------

    def _fill(self) -> bool:
        """Fetch what there is room for, read each item (settling those refused), and, when
        every message fetched goes to a waiting thread, start them all in one round trip
        (ADR 0019). True when the queue gave anything (all of it may have been refused)."""
        room = self.prefetch - len(self._held)
        if room <= 0:
            return False
        now_ms = int(self._clock.now().timestamp() * 1000)
        flat = self._fetch(
            keys=self._fetch_keys, args=[room, self.broker.broker_id, now_ms, self.queue_name]
        )
        refused: list[Refusal] = []
        for i in range(0, len(flat), 2):
            message = self._admit(flat[i], flat[i + 1], refused)
            if message is not None:
                self._cache.append(message)
        if self._cache and self.broker.start_at_fetch:
            self._settlement.start_all(
                self.queue_name,
                [
                    Fetched(
                        redis_id=m.options["redis_message_id"],
                        attempt=m.options.get(ATTEMPT, 1),
                        handler=m.args[0],
                        envelope=m.args[1],
                    )
                    for m in self._cache
                ],
            )
        # Everything refused in this fetch goes to the dead letters in one round trip.
        self._settlement.quarantine_all(self.queue_name, refused)
        return bool(flat)

    def _wait_for_work(self) -> None:
        # Block on the queue's doorbell rather than polling with growing sleeps: a message
        # published to an idle queue is picked up in about a round trip, not up to a second.
        # When our prefetch is full there is nothing to wait for but our own threads.
        if len(self._held) >= self.prefetch:
            self._room.clear()
            if len(self._held) >= self.prefetch:
                self._room.wait(timeout=0.05)
            return
        seconds = max(self.timeout / 1000, 0.1)
        self.broker.client.blpop([self._wake], timeout=seconds)

    def _admit(
        self, raw_id: bytes | str, body: bytes | None, refused: list[Refusal]
    ) -> Message[Any] | None:
        """The message to hand out, held from now on; or None: the item was settled here, or
        added to ``refused`` to be dead-lettered with the rest of its fetch."""
        redis_id = intake.read_id(raw_id)
        if isinstance(redis_id, intake.Refused):
            refused.append((raw_id, body, redis_id.reason))
            return None
        if body is None:  # acked or recovered elsewhere meanwhile: nothing to run
            self._settlement.drop(self.queue_name, redis_id)
            return None
        read = intake.read(body, queue=self.queue_name, redis_id=redis_id, actors=self._actors)
        if isinstance(read, intake.Refused):
            refused.append((redis_id, body, read.reason))
            return None
        self._held.add(redis_id)
        return read

"""Dramatiq's Redis broker with hexbus's consumer: the fetch end of the worker path.

Dramatiq's consumer fetches message bodies without their ids, so a body it cannot decode
cannot be acked or moved: it stays in the acks set with the rest of its batch until the process
dies, and comes back to do it again (see docs/research). hexbus's consumer fetches ids with
bodies (``fetch.lua``) and hands anything it cannot deliver (undecodable, wrong queue, unknown
actor, or nacked) to the :class:`~.settlement.Settlement`, which dead-letters it, so a worker
never chokes.

Everything it hands out is settled by the settlement before Dramatiq calls :meth:`ack` (the
actor reports every outcome there, ADR 0012), so ``ack`` only frees the prefetch slot: no
round trip, and nothing to read off the message. What the consumer does write is its own
side of a fetch: it gives back what it prefetched but never handed out (on close and at
shutdown), and drops ids whose bodies vanished meanwhile.
"""

from __future__ import annotations

import collections
import contextlib
import threading
from collections.abc import Iterable
from typing import Any

import redis
from dramatiq.broker import Consumer, MessageProxy
from dramatiq.brokers.redis import RedisBroker
from dramatiq.errors import ConnectionClosed, DecodeError
from dramatiq.message import Message

from ...ports.clock import Clock
from .keys import RedisKeys
from .scripts import Scripts
from .settlement import Settlement


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

    @property
    def consumer_class(self) -> type[HexbusConsumer]:
        """Dramatiq asks this for the consumer to build per queue."""
        return HexbusConsumer


class HexbusConsumer(Consumer):
    """Consumes one queue: prefetches ids with bodies, never lets a bad body stall it."""

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
        ]
        self._wake = keys.wake(queue_name)
        self._settlement = broker.hexbus_settlement
        self._clock = broker.hexbus_clock
        self._cache: collections.deque[tuple[str, bytes | None]] = collections.deque()
        self._outstanding: set[str] = set()
        self._misses = 0
        # Set when a message is acked, nacked or requeued: a consumer whose prefetch is full
        # waits on it, so it fetches again the moment a thread frees up instead of sleeping.
        self._room = threading.Event()

    # --- Dramatiq's Consumer interface -----------------------------------------------------

    def __next__(self) -> MessageProxy | None:
        try:
            while True:
                if not self._cache and not self._fill():
                    self._wait_for_work()
                    return None
                redis_id, body = self._cache.popleft()
                self._misses = 0
                message = self._decode(redis_id, body)
                if message is not None:
                    self._outstanding.add(redis_id)
                    return MessageProxy(message)
        except redis.ConnectionError as error:
            raise ConnectionClosed(error) from None  # type: ignore[no-untyped-call]

    def ack(self, message: MessageProxy) -> None:
        # The settlement already wrote this message's fate, acking it in the same script (or
        # put it back): all that is left is the prefetch slot it held.
        self._outstanding.discard(message.options["redis_message_id"])
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
            self._outstanding.discard(redis_id)
            self._room.set()

    def requeue(self, messages: Iterable[MessageProxy]) -> None:
        ids = [m.options["redis_message_id"] for m in messages]
        self._requeue(ids)

    def close(self) -> None:
        # Prefetched but never handed out: back to the queue now, not after a recovery.
        ids = [redis_id for redis_id, _ in self._cache]
        self._cache.clear()
        # On failure they stay in our acks set; recovery returns them once our heartbeat stops.
        with contextlib.suppress(redis.RedisError):
            self._requeue(ids)

    # --- internals -------------------------------------------------------------------------

    def _fill(self) -> bool:
        room = self.prefetch - len(self._outstanding)
        if room <= 0:
            return False
        now_ms = int(self._clock.now().timestamp() * 1000)
        flat = self._fetch(
            keys=self._fetch_keys, args=[room, self.broker.broker_id, now_ms, self.queue_name]
        )
        for i in range(0, len(flat), 2):
            redis_id = flat[i].decode() if isinstance(flat[i], bytes) else str(flat[i])
            self._cache.append((redis_id, flat[i + 1] or None))
        return bool(flat)

    def _wait_for_work(self) -> None:
        # Block on the queue's doorbell rather than polling with growing sleeps: a message
        # published to an idle queue is picked up in about a round trip, not up to a second.
        # When our prefetch is full there is nothing to wait for but our own threads.
        if len(self._outstanding) >= self.prefetch:
            self._room.clear()
            if len(self._outstanding) >= self.prefetch:
                self._room.wait(timeout=0.05)
            return
        seconds = max(self.timeout / 1000, 0.1)
        self.broker.client.blpop([self._wake], timeout=seconds)

    def _decode(self, redis_id: str, body: bytes | None) -> Message[Any] | None:
        if body is None:  # acked or recovered elsewhere meanwhile: nothing to run
            self.broker.do_ack(self.queue_name, redis_id)
            return None
        try:
            message = Message.decode(body)
        except DecodeError as error:
            self._settlement.quarantine(
                self.queue_name, redis_id, body, f"undecodable: {error.error}"
            )
            return None
        if message.queue_name != self.queue_name:
            reason = f"queue_name {message.queue_name!r} does not match queue {self.queue_name!r}"
            self._settlement.quarantine(self.queue_name, redis_id, body, reason)
            return None
        if message.actor_name not in self.broker.actors:
            reason = f"no actor named {message.actor_name!r} in this worker"
            self._settlement.quarantine(self.queue_name, redis_id, body, reason)
            return None
        if message.options.get("redis_message_id") != redis_id:
            message.options["redis_message_id"] = redis_id  # ack must address what we fetched
        return message

    def _requeue(self, ids: list[str]) -> None:
        if ids:
            self.broker.do_requeue(self.queue_name, *ids)
        for redis_id in ids:
            self._outstanding.discard(redis_id)
        self._room.set()

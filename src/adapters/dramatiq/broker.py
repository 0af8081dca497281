"""Dramatiq's Redis broker, as a hexbus worker process holds it: its keys, what it holds.

A worker process speaks Dramatiq's Redis broker's layout (queues, message hashes, acks sets
per broker id, heartbeats), so recovery and every tool that reads it see one broker; it runs
its own threads and fetch instead of Dramatiq's Worker and consumer (:mod:`.worker_pool`,
:mod:`.fetcher`, ADR 0019). What the process holds is known here, per queue
(:class:`InFlight`): reconciling an acks set with it (``reconcile.lua``) gives back ids a fetch
moved whose reply was lost (ADR 0017). A queue whose keys hold the wrong type is reported and
skipped, never the others.
"""

from __future__ import annotations

import collections
import logging
import threading
import time

import redis
from dramatiq.brokers.redis import RedisBroker

from .keys import RedisKeys
from .scripts import Scripts

log = logging.getLogger("hexbus.worker")

REPORT_EVERY: float = 60.0
"""Seconds between two reports of the same broken queue (a wrong-typed key)."""


class InFlight:
    """The ids of one queue this process has fetched and not yet settled: what reconciling
    its acks set must not give back (their threads run them, or are about to)."""

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
    """A RedisBroker that knows what its process holds, and reconciles its acks sets with it.

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
        heartbeat_timeout_ms: int = 15_000,
    ) -> None:
        super().__init__(  # type: ignore[no-untyped-call]
            client=client,
            namespace=keys.namespace,
            middleware=[],  # nothing runs Dramatiq middleware in a hexbus worker (ADR 0019)
            maintenance_chance=0,
            heartbeat_timeout=heartbeat_timeout_ms,
        )
        self.broker_id = broker_id
        self.hexbus_keys = keys
        self.hexbus_scripts = Scripts.register(client)
        self._in_flight: dict[str, InFlight] = collections.defaultdict(InFlight)
        self._reported: dict[str, float] = {}

    def in_flight(self, queue: str) -> InFlight:
        """What this process holds of ``queue``."""
        return self._in_flight[queue]

    def reconcile(self, queue: str) -> int:
        """Give back to ``queue``'s head whatever this broker's acks set of it holds that this
        process does not hold; returns how many went back."""
        keys = self.hexbus_keys
        held = self.in_flight(queue).snapshot()
        returned = int(
            self.hexbus_scripts.reconcile(
                keys=[
                    keys.acks(self.broker_id, queue),
                    keys.messages(queue),
                    keys.queue(queue),
                    keys.wake(queue),
                    keys.runs(queue),
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

"""The fetch end of one queue: take ids with bodies, read each, settle what cannot run.

Dramatiq's consumer fetches message bodies without their ids, so a body it cannot decode
cannot be acked or moved: it stays in the acks set with the rest of its batch until the process
dies, and comes back to do it again (see docs/research). hexbus fetches ids with bodies
(``fetch.lua``), reads each with :mod:`.intake`, and hands anything it cannot deliver (with
the reason: an empty or unreadable body, a bad id, options or arguments, another queue) to
the :class:`~.settlement.Settlement`, which dead-letters it, so a worker never chokes and the
items fetched with a bad one go on (ADR 0018).

``fetch.lua`` also starts each message it can read (``start.lua``'s step, in the same call), so
that a message reaches its thread with its start answer and no round trip of its own (ADR
0019). This module's reading stays the one that decides: a message it refuses is
dead-lettered as before, with the status the script set marked dead, and one whose handler or
event id it reads otherwise than the script did is refused too.

What a fetch took is held (:class:`~.broker.InFlight`) from the moment it is read until its
thread settles it. The first fetch, and the first after Redis was unreachable, reconciles
the acks set with what is held (``reconcile.lua``), so ids a fetch moved whose reply was lost
go back to the queue (ADR 0017).
"""

from __future__ import annotations

from typing import Any, Final

import redis

from .broker import HexbusRedisBroker
from .deliveries import Fetched, StartedFor
from .intake import Refused, read, read_id
from .settlement import Refusal, Settlement

MISREAD: Final = "Redis and the worker read its handler or event id differently"
"""Why a message ``fetch.lua`` started for another handler or event than the worker reads in
it is refused (a body only a hand or a bug could write)."""


class QueueFetcher:
    """Fetches one queue for one worker process (a :class:`~.worker_pool.WorkerPool`'s)."""

    def __init__(self, broker: HexbusRedisBroker, settlement: Settlement, queue: str) -> None:
        self.queue = queue
        self.wake_key = broker.hexbus_keys.wake(queue)
        self.held = broker.in_flight(queue)
        self._broker = broker
        self._settlement = settlement
        self._script = broker.hexbus_scripts.fetch
        keys = broker.hexbus_keys
        self._keys = [
            keys.queue(queue),
            keys.messages(queue),
            keys.acks(broker.broker_id, queue),
            keys.heartbeats,
            keys.paused,
            keys.acks_registry,
            keys.runs(queue),
        ]
        self._start_args = settlement.fetch_start_args
        self._reconciled = False

    def lost_connection(self) -> None:
        """Redis was unreachable: a fetch's reply may have been lost, so reconcile first."""
        self._reconciled = False

    def fetch(self, room: int, now_ms: int) -> tuple[list[Fetched], int]:
        """Up to ``room`` messages to run, held from now on, and how many items the queue gave
        (those that cannot run included). Items that cannot run are settled here
        (dead-lettered in one round trip, or dropped when their body is gone). Raises what
        Redis raised: unreachable (``TRANSIENT``), or a key of the queue of the wrong type
        (``ResponseError``, and nothing was taken)."""
        self.prepare()
        return self.read(self.call(room, now_ms))

    def prepare(self) -> None:
        """Reconcile first if a fetch's reply may have been lost (at start, and after Redis
        was unreachable): a round trip of its own, before the fetch it precedes."""
        if not self._reconciled:
            self._broker.reconcile(self.queue)
            self._reconciled = True

    def call(self, room: int, now_ms: int, client: redis.client.Pipeline | None = None) -> Any:
        """``fetch.lua`` for up to ``room`` ids: its reply, or, given a pipeline, queued on it
        (the reply then goes to :meth:`read`).

        On a pipeline it is queued by its SHA alone: a pipeline holding a registered script
        first asks Redis whether the script exists, a round trip of its own in every idle
        wait. The fetch without a pipeline always runs first and loads it; should Redis have
        lost it since (a restart), the pipelined reply is ``NoScriptError`` with nothing
        taken, and the next fetch loads it again."""
        args: list[str | int] = [
            room,
            self._broker.broker_id,
            now_ms,
            self.queue,
            *self._start_args,
        ]
        if client is None:
            return self._script(keys=self._keys, args=args)
        return client.evalsha(self._script.sha, len(self._keys), *self._keys, *args)

    def read(self, flat: list[Any]) -> tuple[list[Fetched], int]:
        """What one ``fetch.lua`` reply comes to (see :meth:`fetch`)."""
        taken: list[Fetched] = []
        refused: list[Refusal] = []
        answers: list[tuple[Fetched, Any]] = []
        for i in range(0, len(flat), 3):
            answer, started = _start_of(flat[i + 2])
            item = self._admit(flat[i], flat[i + 1], started, refused)
            if item is not None:
                taken.append(item)
                if started is not None:
                    answers.append((item, answer))
        # Everything refused in this fetch goes to the dead letters in one round trip.
        try:
            self._settlement.quarantine_all(self.queue, refused)
        except BaseException:
            # Nothing of this fetch runs: the next fetch reconciles, which gives back to the
            # queue whatever it took that is not settled (the refused ones too, to try again).
            for item in taken:
                self.held.discard(item.redis_id)
            self._reconciled = False
            raise
        for item, answer in answers:
            self._settlement.started_at_fetch(item, answer)
        return taken, len(flat) // 3

    def _admit(
        self,
        raw_id: bytes | str,
        body: bytes | None,
        started: StartedFor | None,
        refused: list[Refusal],
    ) -> Fetched | None:
        """The delivery to run, held from now on; or None: the item was settled here, or
        added to ``refused`` to be dead-lettered with the rest of its fetch."""
        redis_id = read_id(raw_id)
        if isinstance(redis_id, Refused):
            refused.append((raw_id, body, redis_id.reason, started))
            return None
        if body is None:  # acked or recovered elsewhere meanwhile: nothing to run
            self._settlement.drop(self.queue, redis_id)
            return None
        item = read(body, queue=self.queue, redis_id=redis_id)
        if isinstance(item, Refused):
            refused.append((redis_id, body, item.reason, started))
            return None
        # The script took only a canonical event id, which is how the envelope spells it.
        if started is not None and started != (item.envelope.get("event_id"), item.handler):
            refused.append((redis_id, body, MISREAD, started))
            return None
        self.held.add(redis_id)
        return item


def _start_of(started: Any) -> tuple[Any, StartedFor | None]:
    """``fetch.lua``'s ``{answer, event id, handler}`` for a message it started, as the answer
    and what it started the message for; (None, None) for ``false``, one it did not start."""
    if not started:
        return None, None
    answer, event_id, handler = started
    return answer, (_text(event_id), _text(handler))


def _text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value

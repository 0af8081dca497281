"""The event page's look-up of the copy of an event's envelope the bus still holds on Redis, a
bounded read of what the scripts already write (ADR 0024; the events it caused are read from
their own index, :mod:`.caused_index`).

**The envelope** is found without scanning, from what the event's own keys record:

* a delayed event's schedule entry is keyed by its event id (``HGET {ns}:schedule:items``);
* an immediate event's messages have the ids ``{token}.{i}``, ``token`` and the handlers (in
  order) being the value of ``{ns}:published:{event_id}`` (``publish.lua``); a delayed one's,
  once due, ``{event_id}.{i}`` in the order of its status's ``_handlers`` (``move_due.lua``);
  each is looked up in the queue its handler's route names now;
* a retry (or a rate-limit wait) is a schedule entry scored by the due time the status keeps
  (``{handler}|n``): ``ZRANGEBYSCORE`` of that one millisecond;
* a running retry is in the live workers' acks sets of its queue (threads x prefetch);
* a retry that came due and waits in its queue again has an id made at random by the
  settlement and recorded nowhere: the newest :data:`RETRY_WINDOW` entries of its queue are
  read for it (``LRANGE`` and ``HMGET`` in chunks), and one further back is not found.

Every handler carries the same event, so any copy will do. An event whose messages are all
acked (succeeded, cancelled) has none.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final
from uuid import UUID

import redis

from ...ports.browsing import HeldEvent
from .keys import RedisKeys
from .routes import RedisRoutes

CHUNK: Final = 200
RETRY_WINDOW: Final = 1000
"""Newest entries of a queue read for a retry that came due and waits there again."""


class EventCopies:
    """Finds an event's held envelope (one namespace)."""

    def __init__(
        self,
        client: redis.Redis,
        keys: RedisKeys,
        routes: RedisRoutes,
        live: Callable[[], list[str]],
    ) -> None:
        self._client = client
        self._keys = keys
        self._routes = routes
        self._live = live

    # --- the envelope ------------------------------------------------------------------------

    def held_event(self, event_id: UUID) -> HeldEvent | None:
        """Four round trips for a waiting, delayed or retrying event; more only for a running
        retry or one due again (see the module's docstring)."""
        eid = str(event_id)
        pipe = self._client.pipeline(transaction=False)
        pipe.hget(self._keys.schedule_items, eid)
        pipe.get(self._keys.published(eid))
        pipe.hgetall(self._keys.status(eid))
        item, published, raw_status = pipe.execute()
        if item is not None and (envelope := _entry_envelope(item, eid)) is not None:
            return HeldEvent(envelope=envelope, found_in="schedule")
        status = {k.decode(): v.decode() for k, v in (raw_status or {}).items()}
        queues = {route.handler: route.queue for route in self._routes.read().routes}
        wanted: list[tuple[str, str]] = []  # (queue, message id)
        if published is not None:
            token, _, rest = published.decode().partition("|")
            names = [n for n in rest.rsplit("|", 1)[-1].split(",") if n]
            wanted += [(queues[n], f"{token}.{i}") for i, n in enumerate(names) if n in queues]
        if "_due" in status:
            names = [n for n in status.get("_handlers", "").split(",") if n]
            wanted += [(queues[n], f"{eid}.{i}") for i, n in enumerate(names, 1) if n in queues]
        dues = sorted({v for k, v in status.items() if k.endswith("|n") and v.isdigit()})
        pipe = self._client.pipeline(transaction=False)
        for queue, message_id in wanted:
            pipe.hget(self._keys.messages(queue), message_id)
        for due in dues:
            pipe.zrangebyscore(self._keys.schedule, due, due)
        replies = pipe.execute()
        for (queue, _), body in zip(wanted, replies, strict=False):
            if body is not None and (envelope := _message_envelope(body, eid)) is not None:
                return HeldEvent(envelope=envelope, found_in=f"queue {queue}")
        entries = [m for members in replies[len(wanted) :] for m in members]
        if entries:
            for item in self._client.hmget(self._keys.schedule_items, entries):
                if item is not None and (envelope := _entry_envelope(item, eid)) is not None:
                    return HeldEvent(envelope=envelope, found_in="schedule")
        return self._moved_copy(status, queues, eid)

    def _moved_copy(
        self, status: dict[str, str], queues: dict[str, str], eid: str
    ) -> HeldEvent | None:
        """A retry's message, whose id no key records: running, or due and waiting again."""
        running = _queues_in(status, queues, lambda state, attempts: state == "running")
        found = self._running_copy(sorted(running), eid)
        if found is not None:
            return found
        # Due again, it waits in its queue under an id made at random: the newest
        # RETRY_WINDOW entries of its queue are read for it, nothing more.
        due_again = _queues_in(
            status, queues, lambda state, attempts: state == "queued" and attempts
        )
        for queue in sorted(due_again):
            found = self._waiting_copy(queue, eid)
            if found is not None:
                return found
        return None

    def _waiting_copy(self, queue: str, eid: str) -> HeldEvent | None:
        mark = f'"message_id":"{eid}/'.encode()
        for ids in self._list_chunks(self._keys.queue(queue), RETRY_WINDOW):
            for body in self._client.hmget(self._keys.messages(queue), ids):
                if isinstance(body, bytes) and mark in body:
                    envelope = _message_envelope(body, eid)
                    if envelope is not None:
                        return HeldEvent(envelope=envelope, found_in=f"queue {queue}")
        return None

    def _running_copy(self, queues: Sequence[str], eid: str) -> HeldEvent | None:
        if not queues:
            return None
        live = self._live()
        pipe = self._client.pipeline(transaction=False)
        for queue in queues:
            for broker in live:
                pipe.smembers(self._keys.acks(broker, queue))
        replies = iter(pipe.execute())
        for queue in queues:
            ids = sorted({m for _ in live for m in next(replies)})
            if not ids:
                continue
            for body in self._client.hmget(self._keys.messages(queue), ids):
                if body is not None and (envelope := _message_envelope(body, eid)) is not None:
                    return HeldEvent(envelope=envelope, found_in=f"queue {queue}")
        return None

    def _list_chunks(self, key: str, most: int) -> Iterator[list[bytes]]:
        position = 0
        while position < most:
            ids: list[bytes] = self._client.lrange(  # type: ignore[assignment]
                key, -(position + CHUNK), -(position + 1)
            )
            if not ids:
                return
            ids.reverse()
            yield ids
            if len(ids) < CHUNK:
                return
            position += CHUNK


def _queues_in(
    status: dict[str, str], queues: dict[str, str], keep: Callable[[str, int], object]
) -> set[str]:
    """The queues of the handlers whose state and attempts (``{h}|s``, ``{h}|a``) ``keep``."""
    out = set()
    for key, state in status.items():
        handler = key[: -len("|s")]
        if key.endswith("|s") and handler in queues:
            attempts = status.get(f"{handler}|a", "0")
            if keep(state, int(attempts) if attempts.isdigit() else 0):
                out.add(queues[handler])
    return out


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _is_event(envelope: Any, eid: str) -> bool:
    return isinstance(envelope, dict) and str(envelope.get("event_id")) == eid


def _message_envelope(body: Any, eid: str) -> str | None:
    """The envelope a Dramatiq message carries (``messages.MESSAGE_TEMPLATE``), if it is
    ``eid``'s."""
    try:
        envelope = json.loads(body)["args"][1]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return _compact(envelope) if _is_event(envelope, eid) else None


def _entry_envelope(item: Any, eid: str) -> str | None:
    """The envelope of a schedule entry (``messages.schedule_entry``), if it is ``eid``'s."""
    _, _, text = item.partition(b"\n")
    try:
        envelope = json.loads(text)
    except ValueError:
        return None
    return text.decode() if _is_event(envelope, eid) else None

"""The events one event caused, read from the index the publish scripts keep (ADR 0024).

``{ns}:caused:{causation_id}`` is a ZSET of ``event id|event type`` scored by published ms,
written in the same script call as the publish of every event that names a cause
(``publish.lua``, ``publish_later.lua``, ``publish_unrouted.lua``; ``PublishPlan``), expiring
a status retention after its newest write and trimmed to the newest
:data:`~.publish_plan.CAUSED_KEEP`. So a caused event is found in any state, succeeded
included, while its cause's index is kept: one ``ZREVRANGE`` (newest first, the limit and one
more, to tell whether it was read to its end) and one pipeline of each caused event's status
record, schedule entry, published key and success ledger (``{ns}:done:{id}``), which say its
state without its envelope.
"""

from __future__ import annotations

import json
from typing import Any, Final
from uuid import UUID

import redis

from ...ports.browsing import BrowseState, CausedEvents, EventSummary
from ...ports.monitoring import EventStatus, HandlerState, HandlerStatus
from .browse_rows import to_time
from .keys import RedisKeys
from .routes import RedisRoutes

BROWSE_STATE: Final = {
    HandlerState.SCHEDULED: BrowseState.SCHEDULED,
    HandlerState.QUEUED: BrowseState.WAITING,
    HandlerState.RUNNING: BrowseState.RUNNING,
    HandlerState.SUCCEEDED: BrowseState.SUCCEEDED,
    HandlerState.FAILED: BrowseState.RETRYING,
    HandlerState.DEAD: BrowseState.DEAD,
}
"""A handler's state as the listings name it; a cancelled handler has no listing and its row
is left out (an event cancelled for every handler is not listed)."""


class CausedIndex:
    """Reads ``{ns}:caused:{id}`` and the states of the events it names (one namespace)."""

    def __init__(self, client: redis.Redis, keys: RedisKeys, routes: RedisRoutes) -> None:
        self._client = client
        self._keys = keys
        self._routes = routes

    def caused_by(self, event_id: UUID, *, limit: int = 20) -> CausedEvents:
        """Three round trips: the index, the route table, one pipeline of records."""
        if limit < 1:
            raise ValueError("limit must be >= 1")
        entries: list[tuple[bytes, float]] = self._client.zrevrange(  # type: ignore[assignment]
            self._keys.caused(event_id), 0, limit, withscores=True
        )
        complete = len(entries) <= limit
        entries = entries[:limit]
        if not entries:
            return CausedEvents(items=(), scanned=0, complete=True)
        pipe = self._client.pipeline(transaction=False)
        for member, _ in entries:
            eid = member.decode().partition("|")[0]
            pipe.hgetall(self._keys.status(eid))
            pipe.hget(self._keys.schedule_items, eid)
            pipe.get(self._keys.published(eid))
            pipe.hkeys(self._keys.done(eid))
        replies = iter(pipe.execute())
        queues = {route.handler: route.queue for route in self._routes.read().routes}
        rows: list[EventSummary] = []
        for member, score in entries:
            status, entry, published = next(replies), next(replies), next(replies)
            done = {name.decode() for name in next(replies)}
            eid, _, event_type = member.decode().partition("|")
            try:
                event = UUID(eid)
            except ValueError:
                continue
            handlers = _handlers(status, entry, published, done)
            for queue, states in _by_queue(handlers, queues).items():
                rows.append(
                    EventSummary(
                        event_id=event,
                        event_type=event_type or None,
                        queue=queue,
                        state=BROWSE_STATE[_least_advanced(event, states)],
                        handlers=tuple(h for h, _, _ in states),
                        at=to_time(score),
                        attempts=max(a for _, _, a in states),
                        causation_id=str(event_id),
                    )
                )
        return CausedEvents(items=tuple(rows), scanned=len(entries), complete=complete)


Handler = tuple[str, HandlerState, int]
"""A handler's name, state and attempts."""


def _handlers(
    status: dict[bytes, bytes], entry: Any, published: Any, done: set[str]
) -> list[Handler]:
    """The event's handlers and where each is: its status record, else its schedule entry
    (delayed, not yet due), else its published key with its success ledger (waiting, or
    succeeded once the status record of a succeeded event was trimmed); none when every
    record of it has expired."""
    if status:
        fields = {k.decode(): v.decode() for k, v in status.items()}
        names = [n for n in fields.get("_handlers", "").split(",") if n]
        out = []
        for name in names:
            try:
                state = HandlerState(fields.get(f"{name}|s", "queued"))
            except ValueError:
                continue
            attempts = fields.get(f"{name}|a", "0")
            out.append((name, state, int(attempts) if attempts.isdigit() else 0))
        return out
    if entry is not None:
        try:
            header = json.loads(entry.split(b"\n", 1)[0])
            return [(str(h), HandlerState.SCHEDULED, 0) for _, h, _ in header["h"]]
        except (ValueError, KeyError, TypeError):
            return []
    if published is not None:
        parts = published.decode().partition("|")[2].rsplit("|", 2)
        if len(parts) == 3:
            return [
                (n, HandlerState.SUCCEEDED if n in done else HandlerState.QUEUED, 0)
                for n in parts[2].split(",")
                if n
            ]
    return []


def _by_queue(handlers: list[Handler], queues: dict[str, str]) -> dict[str, list[Handler]]:
    """The handlers by their route's queue (``?`` once the route is gone), cancelled ones out."""
    out: dict[str, list[Handler]] = {}
    for handler in handlers:
        if handler[1] is not HandlerState.CANCELLED:
            out.setdefault(queues.get(handler[0], "?"), []).append(handler)
    return out


def _least_advanced(event_id: UUID, states: list[Handler]) -> HandlerState:
    """What the event is waiting on in one queue, by the rule of :class:`EventStatus`."""
    return EventStatus(
        event_id=event_id,
        event_type=None,
        published_at=None,
        due_at=None,
        handlers=tuple(HandlerStatus(handler=h, queue="", state=s) for h, s, _ in states),
    ).state

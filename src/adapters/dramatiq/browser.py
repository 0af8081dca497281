"""Listing a queue's events by state on Redis, from the indexes the scripts already keep.

No index is added for browsing and nothing on the publish or settle path writes more (ADR
0024). Each state reads what already orders it:

=========== ====================================== ==========================================
state       index (newest first)                   each entry then costs
=========== ====================================== ==========================================
waiting     ``{ns}:{queue}`` LIST, from its tail   HMGET of ``{ns}:{queue}.msgs``
scheduled   ``{ns}:schedule`` ZSET, latest due     HMGET of ``{ns}:schedule:items``
retrying    the same (entries of one handler)      the same
running     the live workers' acks sets           HMGET of the queue's messages
succeeded   ``{ns}:recent`` ZSET                   HMGET of its status hash
dead        ``{ns}:dead`` ZSET                     HMGET of ``{ns}:dead:items``
=========== ====================================== ==========================================

The schedule, ``recent`` and dead indexes hold every queue's entries, so a page of one queue
walks them in chunks and keeps the queue's: a call reads at most :data:`WINDOW` entries
(plus one chunk) and returns a cursor where it stopped, whatever the filter. A quiet queue
among busy ones may so need several calls for a page; none costs more than the window.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from uuid import UUID

import redis

from ...ports.browsing import (
    BrowseState,
    CausedEvents,
    EventFilter,
    EventPage,
    EventSummary,
    HeldEvent,
    WorkerInfo,
)
from ..clocks import SystemClock
from .browse_rows import envelope_header, message_row, to_time
from .caused_index import CausedIndex
from .codec import load_dead_letter
from .connection import translated
from .event_copies import EventCopies
from .keys import RedisKeys
from .millis import epoch_ms
from .routes import RedisRoutes

WINDOW: Final = 1000
"""Index entries one call reads at most (plus one chunk)."""
CHUNK: Final = 200

Entry = tuple[bytes, float]
Decode = Callable[[bytes, Any, float], EventSummary | None]


class RedisEventBrowser:
    """The :class:`EventBrowser` port on Redis."""

    def __init__(
        self,
        client: redis.Redis,
        keys: RedisKeys,
        routes: RedisRoutes,
        *,
        heartbeat_timeout: timedelta = timedelta(seconds=10),
        clock: SystemClock | None = None,
    ) -> None:
        self._client = client
        self._keys = keys
        self._routes = routes
        self._heartbeat_timeout = heartbeat_timeout
        self._clock = clock or SystemClock()
        self._copies = EventCopies(client, keys, routes, self._live)
        self._caused = CausedIndex(client, keys, routes)

    @translated
    def held_event(self, event_id: UUID) -> HeldEvent | None:
        """The event's envelope from its messages or schedule entry (:mod:`.event_copies`)."""
        return self._copies.held_event(event_id)

    @translated
    def caused_by(self, event_id: UUID, *, limit: int = 20) -> CausedEvents:
        """The events it caused, from the index the publish scripts keep (:mod:`.caused_index`)."""
        return self._caused.caused_by(event_id, limit=limit)

    @translated
    def browse(
        self,
        queue: str,
        state: BrowseState,
        *,
        cursor: int = 0,
        limit: int = 50,
        where: EventFilter | None = None,
    ) -> EventPage:
        """A page of ``queue``'s events in ``state`` (see the module's table for the cost)."""
        if cursor < 0 or limit < 1:
            raise ValueError("cursor must be >= 0 and limit >= 1")
        keep = where or EventFilter()
        if state is BrowseState.WAITING:
            return self._waiting(queue, cursor, limit, keep)
        if state is BrowseState.RUNNING:
            return self._running(queue, limit, keep)
        if state in (BrowseState.SCHEDULED, BrowseState.RETRYING):
            return self._walk(
                self._keys.schedule,
                items_key=self._keys.schedule_items,
                decode=lambda member, item, score: _schedule_row(queue, state, member, item, score),
                cursor=cursor,
                limit=limit,
                keep=keep,
            )
        if state is BrowseState.DEAD:
            return self._walk(
                self._keys.dead,
                items_key=self._keys.dead_items,
                decode=lambda member, item, score: _dead_row(queue, item),
                cursor=cursor,
                limit=limit,
                keep=keep,
            )
        queues = {route.handler: route.queue for route in self._routes.read().routes}
        return self._walk_statuses(queue, queues, cursor, limit, keep)

    # --- one state each -----------------------------------------------------------------------

    def _waiting(self, queue: str, cursor: int, limit: int, keep: EventFilter) -> EventPage:
        items: list[EventSummary] = []
        position = cursor
        scanned = 0
        length = int(self._client.llen(self._keys.queue(queue)))
        while len(items) < limit and position < length and scanned < WINDOW:
            # From the tail: the newest message is the last pushed.
            ids: list[bytes] = self._client.lrange(  # type: ignore[assignment]
                self._keys.queue(queue), -(position + CHUNK), -(position + 1)
            )
            if not ids:
                break
            ids.reverse()
            bodies = self._client.hmget(self._keys.messages(queue), ids)
            for body in bodies:
                position += 1
                scanned += 1
                row = message_row(queue, BrowseState.WAITING, body)
                if row is not None and keep.keeps(row):
                    items.append(row)
                    if len(items) == limit:
                        break
        return EventPage(
            items=tuple(items), next_cursor=position if position < length else None, scanned=scanned
        )

    def _running(self, queue: str, limit: int, keep: EventFilter) -> EventPage:
        # Bounded by the live workers' threads and prefetch: read in full, one page.
        pipe = self._client.pipeline(transaction=False)
        live = self._live()
        for broker in live:
            pipe.smembers(self._keys.acks(broker, queue))
        ids = sorted({member for members in pipe.execute() for member in members})
        bodies: Sequence[Any] = self._client.hmget(self._keys.messages(queue), ids) if ids else []
        rows = [message_row(queue, BrowseState.RUNNING, body) for body in bodies]
        kept = [row for row in rows if row is not None and keep.keeps(row)]
        kept.sort(key=lambda row: row.at or _EPOCH, reverse=True)
        return EventPage(items=tuple(kept[:limit]), next_cursor=None, scanned=len(ids))

    def _walk(
        self,
        index: str,
        /,
        *,
        items_key: str,
        decode: Decode,
        cursor: int,
        limit: int,
        keep: EventFilter,
    ) -> EventPage:
        rows: list[EventSummary] = []
        position = cursor
        scanned = 0
        while len(rows) < limit and scanned < WINDOW:
            entries: list[Entry] = self._client.zrevrange(  # type: ignore[assignment]
                index, position, position + CHUNK - 1, withscores=True
            )
            if not entries:
                return EventPage(items=tuple(rows), next_cursor=None, scanned=scanned)
            values: Sequence[Any] = self._client.hmget(items_key, [m for m, _ in entries])
            for (member, score), value in zip(entries, values, strict=True):
                position += 1
                scanned += 1
                row = decode(member, value, score) if value is not None else None
                if row is not None and keep.keeps(row):
                    rows.append(row)
                    if len(rows) == limit:
                        break
            if len(entries) < CHUNK and len(rows) < limit:
                return EventPage(items=tuple(rows), next_cursor=None, scanned=scanned)
        more = bool(self._client.zrevrange(index, position, position))
        return EventPage(items=tuple(rows), next_cursor=position if more else None, scanned=scanned)

    def _walk_statuses(
        self, queue: str, queues: dict[str, str], cursor: int, limit: int, keep: EventFilter
    ) -> EventPage:
        rows: list[EventSummary] = []
        position = cursor
        scanned = 0
        while len(rows) < limit and scanned < WINDOW:
            entries: list[Entry] = self._client.zrevrange(  # type: ignore[assignment]
                self._keys.recent, position, position + CHUNK - 1, withscores=True
            )
            if not entries:
                return EventPage(items=tuple(rows), next_cursor=None, scanned=scanned)
            pipe = self._client.pipeline(transaction=False)
            for member, _ in entries:
                pipe.hmget(self._keys.status(member.decode()), ["_type", "_handlers"])
            for (member, score), (event_type, handlers) in zip(
                entries, pipe.execute(), strict=True
            ):
                position += 1
                scanned += 1
                names = tuple(n for n in (handlers or b"").decode().split(",") if n)
                mine = tuple(n for n in names if _same_queue(queues.get(n, ""), queue))
                if not mine:
                    continue
                row = EventSummary(
                    event_id=UUID(member.decode()),
                    event_type=event_type.decode() if event_type else None,
                    queue=queue,
                    state=BrowseState.SUCCEEDED,
                    handlers=mine,
                    at=to_time(score),
                )
                if keep.keeps(row):
                    rows.append(row)
                    if len(rows) == limit:
                        break
            if len(entries) < CHUNK and len(rows) < limit:
                return EventPage(items=tuple(rows), next_cursor=None, scanned=scanned)
        more = bool(self._client.zrevrange(self._keys.recent, position, position))
        return EventPage(items=tuple(rows), next_cursor=position if more else None, scanned=scanned)

    # --- workers ------------------------------------------------------------------------------

    @translated
    def workers(self) -> list[WorkerInfo]:
        """The live workers: their declaration (queues, threads, start) and heartbeat, and
        how many messages each holds in flight; two round trips."""
        horizon = epoch_ms(self._clock.now() - self._heartbeat_timeout)
        pipe = self._client.pipeline(transaction=False)
        pipe.zrangebyscore(self._keys.heartbeats, horizon, "+inf", withscores=True)
        pipe.hgetall(self._keys.route_workers)
        beats, declared = pipe.execute()
        records = {k.decode(): v for k, v in declared.items()}
        out = []
        described = []
        for member, score in beats:
            broker = member.decode()
            record = _declaration(records.get(broker))
            queues = tuple(record.get("queues") or sorted({r[1] for r in record.get("routes", [])}))
            described.append((broker, score, record, queues))
        pipe = self._client.pipeline(transaction=False)
        for broker, _, _, queues in described:
            for queue in queues:
                pipe.scard(self._keys.acks(broker, queue))
        counts = iter(pipe.execute())
        for broker, score, record, queues in described:
            in_flight = sum(int(next(counts)) for _ in queues)
            started = record.get("started")
            threads = record.get("threads")
            out.append(
                WorkerInfo(
                    worker=broker,
                    queues=queues,
                    threads=int(threads) if isinstance(threads, int) else None,
                    in_flight=in_flight,
                    heartbeat_at=to_time(score),
                    started_at=to_time(started) if isinstance(started, int) else None,
                )
            )
        return sorted(out, key=lambda w: w.worker)

    def _live(self) -> list[str]:
        horizon = epoch_ms(self._clock.now() - self._heartbeat_timeout)
        members: list[bytes] = self._client.zrangebyscore(self._keys.heartbeats, horizon, "+inf")  # type: ignore[assignment]
        return [m.decode() for m in members]


_EPOCH: Final = datetime.fromtimestamp(0, UTC)


def _same_queue(stored: str, asked: str) -> bool:
    """A priority queue (``ai-processing.high``) is listed under its queue's name too."""
    return stored == asked or stored.split(".", 1)[0] == asked


def _schedule_row(
    queue: str, state: BrowseState, member: bytes, item: bytes, due_ms: float
) -> EventSummary | None:
    """A schedule entry (``messages.schedule_entry``): a delayed event names its type, a
    retry or a rate-limit wait (one handler, written by settlement) does not."""
    head, _, envelope_json = item.partition(b"\n")
    try:
        header = json.loads(head)
        envelope = json.loads(envelope_json)
        handlers = [(str(q), str(h), int(a)) for q, h, a in header["h"]]
    except (ValueError, KeyError, TypeError):
        return None
    is_retry = not header.get("t")
    if is_retry is not (state is BrowseState.RETRYING):
        return None
    mine = [(h, a) for q, h, a in handlers if _same_queue(q, queue)]
    if not mine:
        return None
    event_type, correlation, causation, event_id = envelope_header(envelope)
    if event_id is None:
        return None
    return EventSummary(
        event_id=event_id,
        event_type=event_type,
        queue=queue,
        state=state,
        handlers=tuple(h for h, _ in mine),
        at=to_time(due_ms),
        attempts=max(a for _, a in mine) - 1,
        correlation_id=correlation,
        causation_id=causation,
    )


def _dead_row(queue: str, item: bytes) -> EventSummary | None:
    letter = load_dead_letter(item)
    if not _same_queue(letter.queue, queue) or letter.event_id is None:
        return None
    try:
        envelope = json.loads(letter.message)
    except ValueError:
        envelope = None
    _, correlation, causation, _ = envelope_header(envelope)
    return EventSummary(
        event_id=letter.event_id,
        event_type=letter.event_type,
        queue=queue,
        state=BrowseState.DEAD,
        handlers=(letter.handler,) if letter.handler else (),
        at=letter.failed_at,
        attempts=letter.attempts,
        correlation_id=correlation,
        causation_id=causation,
        dead_letter_id=letter.id,
    )


def _declaration(raw: bytes | None) -> dict[str, Any]:
    if raw is None:
        return {}
    try:
        record = json.loads(raw)
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}

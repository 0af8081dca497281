"""Status and statistics read back from Redis, and pausing queues.

Everything here reads counters and one status hash: a stats call is one script call
(``queue_stats.lua``) whose work depends on the number of queues and workers, never on the
number of events (a queue's counters and the minutes of its window are one read).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import redis

from ...application.processor import DomainEventsProcessor
from ...domain.errors import UnknownHandler
from ...ports.clock import Clock
from ...ports.monitoring import (
    EventStatus,
    HandlerState,
    HandlerStatus,
    LogLine,
    QueueStats,
    UnroutedStats,
)
from ..clocks import SystemClock
from .connection import DedicatedConnection, translated
from .dead_letters import RedisDeadLetters
from .keys import RedisKeys, stats_fields
from .messages import queue_for
from .millis import epoch_ms
from .routes import RedisRoutes
from .scripts import Scripts
from .tracking import Tracking, minute_of

log = logging.getLogger("hexbus.monitor")


class RedisQueueMonitor:
    """The :class:`QueueMonitor` and :class:`QueueControl` ports on Redis."""

    def __init__(
        self,
        client: redis.Redis,
        keys: RedisKeys,
        processor: DomainEventsProcessor,
        dead_letters: RedisDeadLetters,
        *,
        tracking: Tracking | None = None,
        heartbeat_timeout: timedelta = timedelta(seconds=10),
        clock: Clock | None = None,
        routes: RedisRoutes | None = None,
    ) -> None:
        self._client = client
        self._clock = clock or SystemClock()
        self._keys = keys
        self._processor = processor
        self._dead_letters = dead_letters
        self.tracking = tracking or Tracking()
        self._heartbeat_timeout = heartbeat_timeout
        self._routes = routes or RedisRoutes(
            client, keys, clock=self._clock, heartbeat_timeout=heartbeat_timeout
        )
        self._scripts = Scripts.register(client)
        self._stats_client = DedicatedConnection(client)
        self._stats_templates: list[str] = [
            keys.queue_template,
            keys.stats_template,
            keys.acks_template,
        ]
        self._window: tuple[tuple[int, int], list[str | int]] = ((0, 0), [])

    # --- status -----------------------------------------------------------------------------

    @translated
    def event_status(self, event_id: UUID) -> EventStatus | None:
        """One HGETALL."""
        raw: dict[bytes, bytes] = self._client.hgetall(self._keys.status(event_id))  # type: ignore[assignment]
        if not raw:
            return self._scheduled_status(event_id) or self._queued_status(event_id)
        fields = {k.decode(): v.decode() for k, v in raw.items()}
        names = [n for n in fields.get("_handlers", "").split(",") if n]
        queues = self._queues_of(names)
        return EventStatus(
            event_id=event_id,
            event_type=fields.get("_type"),
            published_at=_time(fields.get("_published")),
            due_at=_time(fields.get("_due")),
            handlers=tuple(self._handler_status(name, queues, fields) for name in names),
        )

    def _scheduled_status(self, event_id: UUID) -> EventStatus | None:
        """A delayed event has no status record until it is due: read its schedule entry."""
        pipe = self._client.pipeline(transaction=False)
        pipe.hget(self._keys.schedule_items, str(event_id))
        pipe.zscore(self._keys.schedule, str(event_id))
        item, due_ms = pipe.execute()
        if item is None or due_ms is None:
            return None
        header = json.loads(item.split(b"\n", 1)[0])
        due_at = _time(str(int(due_ms)))
        return EventStatus(
            event_id=event_id,
            event_type=header["t"],
            published_at=_time(str(header["p"])),
            due_at=due_at,
            handlers=tuple(
                HandlerStatus(
                    handler=handler,
                    queue=queue,
                    state=HandlerState.SCHEDULED,
                    next_attempt_at=due_at,
                )
                for queue, handler, _ in header["h"]
            ),
        )

    def _queued_status(self, event_id: UUID) -> EventStatus | None:
        """Accepted and waiting, no handler started yet: the published key says enough.

        Its value is ``token|event type|published ms|handlers`` (publish.lua), the handlers
        being the routes it was fanned out to (ADR 0015); a key written before them has no
        handler part, and the registry's handlers for the type stand in. Status records are
        created when a handler starts.
        """
        raw: bytes | None = self._client.get(self._keys.published(event_id))  # type: ignore[assignment]
        if raw is None or not self.tracking.enabled:
            return None
        _, sep, rest = raw.decode().partition("|")
        parts = rest.rsplit("|", 2)
        if not sep or len(parts) < 2:
            return None
        if len(parts) == 3:
            event_type, published_ms, handlers = parts
            names = [name for name in handlers.split(",") if name]
        else:
            event_type, published_ms = parts
            names = [spec.name for spec in self._processor.handlers_for(event_type)]
        queues = self._queues_of(names)
        return EventStatus(
            event_id=event_id,
            event_type=event_type,
            published_at=_time(published_ms),
            due_at=None,
            handlers=tuple(
                HandlerStatus(handler=name, queue=queues[name], state=HandlerState.QUEUED)
                for name in names
            ),
        )

    def _queues_of(self, names: list[str]) -> dict[str, str]:
        """Each handler's queue: its route's, else its spec's in this process, else ``?``."""
        routes = {route.handler: route.queue for route in self._routes.read().routes}
        queues = {}
        for name in names:
            queue = routes.get(name)
            if queue is None:
                try:
                    queue = queue_for(self._processor.get(name))
                except UnknownHandler:
                    queue = "?"
            queues[name] = queue
        return queues

    def _handler_status(
        self, name: str, queues: dict[str, str], fields: dict[str, str]
    ) -> HandlerStatus:
        duration = fields.get(f"{name}|d")
        progress = fields.get(f"{name}|p")
        return HandlerStatus(
            handler=name,
            queue=queues[name],
            state=HandlerState(fields.get(f"{name}|s", "queued")),
            attempts=int(fields.get(f"{name}|a", "0")),
            last_error=fields.get(f"{name}|e") or None,
            updated_at=_time(fields.get(f"{name}|u")),
            started_at=_time(fields.get(f"{name}|st")),
            duration=timedelta(milliseconds=int(duration)) if duration else None,
            next_attempt_at=_time(fields.get(f"{name}|n")),
            progress=float(progress) if progress else None,
            log=_log_lines(fields.get(f"{name}|l")),
        )

    # --- statistics --------------------------------------------------------------------------

    @translated
    def queues(self) -> list[str]:
        """Queues the workers announced plus those the registered handlers use."""
        announced = {q.decode() for q in self._client.smembers(self._keys.queues)}  # type: ignore[union-attr]
        mine = {queue_for(spec) for spec in self._processor}
        return sorted(announced | mine)

    @translated
    def live_workers(self) -> list[str]:
        """Broker ids whose heartbeat is recent."""
        horizon = epoch_ms(self._clock.now() - self._heartbeat_timeout)
        members: list[bytes] = self._client.zrangebyscore(self._keys.heartbeats, horizon, "+inf")  # type: ignore[assignment]
        return [m.decode() for m in members]

    @translated
    def queue_stats(self) -> list[QueueStats]:
        """Counts for every queue, in one round trip (``queue_stats.lua``).

        A key of the wrong type spoils only the counts it holds: they read 0 and the queue's
        ``problem`` names the key and the error; the other counts and queues are read.
        """
        window = self.tracking.window
        minutes = max(int(window.total_seconds() // 60), 1)
        horizon = epoch_ms(self._clock.now() - self._heartbeat_timeout)
        flat: list[Any] = self._scripts.queue_stats(
            keys=[self._keys.queues, self._keys.heartbeats, self._keys.paused],
            args=[
                horizon,
                *self._stats_templates,
                *self._window_fields(minutes),
                # Beside the queues the workers announced, those this process's handlers use.
                *{queue_for(spec) for spec in self._processor},
            ],
            client=self._stats_client(),
        )
        stats = []
        for at in range(0, len(flat), 10):
            queue, waiting, scheduled, dead, paused, ok, bad, ms_total, running, problem = flat[
                at : at + 10
            ]
            succeeded = int(ok)
            stats.append(
                QueueStats(
                    queue=queue.decode(),
                    waiting=int(waiting),
                    scheduled=max(int(scheduled), 0),
                    running=int(running),
                    dead=max(int(dead), 0),
                    succeeded=succeeded,
                    failed=int(bad),
                    window=timedelta(minutes=minutes),
                    mean_duration=timedelta(milliseconds=int(ms_total) / succeeded)
                    if succeeded
                    else None,
                    paused=bool(paused),
                    problem=problem.decode() or None,
                )
            )
            if problem:
                log.warning("counts of queue %s could not be read: %s", queue.decode(), problem)
        return stats

    def _window_fields(self, minutes: int) -> list[str | int]:
        """The number of stats fields a call reads, then the fields (:func:`stats_fields`):
        spelled here, once a minute, because the script would pay more to make them than for
        all its reads."""
        current = minute_of(self._clock.now())
        cached = self._window  # read once: another thread may replace it meanwhile
        if cached[0] != (current, minutes):
            fields = stats_fields(range(current - minutes + 1, current + 1))
            cached = ((current, minutes), [len(fields), *fields])
            self._window = cached
        return cached[1]

    @translated
    def unrouted(self) -> list[UnroutedStats]:
        """Per event type, the events accepted with no route, and those still kept: one
        round trip (``unrouted_stats.lua``), whatever the number of events."""
        return self._routes.unrouted_stats()

    # --- cleaning ----------------------------------------------------------------------------

    @translated
    def clean(self, *, state: HandlerState, older_than: timedelta) -> int:
        """Drop succeeded statuses or dead letters older than ``older_than``."""
        horizon = epoch_ms(self._clock.now() - older_than)
        if state is HandlerState.DEAD:
            ids: list[bytes] = self._client.zrangebyscore(self._keys.dead, "-inf", horizon)  # type: ignore[assignment]
            removed = 0
            for dead_letter_id in ids:
                try:
                    self._dead_letters.remove(dead_letter_id.decode())
                    removed += 1
                except LookupError:
                    pass  # retried or removed meanwhile
            return removed
        if state is HandlerState.SUCCEEDED:
            old: list[bytes] = self._client.zrangebyscore(self._keys.recent, "-inf", horizon)  # type: ignore[assignment]
            if not old:
                return 0
            pipe = self._client.pipeline(transaction=True)
            for event_id in old:
                pipe.delete(self._keys.status(event_id.decode()))
            pipe.zrem(self._keys.recent, *old)
            pipe.execute()
            return len(old)
        raise ValueError("clean removes SUCCEEDED statuses or DEAD letters")

    # --- pausing -----------------------------------------------------------------------------

    @translated
    def pause(self, queue: str) -> None:
        """Workers stop fetching from ``queue``; its messages stay."""
        self._client.sadd(self._keys.paused, queue)

    @translated
    def resume(self, queue: str) -> None:
        """Workers fetch from ``queue`` again."""
        self._client.srem(self._keys.paused, queue)
        self._client.rpush(self._keys.wake(queue), "1")

    @translated
    def paused(self) -> frozenset[str]:
        """The paused queues."""
        return frozenset(q.decode() for q in self._client.smembers(self._keys.paused))  # type: ignore[union-attr]


def _log_lines(raw: str | None) -> tuple[LogLine, ...]:
    """``report.lua``'s JSON list of ``[ms, attempt, text]``; anything else reads as none."""
    if not raw:
        return ()
    try:
        entries = json.loads(raw)
        return tuple(
            LogLine(at=datetime.fromtimestamp(at / 1000, UTC), attempt=int(attempt), text=text)
            for at, attempt, text in entries
        )
    except (ValueError, TypeError):
        return ()


def _time(ms: str | None) -> datetime | None:
    if not ms:
        return None
    return datetime.fromtimestamp(int(ms) / 1000, UTC)

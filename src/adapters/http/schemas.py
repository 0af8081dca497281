"""The API's bodies as pydantic models: what /openapi.json documents and responses carry.

The ports hold attrs values with timedeltas and enums; these models are their JSON shape
(durations in milliseconds or seconds, enums as their names), built by the ``from_*``
constructors so every route converts the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ...ports.dead_letters import DeadLetter, DeadLetterPage
from ...ports.monitoring import EventStatus, HandlerStatus, QueueStats, UnroutedStats
from .badges import Badge, Thresholds, backlog, badge, worst
from .views import View

MAX_OLDER_THAN_SECONDS = 10 * 365 * 24 * 3600
"""Ten years: enough for any clean, and far from overflowing a datetime."""


def _ms(duration: timedelta | None) -> float | None:
    return None if duration is None else round(duration.total_seconds() * 1000, 3)


# --- errors ------------------------------------------------------------------------------


class FieldError(BaseModel):
    """One invalid part of a request."""

    location: str = Field(description="Where: 'query.limit', 'body.state', 'path.event_id'.")
    message: str


Responses = dict[int | str, dict[str, Any]]
"""A route's documented extra responses (FastAPI's ``responses=``)."""


class ErrorOut(BaseModel):
    """Every error response: a stable code and a sentence saying what to do."""

    error: str = Field(description="A stable code: 'DeadLetterNotFound', 'Unauthorized', ...")
    detail: str = Field(description="What was wrong and, where there is one, what to do.")
    fields: list[FieldError] | None = Field(
        default=None, description="For a 422: each invalid part of the request."
    )


# --- queues --------------------------------------------------------------------------------


class ThresholdsOut(BaseModel):
    """The alert thresholds in force (HEXBUS_ALERT_FAILURE_RATE, HEXBUS_ALERT_BACKLOG)."""

    failure_rate: float
    backlog: int


class QueueStatsOut(BaseModel):
    """One queue's counts now and over the stats window, with its health badge."""

    queue: str
    waiting: int = Field(description="Queued, ready to run.")
    scheduled: int = Field(description="Held until a due time (delays, retries, rate limits).")
    running: int
    succeeded: int = Field(description="Handler runs that succeeded in the window.")
    failed: int = Field(description="Handler runs that failed in the window.")
    dead: int = Field(description="Dead letters of this queue now.")
    backlog: int = Field(description="messages waiting (scheduled-for-later work is not backlog).")
    window_seconds: int
    throughput_per_minute: float
    mean_duration_ms: float | None
    failure_rate: float = Field(description="failed / (succeeded + failed) in the window.")
    paused: bool
    health: Badge
    problem: str | None = Field(
        default=None,
        description="What could not be read for this queue (a Redis key of the wrong type): "
        "the counts it holds read 0. Null when every count was read.",
    )

    @classmethod
    def from_stats(cls, stats: QueueStats, thresholds: Thresholds) -> QueueStatsOut:
        """The port's stats with the derived numbers and the badge."""
        return cls(
            queue=stats.queue,
            waiting=stats.waiting,
            scheduled=stats.scheduled,
            running=stats.running,
            succeeded=stats.succeeded,
            failed=stats.failed,
            dead=stats.dead,
            backlog=backlog(stats),
            window_seconds=int(stats.window.total_seconds()),
            throughput_per_minute=round(stats.throughput_per_minute, 3),
            mean_duration_ms=_ms(stats.mean_duration),
            failure_rate=round(stats.failure_rate, 4),
            paused=stats.paused,
            health=badge(stats, thresholds),
            problem=stats.problem,
        )


class UnroutedOut(BaseModel):
    """Events of one type accepted while no handler subscribed to it (ADR 0015)."""

    event_type: str
    count: int = Field(description="Every event of this type accepted with no route.")
    kept: int = Field(
        description="Of those, the ones still kept for a handler that subscribes later."
    )


class QueuesOut(BaseModel):
    """Every known queue, and the worst badge among them; and the unrouted events."""

    queues: list[QueueStatsOut]
    health: Badge
    thresholds: ThresholdsOut
    unrouted: list[UnroutedOut] = Field(
        default_factory=list,
        description="Per event type, events accepted while no handler subscribed to it.",
    )
    unrouted_total: int = Field(default=0, description="The sum of the unrouted counts.")

    @classmethod
    def from_stats(
        cls,
        stats: list[QueueStats],
        thresholds: Thresholds,
        unrouted: list[UnroutedStats] | None = None,
    ) -> QueuesOut:
        """Stats of every queue, badged, and the unrouted counts."""
        queues = [QueueStatsOut.from_stats(s, thresholds) for s in stats]
        unrouted = unrouted or []
        return cls(
            queues=queues,
            health=worst(q.health for q in queues),
            thresholds=ThresholdsOut(
                failure_rate=thresholds.failure_rate, backlog=thresholds.backlog
            ),
            unrouted=[
                UnroutedOut(event_type=u.event_type, count=u.count, kept=u.kept) for u in unrouted
            ],
            unrouted_total=sum(u.count for u in unrouted),
        )


class QueueStateOut(BaseModel):
    """A queue after pause or resume."""

    queue: str
    paused: bool


class CleanIn(BaseModel):
    """What to remove: succeeded statuses or dead letters older than a number of seconds."""

    model_config = ConfigDict(extra="forbid")

    state: Literal["succeeded", "dead"]
    older_than_seconds: int = Field(
        ge=0,
        le=MAX_OLDER_THAN_SECONDS,
        strict=True,
        description="Only records older than this; 0 removes them all.",
    )

    @field_validator("older_than_seconds", mode="before")
    @classmethod
    def _whole_number(cls, value: Any) -> Any:
        # JSON Schema's integer includes 60.0; a bool or a string stays refused (strict).
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value


class CleanOut(BaseModel):
    """How many records went."""

    state: Literal["succeeded", "dead"]
    older_than_seconds: int
    removed: int


# --- dead letters --------------------------------------------------------------------------


Redacted = Literal["payload", "message", "error", "traceback"]


class DeadLetterOut(BaseModel):
    """One handler's failure on one event, with what is needed to diagnose and retry it.

    What a caller is shown depends on its token (ADR 0016): the operator token gets the event
    in full, its payload decrypted when payloads are encrypted; the read token gets the
    event's header only (type, id, version, times, correlation ids). Error texts and
    tracebacks are shown to either only with HEXBUS_SHOW_ERRORS=true. ``redacted`` names what
    was left out.
    """

    id: str
    reason: str = Field(
        description="retries_exhausted, non_retryable, undecodable, undecryptable, "
        "unknown_handler, worker_died, unsettleable"
    )
    queue: str
    handler: str | None
    event_id: UUID | None
    event_type: str | None
    error_type: str
    error: str | None = Field(description="The error's message; null unless HEXBUS_SHOW_ERRORS.")
    traceback: str | None = Field(description="Null unless HEXBUS_SHOW_ERRORS.")
    attempts: int
    failed_at: datetime
    message: str | None = Field(
        description="The event as carried (JSON text): in full for the operator token, its "
        "header only for the read token; null when it is not an event and the caller is not "
        "the operator."
    )
    redacted: list[Redacted] = Field(description="What was left out for this caller.")

    @classmethod
    def from_dead_letter(cls, letter: DeadLetter, view: View) -> DeadLetterOut:
        """The port's dead letter as JSON, as ``view`` lets its caller see it."""
        message, hidden = view.message(letter.message)
        error = view.error(letter.error)
        traceback = view.error(letter.traceback)
        redacted: list[Redacted] = [*hidden]
        if error is None and letter.error:
            redacted.append("error")
        if traceback is None and letter.traceback:
            redacted.append("traceback")
        return cls(
            id=letter.id,
            reason=letter.reason.value,
            queue=letter.queue,
            handler=letter.handler,
            event_id=letter.event_id,
            event_type=letter.event_type,
            error_type=letter.error_type,
            error=error,
            traceback=traceback,
            attempts=letter.attempts,
            failed_at=letter.failed_at,
            message=message,
            redacted=redacted,
        )


class DeadLetterPageOut(BaseModel):
    """A page of dead letters, newest first."""

    items: list[DeadLetterOut]
    total: int
    offset: int
    limit: int

    @classmethod
    def from_page(cls, page: DeadLetterPage, view: View) -> DeadLetterPageOut:
        """The port's page as JSON."""
        return cls(
            items=[DeadLetterOut.from_dead_letter(d, view) for d in page.items],
            total=page.total,
            offset=page.offset,
            limit=page.limit,
        )


class RetriedOut(BaseModel):
    """A dead letter handed back to its handler (it left the list)."""

    id: str
    status: Literal["retried"] = "retried"


class RemovedOut(BaseModel):
    """A dead letter deleted for good."""

    id: str
    status: Literal["removed"] = "removed"


class RetriedAllOut(BaseModel):
    """How many dead letters were retried (those that cannot be are left in place)."""

    retried: int
    remaining: int


# --- events --------------------------------------------------------------------------------


class LogLineOut(BaseModel):
    """A line a handler wrote through ``hexbus.handler_context().log``."""

    at: datetime
    attempt: int
    text: str


class HandlerStatusOut(BaseModel):
    """One handler's progress with the event."""

    handler: str
    queue: str
    state: str = Field(description="scheduled, queued, running, succeeded, failed, dead, ...")
    attempts: int
    last_error: str | None = Field(description="Null unless HEXBUS_SHOW_ERRORS.")
    updated_at: datetime | None
    started_at: datetime | None
    duration_ms: float | None
    next_attempt_at: datetime | None
    progress: float | None = Field(
        default=None, description="0-100, as the handler last reported it (handler_context)."
    )
    log: list[LogLineOut] = Field(
        default_factory=list, description="The handler's own log lines, oldest first."
    )

    @classmethod
    def from_status(cls, status: HandlerStatus, view: View) -> HandlerStatusOut:
        """The port's handler status as JSON."""
        return cls(
            handler=status.handler,
            queue=status.queue,
            state=status.state.value,
            attempts=status.attempts,
            last_error=view.error(status.last_error),
            updated_at=status.updated_at,
            started_at=status.started_at,
            duration_ms=_ms(status.duration),
            next_attempt_at=status.next_attempt_at,
            progress=status.progress,
            log=[
                LogLineOut(at=line.at, attempt=line.attempt, text=line.text) for line in status.log
            ],
        )


class EventStatusOut(BaseModel):
    """An event's handlers and where each one is; ``state`` is the least advanced one's."""

    event_id: UUID
    event_type: str | None
    state: str
    published_at: datetime | None
    due_at: datetime | None
    handlers: list[HandlerStatusOut]
    redacted: list[Literal["last_error"]] = Field(
        description="What was left out: handlers' last errors, unless HEXBUS_SHOW_ERRORS."
    )
    dead_letters: list[DeadLetterOut] = Field(
        default_factory=list,
        description="The dead letters of its dead handlers (error, traceback and the event "
        "as the caller's token may see them): retry one with its id.",
    )

    @classmethod
    def from_status(
        cls, status: EventStatus, view: View, dead_letters: Sequence[DeadLetter] = ()
    ) -> EventStatusOut:
        """The port's event status as JSON, with the dead letters of its dead handlers."""
        hidden = any(h.last_error and view.error(h.last_error) is None for h in status.handlers)
        return cls(
            event_id=status.event_id,
            event_type=status.event_type,
            state=status.state.value,
            published_at=status.published_at,
            due_at=status.due_at,
            handlers=[HandlerStatusOut.from_status(h, view) for h in status.handlers],
            redacted=["last_error"] if hidden else [],
            dead_letters=[DeadLetterOut.from_dead_letter(d, view) for d in dead_letters],
        )

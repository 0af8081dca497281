"""Bodies of the console's listings and actions: events by state, schedules, workers."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from ...application.recurring import RecurringScheduler
from ...ports.browsing import EventPage, EventSummary, WorkerInfo

MAX_DELAY_SECONDS = 10 * 365 * 24 * 3600
_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def _date_time_text(value: Any) -> Any:
    """A time must be written as one (RFC 3339): pydantic would read 0.5 as a Unix time."""
    if value is None:
        return value
    if not isinstance(value, str) or _NUMBER.fullmatch(value):
        raise ValueError("a time is RFC 3339 text with its zone, e.g. 2026-03-02T09:00:00Z")
    return value


Moment = Annotated[AwareDatetime, BeforeValidator(_date_time_text)]
"""A timezone-aware time, given as RFC 3339 text only."""


class EventSummaryOut(BaseModel):
    """One row of a listing (the event's header only: never a payload)."""

    event_id: UUID
    event_type: str | None
    queue: str
    state: str
    handlers: list[str]
    at: datetime | None = Field(
        description="When it entered the list: queued, due, started, finished or failed."
    )
    attempts: int
    correlation_id: str | None
    causation_id: str | None
    dead_letter_id: str | None

    @classmethod
    def from_summary(cls, row: EventSummary) -> EventSummaryOut:
        """The port's row as JSON."""
        return cls(
            event_id=row.event_id,
            event_type=row.event_type,
            queue=row.queue,
            state=row.state.value,
            handlers=list(row.handlers),
            at=row.at,
            attempts=row.attempts,
            correlation_id=row.correlation_id,
            causation_id=row.causation_id,
            dead_letter_id=row.dead_letter_id,
        )


class EventPageOut(BaseModel):
    """A page, newest first; ask again with ``cursor=next_cursor`` for the next one."""

    queue: str
    state: str
    items: list[EventSummaryOut]
    next_cursor: int | None = Field(description="Null at the end of the list.")
    scanned: int = Field(description="Index entries read for this page (bounded per call).")

    @classmethod
    def from_page(cls, queue: str, state: str, page: EventPage) -> EventPageOut:
        """The port's page as JSON."""
        return cls(
            queue=queue,
            state=state,
            items=[EventSummaryOut.from_summary(row) for row in page.items],
            next_cursor=page.next_cursor,
            scanned=page.scanned,
        )


class RescheduleAfter(BaseModel):
    """Due ``delay_seconds`` from now."""

    model_config = ConfigDict(extra="forbid")
    delay_seconds: float = Field(ge=0, le=MAX_DELAY_SECONDS)


class RescheduleAt(BaseModel):
    """Due at ``at`` (with its time zone, e.g. ``2026-03-02T09:00:00Z``)."""

    model_config = ConfigDict(extra="forbid")
    at: Moment


RescheduleIn = RescheduleAfter | RescheduleAt
"""A new due time: a delay from now, or a moment; one of the two."""


class EventActionOut(BaseModel):
    """What an action on a scheduled event did."""

    event_id: UUID
    action: Literal["promoted", "rescheduled", "cancelled"]
    due_at: datetime | None = Field(description="The new due time (null when cancelled).")


class ScheduleOut(BaseModel):
    """One recurring schedule."""

    name: str
    rule: str
    timezone: str
    catch_up: str
    next_fire: datetime
    last_tick: datetime | None
    description: str


class SchedulesOut(BaseModel):
    """Every recurring schedule the serving process's app added."""

    schedules: list[ScheduleOut]

    @classmethod
    def from_scheduler(cls, recurring: RecurringScheduler) -> SchedulesOut:
        """Each schedule with its next fire and last tick (read; nothing written)."""
        out = []
        for schedule in recurring.schedules:
            last = recurring.last_tick(schedule)
            out.append(
                ScheduleOut(
                    name=schedule.name,
                    rule=schedule.rule,
                    timezone=schedule.timezone,
                    catch_up=schedule.catch_up.value,
                    next_fire=recurring.next_fire_after(schedule, last),
                    last_tick=last,
                    description=schedule.description,
                )
            )
        return cls(schedules=out)


class WorkerOut(BaseModel):
    """One live worker process."""

    worker: str
    queues: list[str]
    threads: int | None
    in_flight: int
    heartbeat_at: datetime | None
    heartbeat_age_seconds: float | None
    started_at: datetime | None

    @classmethod
    def from_info(cls, info: WorkerInfo, now: datetime) -> WorkerOut:
        """The port's worker as JSON, its heartbeat's age as of ``now``."""
        age = (now - info.heartbeat_at).total_seconds() if info.heartbeat_at else None
        return cls(
            worker=info.worker,
            queues=list(info.queues),
            threads=info.threads,
            in_flight=info.in_flight,
            heartbeat_at=info.heartbeat_at,
            heartbeat_age_seconds=None if age is None else round(max(age, 0.0), 3),
            started_at=info.started_at,
        )


class WorkersOut(BaseModel):
    """The live workers (empty on the in-memory bus: handlers run in the publisher)."""

    workers: list[WorkerOut]


class SweepIn(BaseModel):
    """Which dead letters (fields left out take all), what to do, and how many per call."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["count", "retry", "remove"]
    queue: str | None = Field(default=None, max_length=200)
    handler: str | None = Field(default=None, max_length=200)
    error_type: str | None = Field(
        default=None, max_length=200, description="Full name or class name."
    )
    since: Moment | None = Field(default=None, description="Failed at or after.")
    until: Moment | None = Field(
        default=None, description="Failed at or before (before 'since': nothing matches)."
    )
    batch_size: int = Field(default=100, ge=1, le=500, strict=True)
    skip: int = Field(
        default=0,
        ge=0,
        le=10**9,
        strict=True,
        description="The 'skipped' of the calls before this one.",
    )

    @field_validator("batch_size", "skip", mode="before")
    @classmethod
    def _whole_number(cls, value: Any) -> Any:
        # JSON Schema's integer includes 60.0; a bool or a string stays refused (strict).
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value


class SweepOut(BaseModel):
    """What one call did."""

    action: Literal["count", "retry", "remove"]
    matched: int = Field(description="Dead letters matching the filter when the call began.")
    done: int
    skipped: int = Field(description="Could not be retried (they stay), or gone meanwhile.")
    remaining: int = Field(description="Matching and not tried yet: call again while > 0.")

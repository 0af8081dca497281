"""Recurring events: cron expressions or fixed intervals, each tick a fresh event, fired once.

A tick's event_id is derived from the schedule's name and the tick's time (uuid5), so however
many schedulers run, the same tick publishes the same event_id and idempotent publish keeps
one. Ticks are computed, never counted: cron ticks come from croniter; interval ticks are
multiples of the interval since the Unix epoch, so every scheduler agrees on them without
talking to the others.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
from croniter import croniter

from ..domain.errors import ConfigurationError
from ..domain.events import DomainEvent
from ..ports.event_bus import EventBus, PublishResult
from ..ports.schedules import CatchUp, ScheduleState

TICK_NAMESPACE: Final = uuid.UUID("5b0c2f4e-8a51-4d3c-9d6e-2f1a7c3b9e10")
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def tick_event_id(schedule: str, tick: datetime) -> uuid.UUID:
    """The event_id of ``schedule``'s tick at ``tick``: the same in every process."""
    return uuid.uuid5(TICK_NAMESPACE, f"{schedule}@{tick.astimezone(UTC).isoformat()}")


@attrs.frozen
class Tick:
    """One firing of a schedule: build the event with this ``event_id`` and ``at``."""

    schedule: str
    at: datetime
    event_id: uuid.UUID


EventFactory = Callable[[Tick], DomainEvent]


@attrs.frozen(kw_only=True)
class RecurringSchedule:
    """A named schedule: ``cron`` (with ``timezone``) or ``every``, and what event to make.

    ``make_event`` receives the :class:`Tick` and must use its ``event_id`` (that is what makes
    the tick fire once); a :class:`ValueError` at registration says so if it does not.
    """

    name: str
    make_event: EventFactory = attrs.field(eq=False)
    cron: str | None = None
    every: timedelta | None = None
    timezone: str = "UTC"
    catch_up: CatchUp = CatchUp.SKIP
    description: str = ""

    def __attrs_post_init__(self) -> None:
        if not self.name.strip():
            raise ConfigurationError("schedule", "a schedule needs a name")
        if (self.cron is None) == (self.every is None):
            raise ConfigurationError(self.name, "give exactly one of cron= or every=")
        if self.cron is not None and not croniter.is_valid(self.cron):
            raise ConfigurationError(self.name, f"{self.cron!r} is not a cron expression")
        if self.every is not None and self.every < timedelta(seconds=1):
            raise ConfigurationError(self.name, "every= must be at least one second")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigurationError(self.name, f"unknown timezone {self.timezone!r}") from None

    @property
    def rule(self) -> str:
        """The rule in words, for listings."""
        if self.cron is not None:
            return f"cron {self.cron} ({self.timezone})"
        assert self.every is not None
        return f"every {self.every}"

    def next_after(self, moment: datetime) -> datetime:
        """The first tick strictly after ``moment`` (UTC)."""
        if self.every is not None:
            step = self.every.total_seconds()
            elapsed = (moment - EPOCH).total_seconds()
            return EPOCH + timedelta(seconds=(elapsed // step + 1) * step)
        assert self.cron is not None
        local = moment.astimezone(ZoneInfo(self.timezone))
        nxt: datetime = croniter(self.cron, local).get_next(datetime)
        return nxt.astimezone(UTC)

    def ticks(self, after: datetime, until: datetime) -> Iterator[datetime]:
        """Every tick in (``after``, ``until``], in order."""
        tick = self.next_after(after)
        while tick <= until:
            yield tick
            tick = self.next_after(tick)


class RecurringScheduler:
    """Publishes the due ticks of its schedules; safe to run in any number of processes.

    ``run_due`` is the whole algorithm: for each schedule, the ticks since the last one dealt
    with; with ``SKIP`` only those within ``grace`` of now fire, with ``RUN_ONCE`` the latest
    fires; then the state moves to the latest tick. A schedule seen for the first time starts
    from when it was added: it does not fire ticks from before it existed. It is also a
    :class:`TimerSource`, so the in-memory bus can drive it on virtual time.

    :meth:`add` only records the schedule and when it was added; the state (Redis on the queue
    bus) is first read, and a new schedule's starting mark written, by the first
    :meth:`run_due` or :meth:`next_fire` that needs it. So an application can add its
    schedules while its container is built, in a worker or web process too, without reaching
    Redis.
    """

    def __init__(
        self,
        bus: EventBus,
        state: ScheduleState,
        now: Callable[[], datetime],
        *,
        grace: timedelta = timedelta(minutes=1),
    ) -> None:
        self._bus = bus
        self._state = state
        self._now = now
        self._grace = grace
        self._schedules: dict[str, RecurringSchedule] = {}
        # Schedules added but not yet looked up in the state, with when they were added.
        self._unstarted: dict[str, datetime] = {}

    def add(self, schedule: RecurringSchedule) -> RecurringSchedule:
        """Register a schedule; names are unique. Touches no state (see the class)."""
        if schedule.name in self._schedules:
            raise ConfigurationError(schedule.name, "a schedule with this name already exists")
        probe = schedule.make_event(Tick(schedule.name, EPOCH, tick_event_id(schedule.name, EPOCH)))
        if probe.event_id != tick_event_id(schedule.name, EPOCH):
            raise ConfigurationError(
                schedule.name, "make_event must build the event with event_id=tick.event_id"
            )
        self._schedules[schedule.name] = schedule
        self._unstarted[schedule.name] = self._now()
        return schedule

    @property
    def schedules(self) -> tuple[RecurringSchedule, ...]:
        """Every registered schedule, by name."""
        return tuple(self._schedules[name] for name in sorted(self._schedules))

    def next_fire(self, schedule: RecurringSchedule) -> datetime:
        """When ``schedule`` fires next."""
        return schedule.next_after(self._last_tick(schedule.name) or self._now())

    def last_tick(self, schedule: RecurringSchedule) -> datetime | None:
        """The latest tick dealt with, as the state has it (None before the first); a read
        only, for operators' views: it writes no starting mark."""
        return self._state.last_tick(schedule.name)

    def next_fire_after(self, schedule: RecurringSchedule, last: datetime | None) -> datetime:
        """When ``schedule`` fires next after its ``last`` tick (from now when None)."""
        return schedule.next_after(last or self._now())

    def next_due(self) -> datetime | None:
        """The soonest next tick of any schedule."""
        return min((self.next_fire(s) for s in self._schedules.values()), default=None)

    def run_due(self, now: datetime | None = None) -> int:
        """Publish every due tick; returns how many were published (duplicates included)."""
        now = now or self._now()
        published = 0
        for schedule in self._schedules.values():
            published += len(self._run_schedule(schedule, now))
        return published

    def _run_schedule(self, schedule: RecurringSchedule, now: datetime) -> list[PublishResult]:
        last = self._last_tick(schedule.name) or now
        due = list(schedule.ticks(last, now))
        if not due:
            return []
        if schedule.catch_up is CatchUp.RUN_ONCE:
            firing = due[-1:]
        else:
            firing = [tick for tick in due if tick > now - self._grace]
        results = []
        for tick in firing:
            event = schedule.make_event(
                Tick(schedule.name, tick, tick_event_id(schedule.name, tick))
            )
            results.append(self._bus.publish(event))
        self._state.record_tick(schedule.name, due[-1])
        return results

    def _last_tick(self, name: str) -> datetime | None:
        """The schedule's mark in the state; the first time, a new schedule's is set.

        A schedule the state has never seen starts from when it was added: it does not fire
        ticks from before it existed. The mark only moves forward (``record_tick``): when another
        scheduler got there first, the state keeps its later mark, and a tick both fire is a
        duplicate. Until this succeeds (the state may be unreachable) the schedule stays
        unstarted and the next call tries again.
        """
        added = self._unstarted.get(name)
        last = self._state.last_tick(name)
        if added is None:
            return last
        if last is None:
            self._state.record_tick(name, added)
            last = added
        self._unstarted.pop(name, None)
        return last

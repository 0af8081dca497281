"""RecurringScheduler: adding a schedule touches no state; the first run starts it from then.

An application adds its schedules while its container is built, in every process (a worker,
the web app), so ``add`` must not read or write the schedule state (Redis on the queue bus).
The state is first asked by ``run_due`` or ``next_fire``, and a schedule it has never seen
starts from when it was added, as before.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest

from hexbus import ConfigurationError, DomainEvent, DomainEventsProcessor
from hexbus.adapters.clocks import VirtualClock
from hexbus.adapters.in_memory import InMemoryEventBus
from hexbus.adapters.in_memory.schedule_state import InMemoryScheduleState
from hexbus.application.recurring import RecurringSchedule, RecurringScheduler, Tick
from hexbus.container import create_container
from hexbus.ports.schedules import CatchUp

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@attrs.frozen(kw_only=True)
class Hourly(DomainEvent):
    event_type = "unit.recurring.hourly"


def hourly(tick: Tick) -> Hourly:
    return Hourly(event_id=tick.event_id, occurred_at=tick.at)


def schedule(name: str = "hourly", catch_up: CatchUp = CatchUp.SKIP) -> RecurringSchedule:
    return RecurringSchedule(
        name=name, every=timedelta(hours=1), make_event=hourly, catch_up=catch_up
    )


class StateDown:
    """A schedule state that cannot be reached (Redis down, a wrong password)."""

    def __init__(self) -> None:
        self.calls = 0

    def last_tick(self, schedule: str) -> datetime | None:
        self.calls += 1
        raise ConnectionError("the schedule state is unreachable")

    def record_tick(self, schedule: str, tick: datetime) -> None:
        self.calls += 1
        raise ConnectionError("the schedule state is unreachable")


class CountingState(InMemoryScheduleState):
    """The in-memory state, counting how often it is asked."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def last_tick(self, schedule: str) -> datetime | None:
        self.calls += 1
        return super().last_tick(schedule)

    def record_tick(self, schedule: str, tick: datetime) -> None:
        self.calls += 1
        super().record_tick(schedule, tick)


def wired(state: object) -> tuple[VirtualClock, InMemoryEventBus, RecurringScheduler]:
    clock = VirtualClock(T0)
    bus = InMemoryEventBus(DomainEventsProcessor(), clock=clock)
    return clock, bus, RecurringScheduler(bus, state, clock.now)  # type: ignore[arg-type]


def test_adding_a_schedule_touches_no_state() -> None:
    state = StateDown()
    _, _, recurring = wired(state)

    recurring.add(schedule("a"))
    recurring.add(schedule("b"))

    assert [s.name for s in recurring.schedules] == ["a", "b"]
    assert state.calls == 0


def test_a_name_is_still_refused_twice_without_asking_the_state() -> None:
    state = StateDown()
    _, _, recurring = wired(state)
    recurring.add(schedule())

    with pytest.raises(ConfigurationError, match="already exists"):
        recurring.add(schedule())
    assert state.calls == 0


def test_a_new_schedule_starts_from_when_it_was_added_not_from_its_first_run() -> None:
    clock, bus, recurring = wired(InMemoryScheduleState())
    recurring.add(schedule(catch_up=CatchUp.RUN_ONCE))

    clock.advance(timedelta(hours=2, minutes=30))  # 10:00 and 11:00 went by unrun

    assert recurring.run_due() == 1, "the latest tick since it was added, run once"
    assert [e.occurred_at for e in bus.events_of_type(Hourly)] == [T0 + timedelta(hours=2)]


def test_a_new_schedule_fires_no_tick_from_before_it_was_added() -> None:
    clock, _, recurring = wired(InMemoryScheduleState())
    clock.advance(timedelta(minutes=59, seconds=30))
    recurring.add(schedule())

    assert recurring.next_fire(recurring.schedules[0]) == T0 + timedelta(hours=1)
    clock.advance(timedelta(minutes=1))
    assert recurring.run_due() == 1
    assert recurring.run_due() == 0


def test_the_first_run_writes_the_starting_mark_once() -> None:
    state = CountingState()
    _, _, recurring = wired(state)
    recurring.add(schedule())

    recurring.run_due()

    assert state.last_tick("hourly") == T0
    before = state.calls
    recurring.run_due()
    assert state.calls - before == 1, "afterwards only the mark is read"


def test_a_mark_already_in_the_state_wins_over_when_it_was_added() -> None:
    # Another scheduler process has run this schedule for a while.
    state = InMemoryScheduleState()
    state.record_tick("hourly", T0 - timedelta(hours=5))
    _, bus, recurring = wired(state)
    recurring.add(schedule(catch_up=CatchUp.RUN_ONCE))

    assert recurring.run_due() == 1, "the missed ticks since the state's mark, run once"
    assert [e.occurred_at for e in bus.events_of_type(Hourly)] == [T0]


def test_an_unreachable_state_on_the_first_run_leaves_the_schedule_to_start_later() -> None:
    class Flaky(InMemoryScheduleState):
        down = True

        def last_tick(self, schedule: str) -> datetime | None:
            if self.down:
                raise ConnectionError("down")
            return super().last_tick(schedule)

    state = Flaky()
    clock, bus, recurring = wired(state)
    recurring.add(schedule(catch_up=CatchUp.RUN_ONCE))
    clock.advance(timedelta(hours=1, minutes=30))
    with pytest.raises(ConnectionError):
        recurring.run_due()

    state.down = False
    assert recurring.run_due() == 1, "it still starts from when it was added"
    assert [e.occurred_at for e in bus.events_of_type(Hourly)] == [T0 + timedelta(hours=1)]


def test_a_schedule_added_after_create_container_fires_as_the_in_memory_bus_advances() -> None:
    container = create_container(env={}, clock=VirtualClock(T0))
    bus = container.in_memory_bus()
    container.recurring().add(schedule())

    bus.advance(timedelta(hours=3))

    assert bus.count(Hourly) == 3


def test_a_queue_container_adds_schedules_without_reaching_redis() -> None:
    # Nothing listens on port 1; adding must not connect (only running does).
    container = create_container(
        env={"USE_QUEUE_EVENT_BUS": "true", "REDIS_URL": "redis://127.0.0.1:1/0"}
    )

    container.recurring().add(schedule())

    assert [s.name for s in container.recurring().schedules] == ["hourly"]

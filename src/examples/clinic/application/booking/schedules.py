"""The booking domain's recurring job: the no-show check every 30 minutes."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from .....application.recurring import RecurringSchedule, RecurringScheduler, Tick
from ...domain.booking.events import NoShowCheckDue

NO_SHOW_CHECK: Final = "booking.no_show_check"


def no_show_check(tick: Tick) -> NoShowCheckDue:
    """The tick's event: its id and time are the tick's (so it fires once everywhere)."""
    return NoShowCheckDue(event_id=tick.event_id, occurred_at=tick.at)


def register_booking_schedules(recurring: RecurringScheduler) -> tuple[RecurringSchedule, ...]:
    """Add the booking schedules to ``recurring``; call once per scheduler."""
    return (
        recurring.add(
            RecurringSchedule(
                name=NO_SHOW_CHECK,
                every=timedelta(minutes=30),
                make_event=no_show_check,
                description="paid appointments 15 min past their start with no check-in "
                "become no-shows",
            )
        ),
    )

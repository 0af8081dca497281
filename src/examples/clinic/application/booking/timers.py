"""The timers an appointment sets when it is booked, and how they are called off.

Booking publishes three events for later through the :class:`EventBus` port: a reminder 24 h
and one 1 h before the appointment (a reminder whose time has already passed is skipped), and
the payment deadline 30 minutes after booking. Their ids derive from the appointment id
(:mod:`.event_ids`), so:

* cancelling needs no stored ids: paying cancels the deadline, cancelling the appointment
  cancels all three, through the :class:`EventScheduler` port, by the derived ids;
* publishing them again (a booking retried after a crash) is a duplicate, not a second timer.

A timer that fires anyway (it was already on its way to a worker when cancelled) finds the
appointment changed and does nothing: each handler checks the status first (ADR 0010).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from .....ports.event_bus import EventScheduler
from .....ports.unit_of_work import EventPublisher
from ...domain.booking.appointment import Appointment, AppointmentStatus
from ...domain.booking.events import (
    REMINDER_HOURS,
    AppointmentPaymentDeadlinePassed,
    AppointmentReminderDue,
)
from .event_ids import payment_deadline_event_id, reminder_event_id

PAYMENT_WINDOW: Final = timedelta(minutes=30)
"""How long a booked appointment waits for its payment before it is cancelled."""


def reminder_time(appointment: Appointment, hours_before: int) -> datetime:
    """When the reminder ``hours_before`` the appointment is due."""
    return appointment.starts_at - timedelta(hours=hours_before)


def schedule_reminders(
    event_bus: EventPublisher, appointment: Appointment, now: datetime
) -> list[object]:
    """Publish the reminders still in the future, each due at its time (through the bus, or
    the open unit of work: then they go out with its commit)."""
    results: list[object] = []
    for hours in REMINDER_HOURS:
        due = reminder_time(appointment, hours)
        if due <= now:
            continue  # booked less than ``hours`` ahead: that reminder would say nothing new
        event = AppointmentReminderDue(
            event_id=reminder_event_id(appointment.id, hours),
            occurred_at=now,
            appointment_id=appointment.id,
            patient_id=appointment.patient_id,
            patient=appointment.patient,
            doctor=appointment.doctor,
            clinic_id=appointment.clinic_id,
            starts_at=appointment.starts_at,
            hours_before=hours,
        )
        results.append(event_bus.publish(event, at=due))
    return results


def schedule_payment_deadline(
    event_bus: EventPublisher, appointment: Appointment, now: datetime, window: timedelta
) -> object:
    """Publish the auto-cancel of ``appointment``, due ``window`` after ``now``."""
    event = AppointmentPaymentDeadlinePassed(
        event_id=payment_deadline_event_id(appointment.id),
        occurred_at=now,
        appointment_id=appointment.id,
        clinic_id=appointment.clinic_id,
    )
    return event_bus.publish(event, at=now + window)


def schedule_timers(
    event_bus: EventPublisher,
    appointment: Appointment,
    now: datetime,
    window: timedelta = PAYMENT_WINDOW,
) -> list[object]:
    """The timers ``appointment`` needs in its status: reminders unless it is cancelled or
    over, the payment deadline while it is unpaid."""
    results: list[object] = []
    if appointment.status in (AppointmentStatus.PENDING, AppointmentStatus.CONFIRMED):
        results += schedule_reminders(event_bus, appointment, now)
    if appointment.status is AppointmentStatus.PENDING:
        results.append(schedule_payment_deadline(event_bus, appointment, now, window))
    return results


def cancel_payment_deadline(scheduler: EventScheduler, appointment_id: str) -> bool:
    """Call off the auto-cancel; False when it was not pending (fired, or never set)."""
    return scheduler.cancel(payment_deadline_event_id(appointment_id))


def cancel_reminders(scheduler: EventScheduler, appointment_id: str) -> int:
    """Call off the reminders still pending; returns how many were."""
    return sum(scheduler.cancel(reminder_event_id(appointment_id, h)) for h in REMINDER_HOURS)


def cancel_timers(scheduler: EventScheduler, appointment_id: str) -> int:
    """Call off every pending timer of the appointment; returns how many were pending."""
    return cancel_reminders(scheduler, appointment_id) + cancel_payment_deadline(
        scheduler, appointment_id
    )

"""An appointment's timers on virtual time: two reminders and the 30-minute auto-cancel.

Booking schedules them with ids derived from the appointment, paying cancels the auto-cancel,
cancelling cancels all three, and each handler leaves an appointment alone when its timer no
longer applies. Time passes with ``bus.advance``: no test sleeps.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from hexbus.examples.clinic.application.booking import (
    CancelUnpaidAppointment,
    Names,
    SendAppointmentReminder,
    appointment_created_event_id,
    payment_deadline_event_id,
    reminder_event_id,
)
from hexbus.examples.clinic.domain.booking import (
    Appointment,
    AppointmentCancelled,
    AppointmentCreated,
    AppointmentPaymentDeadlinePassed,
    AppointmentReminderDue,
    AppointmentStatus,
)
from hexbus.examples.clinic.domain.errors import AlreadyExists
from hexbus.ports import PublishOutcome

from .conftest import DOCTOR, NOW, PATIENT, Booking

IN_TWO_DAYS = NOW + timedelta(days=2)


def timers(booking: Booking, appointment_id: str = "apt-1") -> dict[str, object]:
    """The appointment's pending timers: ``{"24h": due, "1h": due, "deadline": due}``."""
    found: dict[str, object] = {}
    for due, event in booking.bus.scheduled:
        if isinstance(event, AppointmentReminderDue) and event.appointment_id == appointment_id:
            found[f"{event.hours_before}h"] = due
        elif (
            isinstance(event, AppointmentPaymentDeadlinePassed)
            and event.appointment_id == appointment_id
        ):
            found["deadline"] = due
    return found


def reminders_sent(booking: Booking, hours: int) -> list[str]:
    return [n.to for n in booking.sent.with_template(f"appointment_reminder_{hours}h")]


def book_again(booking: Booking, appointment: Appointment, **changes: object) -> Appointment:
    fields: dict[str, object] = {
        "appointment_id": appointment.id,
        "patient_id": appointment.patient_id,
        "patient": appointment.patient,
        "doctor_id": appointment.doctor_id,
        "doctor": appointment.doctor,
        "clinic_id": appointment.clinic_id,
        "starts_at": appointment.starts_at,
        "price": appointment.price,
        "currency": appointment.currency,
    }
    fields.update(changes)
    return booking.book(**fields)  # type: ignore[arg-type]


# --- booking sets the timers ------------------------------------------------------------------


def test_booking_schedules_both_reminders_and_the_auto_cancel(booking: Booking) -> None:
    booking.book_one("apt-1", starts_at=IN_TWO_DAYS)
    assert timers(booking) == {
        "24h": IN_TWO_DAYS - timedelta(hours=24),
        "1h": IN_TWO_DAYS - timedelta(hours=1),
        "deadline": NOW + timedelta(minutes=30),
    }


def test_the_timers_ids_derive_from_the_appointment(booking: Booking) -> None:
    booking.book_one("apt-1", starts_at=IN_TWO_DAYS)
    ids = {event.event_id for _, event in booking.bus.scheduled}
    assert ids == {
        reminder_event_id("apt-1", 24),
        reminder_event_id("apt-1", 1),
        payment_deadline_event_id("apt-1"),
    }
    assert booking.bus.assert_published(AppointmentCreated).event_id == (
        appointment_created_event_id("apt-1")
    )
    assert reminder_event_id("apt-1", 24) != reminder_event_id("apt-2", 24)


def test_a_reminder_whose_time_has_passed_is_skipped(booking: Booking) -> None:
    booking.book_one("apt-1", starts_at=NOW + timedelta(hours=5))
    assert set(timers(booking)) == {"1h", "deadline"}
    booking.book_one("apt-2", starts_at=NOW + timedelta(minutes=40))
    assert set(timers(booking, "apt-2")) == {"deadline"}


# --- reminders ---------------------------------------------------------------------------------


def test_the_24h_reminder_is_sent_when_virtual_time_reaches_it(booking: Booking) -> None:
    booking.book_one("apt-1", starts_at=IN_TWO_DAYS)
    booking.pay_for("apt-1")
    booking.bus.advance(timedelta(hours=23, minutes=59))
    assert reminders_sent(booking, 24) == []
    booking.bus.advance(timedelta(minutes=1))
    assert reminders_sent(booking, 24) == [PATIENT.email]
    (notification,) = booking.sent.with_template("appointment_reminder_24h")
    assert notification.key == f"{reminder_event_id('apt-1', 24)}:appointment_reminder_24h"
    assert DOCTOR.name in notification.body
    assert booking.bus.succeeded(Names.SEND_APPOINTMENT_REMINDER) == [
        reminder_event_id("apt-1", 24)
    ]


def test_both_reminders_go_out_at_their_times(booking: Booking) -> None:
    booking.book_one("apt-1", starts_at=IN_TWO_DAYS)
    booking.pay_for("apt-1")
    booking.bus.advance(timedelta(hours=46, minutes=59))
    assert (reminders_sent(booking, 24), reminders_sent(booking, 1)) == ([PATIENT.email], [])
    booking.bus.advance(timedelta(minutes=1))
    assert reminders_sent(booking, 1) == [PATIENT.email]
    assert timers(booking) == {}


def test_a_reminder_that_fires_for_a_cancelled_appointment_sends_nothing(
    booking: Booking,
) -> None:
    # As when the reminder was already on its way to a worker when the cancel came.
    booking.book_one("apt-1", starts_at=IN_TWO_DAYS)
    reminder = next(e for _, e in booking.bus.scheduled if isinstance(e, AppointmentReminderDue))
    booking.cancel("apt-1", reason="ill", by="patient")
    SendAppointmentReminder(booking.sent, booking.appointments)(reminder)
    assert booking.sent.with_template(f"appointment_reminder_{reminder.hours_before}h") == []


# --- paying and cancelling call the timers off -------------------------------------------------


def test_paying_cancels_the_auto_cancel(booking: Booking) -> None:
    booking.book_one("apt-1", starts_at=IN_TWO_DAYS)
    booking.bus.advance(timedelta(minutes=10))
    booking.pay_for("apt-1")
    assert "deadline" not in timers(booking)
    assert set(timers(booking)) == {"24h", "1h"}, "the reminders stay"
    booking.bus.advance(timedelta(hours=1))
    assert booking.appointments.get("apt-1").status is AppointmentStatus.CONFIRMED
    assert booking.bus.count(AppointmentPaymentDeadlinePassed) == 1, "published, never fired"
    assert booking.bus.succeeded(Names.CANCEL_UNPAID_APPOINTMENT) == []
    booking.bus.assert_not_published(AppointmentCancelled)


def test_an_unpaid_appointment_is_cancelled_by_the_system_after_30_minutes(
    booking: Booking,
) -> None:
    booking.book_one("apt-1", starts_at=IN_TWO_DAYS)
    booking.bus.advance(timedelta(minutes=29, seconds=59))
    assert booking.appointments.get("apt-1").status is AppointmentStatus.PENDING
    booking.bus.advance(timedelta(seconds=1))
    appointment = booking.appointments.get("apt-1")
    assert appointment.status is AppointmentStatus.CANCELLED
    assert (appointment.cancelled_by, appointment.cancellation_reason) == (
        "system",
        "not paid in time",
    )
    cancelled = booking.bus.assert_published(AppointmentCancelled, cancelled_by="system")
    assert cancelled.causation_id == payment_deadline_event_id("apt-1")
    assert cancelled.occurred_at == NOW + timedelta(minutes=30)
    assert len(booking.sent.with_template("cancellation_patient")) == 1
    assert len(booking.sent.with_template("cancellation_doctor")) == 1


def test_the_auto_cancel_cancels_the_reminders_so_none_fires(booking: Booking) -> None:
    booking.book_one("apt-1", starts_at=IN_TWO_DAYS)
    booking.bus.advance(timedelta(minutes=30))
    assert timers(booking) == {}
    booking.bus.advance(timedelta(days=3))
    assert reminders_sent(booking, 24) == reminders_sent(booking, 1) == []


def test_cancelling_cancels_both_reminders_and_the_auto_cancel(booking: Booking) -> None:
    booking.book_one("apt-1", starts_at=IN_TWO_DAYS)
    booking.cancel("apt-1", reason="patient is travelling", by="patient")
    assert timers(booking) == {}
    booking.bus.advance(timedelta(days=3))
    assert reminders_sent(booking, 24) == reminders_sent(booking, 1) == []
    assert booking.bus.succeeded(Names.CANCEL_UNPAID_APPOINTMENT) == []
    assert booking.bus.count(AppointmentCancelled) == 1, "only the patient's cancellation"


def test_cancelling_a_paid_appointment_cancels_its_reminders(booking: Booking) -> None:
    booking.book_one("apt-1", starts_at=IN_TWO_DAYS)
    booking.pay_for("apt-1")
    booking.bus.advance(timedelta(hours=30))
    assert reminders_sent(booking, 24) == [PATIENT.email]
    booking.cancel("apt-1", reason="clinic closed", by="clinic")
    booking.bus.advance(timedelta(days=1))
    assert reminders_sent(booking, 1) == []


# --- the auto-cancel handler is safe to run again ----------------------------------------------


def deadline_event(booking: Booking) -> AppointmentPaymentDeadlinePassed:
    return next(
        e for _, e in booking.bus.scheduled if isinstance(e, AppointmentPaymentDeadlinePassed)
    )


def auto_cancel(booking: Booking) -> CancelUnpaidAppointment:
    return CancelUnpaidAppointment(booking.appointments, booking.bus, booking.bus, booking.clock)


def test_the_auto_cancel_run_twice_cancels_and_announces_once(booking: Booking) -> None:
    booking.book_one("apt-1", starts_at=IN_TWO_DAYS)
    event = deadline_event(booking)
    handler = auto_cancel(booking)
    handler(event)
    handler(event)
    assert booking.appointments.get("apt-1").status is AppointmentStatus.CANCELLED
    assert booking.bus.count(AppointmentCancelled) == 1, "the second publish is a duplicate"


def test_the_auto_cancel_leaves_a_paid_appointment_alone(booking: Booking) -> None:
    # The deadline fired while the payment was on its way: whichever runs first wins.
    booking.book_one("apt-1", starts_at=IN_TWO_DAYS)
    event = deadline_event(booking)
    booking.pay_for("apt-1")
    auto_cancel(booking)(event)
    assert booking.appointments.get("apt-1").status is AppointmentStatus.CONFIRMED
    booking.bus.assert_not_published(AppointmentCancelled)


def test_the_auto_cancel_leaves_an_appointment_cancelled_by_the_patient_alone(
    booking: Booking,
) -> None:
    booking.book_one("apt-1", starts_at=IN_TWO_DAYS)
    event = deadline_event(booking)
    booking.cancel("apt-1", reason="ill", by="patient")
    auto_cancel(booking)(event)
    assert booking.appointments.get("apt-1").cancelled_by == "patient"
    assert booking.bus.count(AppointmentCancelled) == 1


# --- a booking retried is idempotent -----------------------------------------------------------


def test_booking_again_with_the_same_id_and_details_repeats_nothing(booking: Booking) -> None:
    first = booking.book_one("apt-1", starts_at=IN_TWO_DAYS)
    sent = len(booking.sent)
    booking.clock.sleep(5)
    again = book_again(booking, first)
    assert again == booking.appointments.get("apt-1")
    assert booking.bus.count(AppointmentCreated) == 1
    assert len(booking.bus.scheduled) == 3, "the same three timers, not six"
    assert len(booking.sent) == sent


def test_a_retry_publishes_what_a_crashed_booking_did_not(booking: Booking) -> None:
    # The first attempt stored the appointment and crashed before publishing anything.
    stored = Appointment(
        id="apt-1",
        patient_id="pat-1",
        patient=PATIENT,
        doctor_id="doc-1",
        doctor=DOCTOR,
        clinic_id="clinic-1",
        starts_at=IN_TWO_DAYS,
        price=Decimal("60.00"),
        currency="EUR",
    )
    booking.appointments.add(stored)
    book_again(booking, stored)
    booking.bus.assert_published(AppointmentCreated, appointment_id="apt-1")
    assert set(timers(booking)) == {"24h", "1h", "deadline"}
    assert len(booking.sent.with_template("appointment_confirmation")) == 1


def test_a_retry_of_a_paid_booking_sets_no_auto_cancel(booking: Booking) -> None:
    first = booking.book_one("apt-1", starts_at=IN_TWO_DAYS)
    booking.pay_for("apt-1")
    book_again(booking, first)
    assert set(timers(booking)) == {"24h", "1h"}


def test_a_retry_of_a_cancelled_booking_publishes_nothing(booking: Booking) -> None:
    first = booking.book_one("apt-1", starts_at=IN_TWO_DAYS)
    booking.cancel("apt-1", reason="ill", by="patient")
    published = booking.bus.count()
    assert book_again(booking, first).status is AppointmentStatus.CANCELLED
    assert booking.bus.count() == published
    assert timers(booking) == {}


def test_booking_a_taken_id_with_other_details_is_refused(booking: Booking) -> None:
    first = booking.book_one("apt-1", starts_at=IN_TWO_DAYS)
    with pytest.raises(AlreadyExists):
        book_again(booking, first, starts_at=IN_TWO_DAYS + timedelta(hours=1))
    assert booking.bus.count(AppointmentCreated) == 1


def test_a_duplicate_timer_publish_reports_a_duplicate(booking: Booking) -> None:
    booking.book_one("apt-1", starts_at=IN_TWO_DAYS)
    reminder = next(e for _, e in booking.bus.scheduled if isinstance(e, AppointmentReminderDue))
    result = booking.bus.publish(reminder, at=IN_TWO_DAYS)
    assert result.outcome is PublishOutcome.DUPLICATE

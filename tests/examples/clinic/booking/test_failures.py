"""Outages on the notifier: retries with backoff, dead letters, and retrying them.

A failing notification handler never holds back the other handlers of its event, and a
notification is delivered at most once per key whatever the retries.
"""

from __future__ import annotations

from datetime import timedelta

from hexbus import DeadLetterReason
from hexbus.examples.clinic.application.booking import NOTIFICATION_RETRY, Names
from hexbus.examples.clinic.domain.booking import AppointmentCreated, Contact
from hexbus.examples.clinic.ports import Channel

from .conftest import DOCTOR, NOW, Booking


def attempts(booking: Booking, handler: str) -> list[str]:
    return [run.outcome for run in booking.bus.runs if run.handler == handler]


def test_a_notification_that_fails_twice_is_retried_and_sent_once(booking: Booking) -> None:
    booking.notifier.fail_next(2)
    booking.book_one("apt-1")
    assert attempts(booking, Names.SEND_PATIENT_CONFIRMATION) == ["failed", "failed", "ok"]
    assert len(booking.sent.with_template("appointment_confirmation")) == 1
    # Backoff of 10 s then 20 s, of which the random 20% is 0 here: 8 s + 16 s.
    assert booking.clock.now() == NOW + timedelta(seconds=8 + 16)
    assert booking.bus.dead_letters.count() == 0


def test_a_channel_that_stays_down_exhausts_the_retries_into_a_dead_letter(
    booking: Booking,
) -> None:
    booking.notifier.take_down(Channel.SMS)
    booking.book_one("apt-1", patient=Contact(name="Carla", phone="+34611"))
    (dead,) = booking.bus.dead_letters.list().items
    assert dead.handler == Names.SEND_PATIENT_CONFIRMATION
    assert dead.reason is DeadLetterReason.RETRIES_EXHAUSTED
    assert dead.attempts == NOTIFICATION_RETRY.max_attempts == 5
    assert dead.queue == "notification"
    assert "sms provider is unavailable" in dead.error
    # The event's other handlers were not held back.
    assert len(booking.sent.with_template("appointment_whatsapp")) == 1
    assert len(booking.sent.with_template("doctor_new_appointment")) == 1


def test_a_dead_letter_retried_after_the_fix_sends_the_notification(booking: Booking) -> None:
    booking.notifier.take_down(Channel.SMS)
    booking.book_one("apt-1", patient=Contact(name="Carla", phone="+34611"))
    (dead,) = booking.bus.dead_letters.list().items
    booking.notifier.restore(Channel.SMS)
    booking.bus.dead_letters.retry(dead.id)
    assert booking.bus.dead_letters.count() == 0
    (sms,) = booking.sent.on(Channel.SMS)
    assert sms.key.endswith(":appointment_confirmation")
    assert booking.bus.count(AppointmentCreated) == 1, "the retry is no new event"
    assert len(booking.sent.with_template("doctor_new_appointment")) == 1, "others not rerun"


def test_an_invalid_recipient_is_dead_lettered_at_once(booking: Booking) -> None:
    assert DOCTOR.email is not None
    booking.notifier.reject(DOCTOR.email)
    booking.book_one("apt-1")
    (dead,) = booking.bus.dead_letters.list().items
    assert dead.handler == Names.NOTIFY_DOCTOR
    assert dead.reason is DeadLetterReason.NON_RETRYABLE
    assert dead.attempts == 1
    assert dead.error_type.endswith("InvalidRecipient")
    assert attempts(booking, Names.NOTIFY_DOCTOR) == ["failed"]
    assert booking.clock.now() == NOW, "no backoff was waited"


def test_a_doctor_failure_does_not_hold_back_the_patients_cancellation(
    booking: Booking,
) -> None:
    booking.book_one("apt-1")
    assert DOCTOR.email is not None
    booking.notifier.reject(DOCTOR.email)
    booking.cancel("apt-1", reason="clinic closed", by="clinic")
    assert len(booking.sent.with_template("cancellation_patient")) == 1
    assert booking.sent.with_template("cancellation_doctor") == []
    (dead,) = booking.bus.dead_letters.list().items
    assert dead.handler == Names.NOTIFY_DOCTOR_OF_CANCELLATION


def test_the_publisher_never_sees_a_handlers_error(booking: Booking) -> None:
    booking.notifier.take_down(Channel.EMAIL)
    appointment = booking.book_one("apt-1")  # no exception, though every email fails
    assert booking.appointments.get(appointment.id) == appointment
    assert booking.bus.dead_letters.count() == 2  # patient confirmation and doctor

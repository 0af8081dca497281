"""Checking in, and the no-show check that ticks every 30 minutes on virtual time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from hexbus.application.recurring import tick_event_id
from hexbus.examples.clinic.application.booking import (
    NO_SHOW_CHECK,
    Names,
    checked_in_event_id,
    no_show_event_id,
)
from hexbus.examples.clinic.domain.booking import (
    Appointment,
    AppointmentNoShow,
    AppointmentStatus,
    Contact,
    NoShowCheckDue,
    PatientCheckedIn,
)
from hexbus.examples.clinic.domain.errors import InvalidTransition

from .conftest import NOW, PATIENT, Booking

STARTS = NOW + timedelta(hours=2)  # 11:00


def paid(booking: Booking, appointment_id: str = "apt-1", starts_at: datetime = STARTS) -> None:
    booking.book_one(appointment_id, starts_at=starts_at)
    booking.pay_for(appointment_id, f"txn-{appointment_id}")


def appointment() -> Appointment:
    return Appointment(
        id="apt-1",
        patient_id="pat-1",
        patient=Contact(name="Ana", email="ana@example.com"),
        doctor_id="doc-1",
        doctor=Contact(name="Dr. Ruiz", email="ruiz@clinic.example"),
        clinic_id="clinic-1",
        starts_at=datetime(2026, 3, 3, 10, 0, tzinfo=UTC),
        price=Decimal("60.00"),
        currency="EUR",
    )


# --- the entity's rules ------------------------------------------------------------------------


def test_a_paid_appointment_checks_in_once() -> None:
    confirmed = appointment()
    confirmed.confirm("txn-1")
    assert confirmed.check_in(NOW) is True
    assert (confirmed.status, confirmed.checked_in_at) == (AppointmentStatus.ATTENDED, NOW)
    assert confirmed.check_in(NOW + timedelta(minutes=1)) is False
    assert confirmed.checked_in_at == NOW


def test_an_unpaid_appointment_cannot_check_in() -> None:
    with pytest.raises(InvalidTransition, match="it is not paid"):
        appointment().check_in(NOW)


def test_only_a_confirmed_appointment_becomes_a_no_show() -> None:
    pending = appointment()
    with pytest.raises(InvalidTransition):
        pending.mark_no_show()
    pending.confirm("txn-1")
    assert pending.mark_no_show() is True
    assert pending.mark_no_show() is False
    assert pending.status is AppointmentStatus.NO_SHOW


def test_an_appointment_that_is_over_cannot_be_cancelled_but_stays_paid() -> None:
    attended = appointment()
    attended.confirm("txn-1")
    attended.check_in(NOW)
    with pytest.raises(InvalidTransition, match="it is over"):
        attended.cancel("too late", "patient")
    assert attended.confirm("txn-1") is False, "the same payment is still a harmless repeat"
    with pytest.raises(InvalidTransition, match="already paid"):
        attended.confirm("txn-2")


# --- the use case ------------------------------------------------------------------------------


def test_checking_in_publishes_patient_checked_in_once(booking: Booking) -> None:
    paid(booking)
    booking.check_in("apt-1")
    booking.check_in("apt-1")
    assert booking.appointments.get("apt-1").status is AppointmentStatus.ATTENDED
    assert booking.bus.count(PatientCheckedIn) == 1
    assert booking.bus.assert_published(PatientCheckedIn).event_id == checked_in_event_id("apt-1")


# --- the no-show check -------------------------------------------------------------------------


def test_the_no_show_check_ticks_every_30_minutes(booking: Booking) -> None:
    booking.bus.advance(timedelta(hours=2))
    ticks = booking.bus.events_of_type(NoShowCheckDue)
    assert [t.occurred_at for t in ticks] == [NOW + timedelta(minutes=30 * i) for i in (1, 2, 3, 4)]
    assert [t.event_id for t in ticks] == [
        tick_event_id(NO_SHOW_CHECK, t.occurred_at) for t in ticks
    ]


def test_a_paid_appointment_nobody_checked_in_for_becomes_a_no_show(booking: Booking) -> None:
    paid(booking)
    booking.bus.advance(STARTS + timedelta(minutes=14) - NOW)
    assert booking.appointments.get("apt-1").status is AppointmentStatus.CONFIRMED
    booking.bus.advance(timedelta(minutes=16))  # the 11:30 tick, 30 minutes after the start
    assert booking.appointments.get("apt-1").status is AppointmentStatus.NO_SHOW
    no_show = booking.bus.assert_published(AppointmentNoShow, appointment_id="apt-1")
    assert no_show.event_id == no_show_event_id("apt-1")
    assert no_show.occurred_at == STARTS + timedelta(minutes=30)
    (message,) = booking.sent.with_template("no_show")
    assert message.to == PATIENT.email


def test_later_checks_announce_a_no_show_once(booking: Booking) -> None:
    paid(booking)
    booking.bus.advance(timedelta(hours=6))
    assert booking.bus.count(AppointmentNoShow) == 1
    assert len(booking.sent.with_template("no_show")) == 1


def test_a_patient_who_checked_in_is_no_no_show(booking: Booking) -> None:
    paid(booking)
    booking.bus.advance(STARTS - NOW)
    booking.check_in("apt-1")
    booking.bus.advance(timedelta(hours=2))
    assert booking.appointments.get("apt-1").status is AppointmentStatus.ATTENDED
    booking.bus.assert_not_published(AppointmentNoShow)


def test_unpaid_and_cancelled_appointments_are_no_no_shows(booking: Booking) -> None:
    paid(booking, "apt-paid")
    booking.book_one("apt-cancelled", starts_at=STARTS)
    booking.cancel("apt-cancelled", reason="ill", by="patient")
    booking.bus.advance(timedelta(hours=3))
    assert [e.appointment_id for e in booking.bus.events_of_type(AppointmentNoShow)] == ["apt-paid"]


def test_the_check_runs_on_the_appointment_queue(booking: Booking) -> None:
    spec = booking.bus.processor.get(Names.MARK_NO_SHOWS)
    assert (spec.event_type, spec.queue) == ("appointment.no_show_check_due", "appointment")

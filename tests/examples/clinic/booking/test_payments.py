"""The payment webhook is processed once per transaction id, however often it arrives.

The transaction id derives the event id, so a repeated webhook publishes a duplicate that runs
nothing; and the handlers themselves are safe to run again, for the redeliveries the bus may
make.
"""

from __future__ import annotations

from uuid import uuid5

import pytest

from hexbus import DeadLetterReason, PublishOutcome
from hexbus.examples.clinic.application.booking import (
    NAMESPACE,
    ConfirmAppointment,
    Names,
    SendReceipt,
    caused_event_id,
    payment_event_id,
)
from hexbus.examples.clinic.domain.booking import (
    AppointmentConfirmed,
    AppointmentStatus,
    PaymentSucceeded,
)
from hexbus.examples.clinic.domain.errors import AppointmentNotFound

from .conftest import PATIENT, Booking


def test_a_payment_sends_a_receipt_and_confirms_the_appointment(booking: Booking) -> None:
    booking.book_one("apt-1")
    result = booking.pay_for("apt-1", "txn-1")
    assert result.outcome is PublishOutcome.ACCEPTED
    assert booking.appointments.get("apt-1").status is AppointmentStatus.CONFIRMED
    assert booking.appointments.get("apt-1").payment_id == "txn-1"
    receipt = booking.sent.get(f"{result.event_id}:payment_receipt")
    assert receipt.to == PATIENT.email
    assert "EUR 60.00" in receipt.body


def test_confirming_publishes_appointment_confirmed_caused_by_the_payment(
    booking: Booking,
) -> None:
    booking.book_one("apt-1")
    payment_id = booking.pay_for("apt-1", "txn-1").event_id
    confirmed = booking.bus.assert_published(
        AppointmentConfirmed, appointment_id="apt-1", payment_id="txn-1"
    )
    assert confirmed.causation_id == payment_id
    assert confirmed.correlation_id == payment_id
    assert confirmed.event_id == caused_event_id(
        booking.bus.event(payment_id), "appointment.confirmed"
    )


def test_the_transaction_id_derives_the_event_id() -> None:
    assert payment_event_id("txn-1") == uuid5(NAMESPACE, "payment:txn-1")
    assert payment_event_id("txn-1") == payment_event_id("txn-1")
    assert payment_event_id("txn-1") != payment_event_id("txn-2")


def test_a_webhook_delivered_twice_is_processed_once(booking: Booking) -> None:
    booking.book_one("apt-1")
    first = booking.pay_for("apt-1", "txn-1")
    booking.clock.sleep(30)
    second = booking.pay_for("apt-1", "txn-1")
    assert second.outcome is PublishOutcome.DUPLICATE
    assert second.event_id == first.event_id == payment_event_id("txn-1")
    assert booking.bus.count(PaymentSucceeded) == 1
    assert booking.bus.count(AppointmentConfirmed) == 1
    assert len(booking.sent.with_template("payment_receipt")) == 1
    assert booking.sent.duplicates == 0, "the duplicate never reached a handler"
    assert booking.bus.succeeded(Names.SEND_RECEIPT) == [first.event_id]
    assert booking.bus.succeeded(Names.CONFIRM_APPOINTMENT) == [first.event_id]


def test_a_redelivered_payment_skips_the_handlers_that_succeeded(booking: Booking) -> None:
    booking.book_one("apt-1")
    event = booking.bus.event(booking.pay_for("apt-1", "txn-1").event_id)
    booking.bus.redeliver(event)
    skipped = {r.handler for r in booking.bus.runs if r.outcome == "skipped"}
    assert skipped == {Names.SEND_RECEIPT, Names.CONFIRM_APPOINTMENT}


def test_confirm_appointment_run_twice_for_one_payment_confirms_once(booking: Booking) -> None:
    # As after a crash between saving and recording the handler's success.
    booking.book_one("apt-1")
    event = PaymentSucceeded(
        event_id=payment_event_id("txn-1"),
        payment_id="txn-1",
        appointment_id="apt-1",
        amount=booking.appointments.get("apt-1").price,
        currency="EUR",
        provider="stripe",
    )
    handler = ConfirmAppointment(booking.appointments, booking.bus, booking.clock)
    handler(event)
    handler(event)
    assert booking.appointments.get("apt-1").status is AppointmentStatus.CONFIRMED
    assert booking.bus.count(AppointmentConfirmed) == 1, "the second publish is a duplicate"


def test_a_receipt_sent_twice_reaches_the_patient_once(booking: Booking) -> None:
    booking.book_one("apt-1")
    payment = booking.bus.event(booking.pay_for("apt-1", "txn-1").event_id)
    assert isinstance(payment, PaymentSucceeded)
    SendReceipt(booking.sent, booking.appointments)(payment)  # the handler runs again
    assert len(booking.sent.with_template("payment_receipt")) == 1
    assert booking.sent.duplicates == 1


def test_a_webhook_for_an_unknown_appointment_raises_and_publishes_nothing(
    booking: Booking,
) -> None:
    with pytest.raises(AppointmentNotFound):
        booking.pay_for("apt-404", "txn-1")
    assert booking.bus.published == ()


def test_a_payment_for_a_cancelled_appointment_is_dead_lettered_for_a_refund(
    booking: Booking,
) -> None:
    booking.book_one("apt-1")
    booking.cancel("apt-1", reason="patient is travelling", by="patient")
    booking.pay_for("apt-1", "txn-1")
    (dead,) = booking.bus.dead_letters.list().items
    assert dead.handler == Names.CONFIRM_APPOINTMENT
    assert dead.reason is DeadLetterReason.NON_RETRYABLE
    assert dead.attempts == 1
    assert "needs a refund" in dead.error
    assert booking.appointments.get("apt-1").status is AppointmentStatus.CANCELLED
    assert len(booking.sent.with_template("payment_receipt")) == 1, "the money did arrive"

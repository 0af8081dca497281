"""What ``register_booking_handlers`` promises every process: names, queues, retries, limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
import pytest

from hexbus import HandlerRegistrationError
from hexbus.adapters.clocks import VirtualClock
from hexbus.adapters.in_memory import InMemoryEventBus
from hexbus.application import DomainEventsProcessor
from hexbus.examples.clinic.adapters import InMemoryAppointmentRepository
from hexbus.examples.clinic.adapters.notifiers import RecordingNotifier
from hexbus.examples.clinic.application.booking import Names, register_booking_handlers
from hexbus.examples.clinic.domain.booking import AppointmentCreated, Contact
from hexbus.examples.clinic.domain.errors import (
    AppointmentNotFound,
    InvalidRecipient,
    InvalidTransition,
)

EXPECTED = {
    Names.SEND_PATIENT_CONFIRMATION: ("appointment.created", "notification"),
    Names.SEND_PATIENT_WHATSAPP: ("appointment.created", "notification"),
    Names.NOTIFY_DOCTOR: ("appointment.created", "notification"),
    Names.NOTIFY_PATIENT_OF_CANCELLATION: ("appointment.cancelled", "notification"),
    Names.NOTIFY_DOCTOR_OF_CANCELLATION: ("appointment.cancelled", "notification"),
    Names.SEND_RECEIPT: ("payment.succeeded", "notification"),
    Names.CONFIRM_APPOINTMENT: ("payment.succeeded", "appointment"),
    Names.SEND_INVOICE: ("invoice.issued", "notification"),
    Names.SEND_APPOINTMENT_REMINDER: ("appointment.reminder_due", "notification"),
    Names.CANCEL_UNPAID_APPOINTMENT: ("appointment.payment_deadline_passed", "appointment"),
    Names.MARK_NO_SHOWS: ("appointment.no_show_check_due", "appointment"),
    Names.NOTIFY_NO_SHOW: ("appointment.no_show", "notification"),
}


@pytest.fixture
def processor() -> DomainEventsProcessor:
    processor = DomainEventsProcessor()
    clock = VirtualClock()
    bus = InMemoryEventBus(processor, clock=clock)
    register_booking_handlers(
        processor,
        notifier=RecordingNotifier(),
        appointments=InMemoryAppointmentRepository(),
        event_bus=bus,
        scheduler=bus,
        clock=clock,
    )
    return processor


def test_every_handler_is_registered_under_its_stable_name_and_queue(
    processor: DomainEventsProcessor,
) -> None:
    registered = {spec.name: (spec.event_type, spec.queue) for spec in processor}
    assert registered == EXPECTED
    assert all(name.startswith("booking.") for name in registered)


def test_notification_handlers_never_retry_an_invalid_recipient(
    processor: DomainEventsProcessor,
) -> None:
    for spec in processor:
        if spec.queue == "notification":
            assert InvalidRecipient in spec.retry.non_retryable, spec.name
            assert not spec.retry.is_retryable(InvalidRecipient("x"))
            assert spec.timeout == timedelta(seconds=30)


def test_confirming_never_retries_a_broken_rule(processor: DomainEventsProcessor) -> None:
    spec = processor.get(Names.CONFIRM_APPOINTMENT)
    assert not spec.retry.is_retryable(InvalidTransition("apt-1", "cancelled", "confirm"))
    assert not spec.retry.is_retryable(AppointmentNotFound("apt-1"))
    assert spec.retry.is_retryable(RuntimeError("storage hiccup"))


def test_whatsapp_is_limited_to_ten_a_minute_per_clinic(processor: DomainEventsProcessor) -> None:
    limited = [spec for spec in processor if spec.rate_limit is not None]
    assert [spec.name for spec in limited] == [Names.SEND_PATIENT_WHATSAPP]
    limit = limited[0].rate_limit
    assert limit is not None
    assert (limit.name, limit.limit, limit.period) == ("whatsapp", 10, timedelta(minutes=1))
    event = AppointmentCreated(
        appointment_id="apt-1",
        patient_id="pat-1",
        patient=Contact(name="Ana", phone="+34600"),
        doctor_id="doc-1",
        doctor=Contact(name="Dr. Ruiz", email="ruiz@clinic.example"),
        clinic_id="clinic-7",
        starts_at=datetime(2026, 3, 3, 10, tzinfo=UTC),
        price=Decimal("60"),
        currency="EUR",
    )
    bucket = limit.bucket_for(event)
    assert bucket.startswith("whatsapp:")
    assert "clinic-7" not in bucket, "the key's value is hashed: it names a Redis key"
    assert bucket == limit.bucket_for(attrs.evolve(event, appointment_id="apt-2")), "per clinic"
    assert bucket != limit.bucket_for(attrs.evolve(event, clinic_id="clinic-8"))


def test_registering_twice_on_one_processor_is_refused(processor: DomainEventsProcessor) -> None:
    clock = VirtualClock()
    bus = InMemoryEventBus(processor, clock=clock)
    with pytest.raises(HandlerRegistrationError, match="already registered"):
        register_booking_handlers(
            processor,
            notifier=RecordingNotifier(),
            appointments=InMemoryAppointmentRepository(),
            event_bus=bus,
            scheduler=bus,
            clock=clock,
        )

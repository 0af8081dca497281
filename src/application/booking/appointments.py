"""Use cases that change appointments on a person's request: booking and cancelling.

Each one changes the entity, builds the event (which validates every field) before storing
anything, stores the change and publishes the event; what happens next (notifications, and
later reminders) belongs to handlers, so these stay the same whichever bus carries the events.

Storing and publishing are two steps: a crash between them stores an appointment nobody is
told about. A database-backed repository would close that gap with an outbox written in the
same transaction; the in-memory one has nothing to crash between.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from uuid import uuid4

from ...domain.booking.appointment import Appointment, Canceller
from ...domain.booking.events import AppointmentCancelled, AppointmentCreated, Contact
from ...ports.clock import Clock
from ...ports.event_bus import EventBus
from ...ports.repositories import AppointmentRepository


def new_appointment_id() -> str:
    """A fresh appointment id, ``apt-`` and 12 hex digits."""
    return f"apt-{uuid4().hex[:12]}"


class BookAppointment:
    """Book a PENDING appointment and publish :class:`AppointmentCreated`."""

    def __init__(
        self,
        appointments: AppointmentRepository,
        event_bus: EventBus,
        clock: Clock,
        new_id: Callable[[], str] = new_appointment_id,
    ) -> None:
        self.appointments = appointments
        self.event_bus = event_bus
        self.clock = clock
        self.new_id = new_id

    def __call__(
        self,
        *,
        patient_id: str,
        patient: Contact,
        doctor_id: str,
        doctor: Contact,
        clinic_id: str,
        starts_at: datetime,
        price: Decimal,
        currency: str,
        appointment_id: str | None = None,
    ) -> Appointment:
        """The booked appointment; raises :class:`InvalidEvent` for a bad field and
        :class:`AlreadyExists` for an ``appointment_id`` already booked."""
        appointment = Appointment(
            id=appointment_id or self.new_id(),
            patient_id=patient_id,
            patient=patient,
            doctor_id=doctor_id,
            doctor=doctor,
            clinic_id=clinic_id,
            starts_at=starts_at,
            price=price,
            currency=currency,
        )
        event = AppointmentCreated(
            occurred_at=self.clock.now(),
            appointment_id=appointment.id,
            patient_id=patient_id,
            patient=patient,
            doctor_id=doctor_id,
            doctor=doctor,
            clinic_id=clinic_id,
            starts_at=starts_at,
            price=price,
            currency=currency,
        )
        self.appointments.add(appointment)
        self.event_bus.publish(event)
        return appointment


class CancelAppointment:
    """Cancel an appointment and publish :class:`AppointmentCancelled`."""

    def __init__(
        self, appointments: AppointmentRepository, event_bus: EventBus, clock: Clock
    ) -> None:
        self.appointments = appointments
        self.event_bus = event_bus
        self.clock = clock

    def __call__(self, appointment_id: str, *, reason: str, by: Canceller) -> Appointment:
        """The cancelled appointment; raises :class:`AppointmentNotFound`, or
        :class:`InvalidTransition` when it is already cancelled."""
        appointment = self.appointments.get(appointment_id)
        appointment.cancel(reason, by)
        event = AppointmentCancelled(
            occurred_at=self.clock.now(),
            appointment_id=appointment.id,
            patient_id=appointment.patient_id,
            patient=appointment.patient,
            doctor_id=appointment.doctor_id,
            doctor=appointment.doctor,
            clinic_id=appointment.clinic_id,
            starts_at=appointment.starts_at,
            reason=reason,
            cancelled_by=by,
        )
        self.appointments.save(appointment)
        self.event_bus.publish(event)
        return appointment

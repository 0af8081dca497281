"""Use cases that change appointments on a person's request: booking, cancelling, checking in.

Each one changes the entity, builds the event (which validates every field) before storing
anything, stores the change and publishes the event; what happens next (notifications) belongs
to handlers, so these stay the same whichever bus carries the events. Booking also sets the
appointment's timers and cancelling calls them off (:mod:`.timers`).

Given a unit of work (the container always gives one), storing and publishing are one
transaction: on PostgreSQL the events are written to the outbox with the appointment and
relayed after the commit, so a crash loses neither and a failure announces nothing (ADR
0020). Without one they are two steps, and a crash between them stores an appointment nobody
is told about; then the gap closes by retrying: every event of a booking has an id derived
from the appointment id, so booking again with the same ``appointment_id`` and details
publishes what was missing and repeats nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

from .....ports.clock import Clock
from .....ports.event_bus import EventBus, EventScheduler
from .....ports.unit_of_work import UnitOfWork
from ...domain.booking.appointment import Appointment, AppointmentStatus, Canceller
from ...domain.booking.events import (
    AppointmentCancelled,
    AppointmentCreated,
    Contact,
    PatientCheckedIn,
)
from ...domain.errors import AlreadyExists
from ...ports.repositories import AppointmentRepository
from ..transactions import transaction
from .event_ids import appointment_created_event_id, checked_in_event_id
from .timers import PAYMENT_WINDOW, cancel_timers, schedule_timers


def new_appointment_id() -> str:
    """A fresh appointment id, ``apt-`` and 12 hex digits."""
    return f"apt-{uuid4().hex[:12]}"


def cancellation_event(
    appointment: Appointment,
    at: datetime,
    *,
    event_id: UUID | None = None,
    correlation_id: UUID | None = None,
    causation_id: UUID | None = None,
) -> AppointmentCancelled:
    """The :class:`AppointmentCancelled` of an appointment just cancelled."""
    assert appointment.cancellation_reason is not None
    assert appointment.cancelled_by is not None
    return AppointmentCancelled(
        event_id=event_id or uuid4(),
        occurred_at=at,
        correlation_id=correlation_id,
        causation_id=causation_id,
        appointment_id=appointment.id,
        patient_id=appointment.patient_id,
        patient=appointment.patient,
        doctor_id=appointment.doctor_id,
        doctor=appointment.doctor,
        clinic_id=appointment.clinic_id,
        starts_at=appointment.starts_at,
        reason=appointment.cancellation_reason,
        cancelled_by=appointment.cancelled_by,
    )


class BookAppointment:
    """Book a PENDING appointment, publish :class:`AppointmentCreated`, set its timers.

    The timers: reminders 24 h and 1 h before ``starts_at`` (those already past are skipped)
    and the payment deadline ``payment_window`` after booking (30 minutes).
    """

    def __init__(
        self,
        appointments: AppointmentRepository,
        event_bus: EventBus,
        clock: Clock,
        new_id: Callable[[], str] = new_appointment_id,
        payment_window: timedelta = PAYMENT_WINDOW,
        *,
        unit_of_work: UnitOfWork | None = None,
    ) -> None:
        self.appointments = appointments
        self.event_bus = event_bus
        self.clock = clock
        self.new_id = new_id
        self.payment_window = payment_window
        self.unit_of_work = unit_of_work

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
        :class:`AlreadyExists` for an ``appointment_id`` already booked with other details.

        Booking again with the same ``appointment_id`` and details is a retry: it returns the
        stored appointment and publishes only what the first attempt did not.
        """
        now = self.clock.now()
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
            event_id=appointment_created_event_id(appointment.id),
            occurred_at=now,
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
        with transaction(self.unit_of_work, self.event_bus) as outgoing:
            try:
                self.appointments.add(appointment)
            except AlreadyExists:
                stored = self.appointments.get(appointment.id)
                if not stored.same_booking(appointment):
                    raise
                appointment = stored  # a retry: announce it again as it is now
            if appointment.status is AppointmentStatus.CANCELLED:
                return appointment  # retried after it was called off: nothing left to announce
            outgoing.publish(event)
            schedule_timers(outgoing, appointment, now, self.payment_window)
        return appointment


class CancelAppointment:
    """Cancel an appointment, call off its timers, publish :class:`AppointmentCancelled`."""

    def __init__(
        self,
        appointments: AppointmentRepository,
        event_bus: EventBus,
        clock: Clock,
        *,
        scheduler: EventScheduler,
        unit_of_work: UnitOfWork | None = None,
    ) -> None:
        self.appointments = appointments
        self.event_bus = event_bus
        self.clock = clock
        self.scheduler = scheduler
        self.unit_of_work = unit_of_work

    def __call__(self, appointment_id: str, *, reason: str, by: Canceller) -> Appointment:
        """The cancelled appointment; raises :class:`AppointmentNotFound`, or
        :class:`InvalidTransition` when it is already cancelled or over."""
        with transaction(self.unit_of_work, self.event_bus) as outgoing:
            appointment = self.appointments.get(appointment_id)
            appointment.cancel(reason, by)
            event = cancellation_event(appointment, self.clock.now())
            self.appointments.save(appointment)
            # Before publishing: once the patient hears it is off, no reminder may follow.
            cancel_timers(self.scheduler, appointment.id)
            outgoing.publish(event)
        return appointment


class CheckInPatient:
    """The patient arrived: the paid appointment becomes ATTENDED (:class:`PatientCheckedIn`)."""

    def __init__(
        self,
        appointments: AppointmentRepository,
        event_bus: EventBus,
        clock: Clock,
        *,
        unit_of_work: UnitOfWork | None = None,
    ) -> None:
        self.appointments = appointments
        self.event_bus = event_bus
        self.clock = clock
        self.unit_of_work = unit_of_work

    def __call__(self, appointment_id: str) -> Appointment:
        """The attended appointment; checking in twice is harmless. Raises
        :class:`AppointmentNotFound`, or :class:`InvalidTransition` when it is not paid,
        cancelled or already marked a no-show."""
        with transaction(self.unit_of_work, self.event_bus) as outgoing:
            appointment = self.appointments.get(appointment_id)
            now = self.clock.now()
            if appointment.check_in(now):
                self.appointments.save(appointment)
            # Published every time, under an id derived from the appointment: a check-in
            # retried after a crash between saving and publishing announces it once.
            outgoing.publish(
                PatientCheckedIn(
                    event_id=checked_in_event_id(appointment.id),
                    occurred_at=appointment.checked_in_at or now,
                    appointment_id=appointment.id,
                    clinic_id=appointment.clinic_id,
                )
            )
        return appointment

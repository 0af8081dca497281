"""Events of the clinic's booking: appointments, payments, invoices and their timers.

They carry what the source documents' flows need downstream: who to notify (the contact is in
the event, so a notification handler needs no lookup that could disagree with what was booked),
when the appointment is, and money as Decimal with its currency. Their ``event_type`` names are
the wire contract: ``<context>.<past-tense fact>``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Final

import attrs

from .....domain.errors import InvalidEvent
from .....domain.events import DomainEvent
from .....domain.validation import (
    aware_datetime,
    currency_code,
    non_empty_text,
    one_of,
    positive_amount,
    positive_int,
)

REMINDER_HOURS: Final = (24, 1)
"""How many hours before an appointment its reminders go out."""


@attrs.frozen(kw_only=True)
class Contact:
    """How to reach a person; at least one channel is given."""

    name: str = attrs.field(validator=non_empty_text)
    email: str | None = None
    phone: str | None = None

    def __attrs_post_init__(self) -> None:
        if not (self.email or self.phone):
            raise ValueError(f"contact {self.name!r} needs an email or a phone number")


@attrs.frozen(kw_only=True)
class InvoiceLine:
    """One billed item of an invoice."""

    description: str = attrs.field(validator=non_empty_text)
    quantity: int = attrs.field(validator=positive_int)
    unit_price: Decimal = attrs.field(validator=positive_amount)

    @property
    def total(self) -> Decimal:
        """quantity x unit price."""
        return self.unit_price * self.quantity


def _lines(value: Iterable[InvoiceLine]) -> tuple[InvoiceLine, ...]:
    # A typed converter: with a bare ``converter=tuple`` mypy cannot tell what the generated
    # __init__ accepts and rejects every call that passes lines.
    return tuple(value)


@attrs.frozen(kw_only=True)
class AppointmentCreated(DomainEvent):
    """A patient booked an appointment; it stays PENDING until paid."""

    event_type = "appointment.created"

    appointment_id: str = attrs.field(validator=non_empty_text)
    patient_id: str = attrs.field(validator=non_empty_text)
    patient: Contact
    doctor_id: str = attrs.field(validator=non_empty_text)
    doctor: Contact
    clinic_id: str = attrs.field(validator=non_empty_text)
    starts_at: datetime = attrs.field(validator=aware_datetime)
    price: Decimal = attrs.field(validator=positive_amount)
    currency: str = attrs.field(validator=currency_code)


@attrs.frozen(kw_only=True)
class AppointmentConfirmed(DomainEvent):
    """A PENDING appointment was paid and is now CONFIRMED."""

    event_type = "appointment.confirmed"

    appointment_id: str = attrs.field(validator=non_empty_text)
    payment_id: str = attrs.field(validator=non_empty_text)


@attrs.frozen(kw_only=True)
class AppointmentCancelled(DomainEvent):
    """An appointment was cancelled, by the patient, the clinic or the system (unpaid)."""

    event_type = "appointment.cancelled"

    appointment_id: str = attrs.field(validator=non_empty_text)
    patient_id: str = attrs.field(validator=non_empty_text)
    patient: Contact
    doctor_id: str = attrs.field(validator=non_empty_text)
    doctor: Contact
    clinic_id: str = attrs.field(validator=non_empty_text)
    starts_at: datetime = attrs.field(validator=aware_datetime)
    reason: str = attrs.field(validator=non_empty_text)
    cancelled_by: str = attrs.field(validator=one_of("patient", "clinic", "system"))


@attrs.frozen(kw_only=True)
class PaymentSucceeded(DomainEvent):
    """The payment provider confirmed a payment for an appointment.

    ``payment_id`` is the provider's transaction id; the webhook use case derives the event_id
    from it, so a webhook delivered twice publishes the same event twice and runs once.
    """

    event_type = "payment.succeeded"

    payment_id: str = attrs.field(validator=non_empty_text)
    appointment_id: str = attrs.field(validator=non_empty_text)
    amount: Decimal = attrs.field(validator=positive_amount)
    currency: str = attrs.field(validator=currency_code)
    provider: str = attrs.field(validator=non_empty_text)


@attrs.frozen(kw_only=True)
class InvoiceIssued(DomainEvent):
    """An invoice was issued to a patient."""

    event_type = "invoice.issued"

    invoice_id: str = attrs.field(validator=non_empty_text)
    patient_id: str = attrs.field(validator=non_empty_text)
    patient: Contact
    appointment_id: str | None = None
    lines: tuple[InvoiceLine, ...] = attrs.field(converter=_lines)
    currency: str = attrs.field(validator=currency_code)
    due_on: date

    @lines.validator
    def _has_lines(
        self, attribute: attrs.Attribute[object], value: tuple[InvoiceLine, ...]
    ) -> None:
        if not value:
            raise InvalidEvent(self.event_type, attribute.name, "needs at least one line")

    @property
    def total(self) -> Decimal:
        """The sum of the lines."""
        return sum((line.total for line in self.lines), Decimal(0))


@attrs.frozen(kw_only=True)
class PatientCheckedIn(DomainEvent):
    """The patient arrived for a paid appointment, which is now ATTENDED."""

    event_type = "appointment.checked_in"

    appointment_id: str = attrs.field(validator=non_empty_text)
    clinic_id: str = attrs.field(validator=non_empty_text)


# --- timers: published with a due time when an appointment is booked --------------------------


@attrs.frozen(kw_only=True)
class AppointmentReminderDue(DomainEvent):
    """Time to remind the patient: ``hours_before`` (24 or 1) hours before ``starts_at``.

    Published when the appointment is booked, due at ``starts_at - hours_before``, with an id
    derived from the appointment (so cancelling the appointment finds it without storing it).
    The contacts are those booked, as in :class:`AppointmentCreated`.
    """

    event_type = "appointment.reminder_due"

    appointment_id: str = attrs.field(validator=non_empty_text)
    patient_id: str = attrs.field(validator=non_empty_text)
    patient: Contact
    doctor: Contact
    clinic_id: str = attrs.field(validator=non_empty_text)
    starts_at: datetime = attrs.field(validator=aware_datetime)
    hours_before: int = attrs.field(validator=one_of(*REMINDER_HOURS))


@attrs.frozen(kw_only=True)
class AppointmentPaymentDeadlinePassed(DomainEvent):
    """A booked appointment's time to pay ran out; if it is still unpaid it is cancelled.

    Published when the appointment is booked, due 30 minutes later; paying cancels it.
    """

    event_type = "appointment.payment_deadline_passed"

    appointment_id: str = attrs.field(validator=non_empty_text)
    clinic_id: str = attrs.field(validator=non_empty_text)


# --- recurring checks and what they find --------------------------------------------------------


@attrs.frozen(kw_only=True)
class NoShowCheckDue(DomainEvent):
    """A tick of the no-show check (every 30 minutes): look for patients who never came.

    ``occurred_at`` is the tick's time, which the check measures from (not the clock when a
    worker gets round to it).
    """

    event_type = "appointment.no_show_check_due"


@attrs.frozen(kw_only=True)
class AppointmentNoShow(DomainEvent):
    """A paid appointment started and the patient never checked in."""

    event_type = "appointment.no_show"

    appointment_id: str = attrs.field(validator=non_empty_text)
    patient_id: str = attrs.field(validator=non_empty_text)
    patient: Contact
    doctor: Contact
    clinic_id: str = attrs.field(validator=non_empty_text)
    starts_at: datetime = attrs.field(validator=aware_datetime)

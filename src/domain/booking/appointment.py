"""The appointment: the one entity of the reference domain whose status changes.

Its rules live here, not in handlers, so the HTTP API, a handler and a test all meet the same
ones: an appointment is booked PENDING, becomes CONFIRMED when paid and may be CANCELLED until
then or after. Confirming again with the same payment changes nothing, because the handler that
confirms may run again for the same event (a redelivery, or a retry after a crash between
saving and recording its success); a different payment, or a cancelled appointment, is an
:class:`InvalidTransition` that no retry can cure.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Literal

import attrs

from ..errors import InvalidTransition
from .events import Contact


class AppointmentStatus(Enum):
    """Where an appointment is in its life."""

    PENDING = "pending"
    """Booked, not paid yet."""
    CONFIRMED = "confirmed"
    """Paid."""
    CANCELLED = "cancelled"
    """Called off by the patient, the clinic or the system; final."""


Canceller = Literal["patient", "clinic", "system"]
"""Who may cancel an appointment (the ``cancelled_by`` of :class:`AppointmentCancelled`)."""


@attrs.define(kw_only=True)
class Appointment:
    """A patient's appointment with a doctor at a clinic.

    Field values are checked by the event built from them (:class:`AppointmentCreated`), which
    the booking use case makes before it stores anything.
    """

    id: str
    patient_id: str
    patient: Contact
    doctor_id: str
    doctor: Contact
    clinic_id: str
    starts_at: datetime
    price: Decimal
    currency: str
    status: AppointmentStatus = AppointmentStatus.PENDING
    payment_id: str | None = None
    cancellation_reason: str | None = None
    cancelled_by: Canceller | None = None

    def confirm(self, payment_id: str) -> bool:
        """Mark the appointment paid by ``payment_id``; True if that changed anything.

        Confirming again with the same payment is a no-op returning False. Raises
        :class:`InvalidTransition` when the appointment is cancelled or was paid by another
        payment (both need a person: a refund).
        """
        if self.status is AppointmentStatus.CONFIRMED:
            if self.payment_id == payment_id:
                return False
            raise InvalidTransition(
                self.id,
                self.status.value,
                "confirm",
                f"it was already paid by payment {self.payment_id!r}, not {payment_id!r}",
            )
        if self.status is AppointmentStatus.CANCELLED:
            raise InvalidTransition(
                self.id, self.status.value, "confirm", f"payment {payment_id!r} needs a refund"
            )
        self.status = AppointmentStatus.CONFIRMED
        self.payment_id = payment_id
        return True

    def cancel(self, reason: str, by: Canceller) -> None:
        """Cancel a pending or confirmed appointment.

        Raises :class:`InvalidTransition` when it is already cancelled: cancelling is a
        command, and a second one is a mistake worth telling the caller about.
        """
        if self.status is AppointmentStatus.CANCELLED:
            raise InvalidTransition(self.id, self.status.value, "cancel")
        self.status = AppointmentStatus.CANCELLED
        self.cancellation_reason = reason
        self.cancelled_by = by

"""The appointment: the booking domain's entity whose status changes.

Its rules live here, not in handlers, so the HTTP API, a handler and a test all meet the same
ones: an appointment is booked PENDING, becomes CONFIRMED when paid and may be CANCELLED until
then or after. Once it has started it ends ATTENDED (the patient checked in) or NO_SHOW (the
no-show check found nobody), and can no longer be cancelled. Confirming again with the same
payment changes nothing, because the handler that confirms may run again for the same event (a
redelivery, or a retry after a crash between saving and recording its success); a different
payment, or a cancelled appointment, is an :class:`InvalidTransition` that no retry can cure.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Final, Literal

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
    ATTENDED = "attended"
    """The patient checked in; final."""
    NO_SHOW = "no_show"
    """Paid, but the patient never checked in; final."""


PAID: Final = frozenset(
    {AppointmentStatus.CONFIRMED, AppointmentStatus.ATTENDED, AppointmentStatus.NO_SHOW}
)
"""The statuses an appointment reaches only by being paid."""


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
    checked_in_at: datetime | None = None

    def confirm(self, payment_id: str) -> bool:
        """Mark the appointment paid by ``payment_id``; True if that changed anything.

        Confirming again with the same payment is a no-op returning False. Raises
        :class:`InvalidTransition` when the appointment is cancelled or was paid by another
        payment (both need a person: a refund).
        """
        if self.status in PAID:
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

        Raises :class:`InvalidTransition` when it is already cancelled (cancelling is a
        command, and a second one is a mistake worth telling the caller about), attended or
        missed (it is over).
        """
        if self.status is AppointmentStatus.CANCELLED:
            raise InvalidTransition(self.id, self.status.value, "cancel")
        if self.status in (AppointmentStatus.ATTENDED, AppointmentStatus.NO_SHOW):
            raise InvalidTransition(self.id, self.status.value, "cancel", "it is over")
        self.status = AppointmentStatus.CANCELLED
        self.cancellation_reason = reason
        self.cancelled_by = by

    def check_in(self, at: datetime) -> bool:
        """The patient arrived: CONFIRMED to ATTENDED; True if that changed anything.

        Checking in again is a no-op returning False. Raises :class:`InvalidTransition` for an
        appointment that is not paid, cancelled or already marked a no-show.
        """
        if self.status is AppointmentStatus.ATTENDED:
            return False
        if self.status is not AppointmentStatus.CONFIRMED:
            reason = "it is not paid" if self.status is AppointmentStatus.PENDING else ""
            raise InvalidTransition(self.id, self.status.value, "check in", reason)
        self.status = AppointmentStatus.ATTENDED
        self.checked_in_at = at
        return True

    def mark_no_show(self) -> bool:
        """Nobody checked in: CONFIRMED to NO_SHOW; True if that changed anything.

        Marking again is a no-op returning False (the no-show check runs every half hour and
        looks back over a day). Raises :class:`InvalidTransition` from any other status.
        """
        if self.status is AppointmentStatus.NO_SHOW:
            return False
        if self.status is not AppointmentStatus.CONFIRMED:
            raise InvalidTransition(self.id, self.status.value, "mark as a no-show")
        self.status = AppointmentStatus.NO_SHOW
        return True

    def same_booking(self, other: Appointment) -> bool:
        """Whether ``other`` books the same patient, doctor, clinic, time and price.

        How a booking retried with the same appointment id is told apart from a different
        booking that reuses an id by mistake.
        """
        return (
            self.patient_id,
            self.patient,
            self.doctor_id,
            self.doctor,
            self.clinic_id,
            self.starts_at,
            self.price,
            self.currency,
        ) == (
            other.patient_id,
            other.patient,
            other.doctor_id,
            other.doctor,
            other.clinic_id,
            other.starts_at,
            other.price,
            other.currency,
        )

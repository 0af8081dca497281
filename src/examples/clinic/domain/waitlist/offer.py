"""A freed slot, and the time-limited offer of it to one waiting patient.

An offer is OPEN for 15 minutes after it is sent. Accepting in time books the slot; letting
it run out passes the slot to the next patient in line. Whichever happens first wins: a late
acceptance is refused, and an expiry that finds the offer accepted changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum

import attrs

from ..booking.events import Contact
from ..errors import OfferNotOpen


@attrs.frozen(kw_only=True)
class Slot:
    """A bookable time with a doctor (typically freed by a cancellation)."""

    clinic_id: str
    doctor_id: str
    doctor: Contact
    starts_at: datetime
    price: Decimal
    currency: str

    @property
    def key(self) -> str:
        """The slot's identity: one doctor, one start time."""
        return f"{self.doctor_id}@{self.starts_at.isoformat()}"


class OfferStatus(Enum):
    """Where an offer is."""

    OPEN = "open"
    """Sent; waiting for the patient's answer until ``expires_at``."""
    ACCEPTED = "accepted"
    """The patient took the slot; an appointment was booked."""
    EXPIRED = "expired"
    """Not answered in time; the slot went on to the next patient."""


@attrs.define(kw_only=True)
class SlotOffer:
    """The offer of ``slot`` to the waitlist entry ``entry_id``."""

    id: str
    slot: Slot
    entry_id: str
    patient_id: str
    patient: Contact
    offered_at: datetime
    expires_at: datetime
    status: OfferStatus = OfferStatus.OPEN
    appointment_id: str | None = None

    def accept(self, at: datetime, appointment_id: str) -> bool:
        """Take the slot as ``appointment_id``; True if that changed anything.

        Accepting again is a no-op returning False. Raises :class:`OfferNotOpen` when the
        offer expired (by its status, or by the clock even if the expiry was not handled yet).
        """
        if self.status is OfferStatus.ACCEPTED:
            return False
        if self.status is OfferStatus.EXPIRED or at >= self.expires_at:
            raise OfferNotOpen(
                self.id, f"it expired at {self.expires_at:%H:%M} UTC and passed to the next patient"
            )
        self.status = OfferStatus.ACCEPTED
        self.appointment_id = appointment_id
        return True

    def expire(self) -> bool:
        """The answer did not come in time; True if the offer was still open."""
        if self.status is not OfferStatus.OPEN:
            return False
        self.status = OfferStatus.EXPIRED
        return True

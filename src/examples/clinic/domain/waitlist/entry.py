"""A patient on a clinic's waitlist for a doctor, and what their answers taught us.

Entries are served in the order they joined, except that a patient who let an offer at some
hour of the day expire goes behind the others for slots at that hour: that is the waitlist's
"preference", learnt at low priority from unanswered offers. Learnt late, or not at all, it
only changes the order; the queue stays fair.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import attrs

from ..booking.events import Contact


class EntryStatus(Enum):
    """Where a waitlist entry is."""

    WAITING = "waiting"
    """On the list: freed slots are offered to it."""
    BOOKED = "booked"
    """Accepted an offer; off the list."""


@attrs.define(kw_only=True)
class WaitlistEntry:
    """One patient waiting for a slot with ``doctor_id`` at ``clinic_id``."""

    id: str
    patient_id: str
    patient: Contact
    clinic_id: str
    doctor_id: str
    joined_at: datetime
    status: EntryStatus = EntryStatus.WAITING
    unanswered_hours: frozenset[int] = frozenset()
    """Hours of the day (UTC) of slots this patient let expire."""

    def prefers_not(self, starts_at: datetime) -> bool:
        """True when this patient let an offer at this hour of the day expire before."""
        return starts_at.hour in self.unanswered_hours

    def note_unanswered(self, starts_at: datetime) -> bool:
        """Remember an offer for ``starts_at`` went unanswered; True if that was news."""
        if starts_at.hour in self.unanswered_hours:
            return False
        self.unanswered_hours = self.unanswered_hours | {starts_at.hour}
        return True

    def book(self) -> None:
        """The patient accepted an offer: they leave the list (again is harmless)."""
        self.status = EntryStatus.BOOKED

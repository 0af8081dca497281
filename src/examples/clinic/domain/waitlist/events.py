"""Events of the waitlist: a slot offered, the offer accepted, or left to expire."""

from __future__ import annotations

from datetime import datetime

import attrs

from .....domain.events import DomainEvent
from .....domain.validation import aware_datetime, non_empty_text
from ..booking.events import Contact


@attrs.frozen(kw_only=True)
class WaitlistSlotOffered(DomainEvent):
    """A freed slot was offered to the patient first in line; they have until ``expires_at``."""

    event_type = "waitlist.slot_offered"

    offer_id: str = attrs.field(validator=non_empty_text)
    entry_id: str = attrs.field(validator=non_empty_text)
    patient_id: str = attrs.field(validator=non_empty_text)
    patient: Contact
    clinic_id: str = attrs.field(validator=non_empty_text)
    doctor_id: str = attrs.field(validator=non_empty_text)
    doctor: Contact
    starts_at: datetime = attrs.field(validator=aware_datetime)
    expires_at: datetime = attrs.field(validator=aware_datetime)


@attrs.frozen(kw_only=True)
class WaitlistOfferExpired(DomainEvent):
    """An offer's 15 minutes ran out (published with the offer, due then; accepting cancels
    it). Unless it was accepted, the slot goes to the next patient in line."""

    event_type = "waitlist.offer_expired"

    offer_id: str = attrs.field(validator=non_empty_text)
    entry_id: str = attrs.field(validator=non_empty_text)
    clinic_id: str = attrs.field(validator=non_empty_text)
    doctor_id: str = attrs.field(validator=non_empty_text)
    starts_at: datetime = attrs.field(validator=aware_datetime)


@attrs.frozen(kw_only=True)
class WaitlistOfferAccepted(DomainEvent):
    """The patient took the offered slot; ``appointment_id`` is the appointment booked."""

    event_type = "waitlist.offer_accepted"

    offer_id: str = attrs.field(validator=non_empty_text)
    entry_id: str = attrs.field(validator=non_empty_text)
    patient_id: str = attrs.field(validator=non_empty_text)
    clinic_id: str = attrs.field(validator=non_empty_text)
    appointment_id: str = attrs.field(validator=non_empty_text)
    starts_at: datetime = attrs.field(validator=aware_datetime)

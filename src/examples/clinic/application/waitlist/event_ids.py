"""The waitlist's derived ids: each offer's events, and the offer and booking ids themselves.

An offer is named by its slot and its patient, so offering the same slot to the same entry
again (a handler run twice) finds the offer already made; its events are named by the offer,
so accepting can cancel the expiry without having stored its id.
"""

from __future__ import annotations

from uuid import UUID

from .....application.event_ids import derived_event_id


def offer_id(slot_key: str, entry_id: str) -> str:
    """The id of the offer of ``slot_key`` to ``entry_id``: ``off-`` and 12 hex digits."""
    return f"off-{derived_event_id('waitlist', slot_key, entry_id).hex[:12]}"


def offered_event_id(offer: str) -> UUID:
    """The event_id of the :class:`WaitlistSlotOffered` of ``offer``."""
    return derived_event_id("waitlist", offer, "offered")


def expiry_event_id(offer: str) -> UUID:
    """The event_id of the :class:`WaitlistOfferExpired` of ``offer`` (due 15 min later)."""
    return derived_event_id("waitlist", offer, "expired")


def accepted_event_id(offer: str) -> UUID:
    """The event_id of the :class:`WaitlistOfferAccepted` of ``offer``."""
    return derived_event_id("waitlist", offer, "accepted")


def appointment_id_for(offer: str) -> str:
    """The id of the appointment an accepted ``offer`` books (the same on every retry)."""
    return f"apt-{derived_event_id('waitlist', offer, 'appointment').hex[:12]}"

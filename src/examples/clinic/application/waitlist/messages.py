"""What the waitlist tells patients: a slot is free, answer within 15 minutes."""

from __future__ import annotations

from typing import Final

from ...domain.waitlist.events import WaitlistSlotOffered
from ...ports.notifier import Notification
from ..notifications import by_whatsapp, when

SLOT_OFFER: Final = "waitlist_slot_offer"


def slot_offer(event: WaitlistSlotOffered) -> Notification:
    """The offer, by WhatsApp when the patient has a phone (email or SMS otherwise)."""
    return by_whatsapp(
        event.patient,
        event,
        SLOT_OFFER,
        "A slot is free for you",
        f"A slot is free with {event.doctor.name} on {when(event.starts_at)}. Reply YES "
        f"before {event.expires_at:%H:%M} UTC to take it (offer {event.offer_id}).",
    )

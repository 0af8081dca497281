"""The waitlist's use cases and handlers: freed slots offered in turn, 15 minutes each.

:class:`JoinWaitlist`, :class:`OfferSlot` and :class:`AcceptOffer` are what the clinic's
screens call; :func:`register_waitlist_handlers` wires the handlers that send offers, pass an
expired one on and (at low priority) learn each patient's preferences.
"""

from .event_ids import (
    accepted_event_id,
    appointment_id_for,
    expiry_event_id,
    offer_id,
    offered_event_id,
)
from .handlers import CalculateWaitlistPreferences, PassOfferOn, SendSlotOffer
from .offers import OFFER_WINDOW, AcceptOffer, JoinWaitlist, OfferSlot
from .registration import Names, register_waitlist_handlers

__all__ = [
    "OFFER_WINDOW",
    "AcceptOffer",
    "CalculateWaitlistPreferences",
    "JoinWaitlist",
    "Names",
    "OfferSlot",
    "PassOfferOn",
    "SendSlotOffer",
    "accepted_event_id",
    "appointment_id_for",
    "expiry_event_id",
    "offer_id",
    "offered_event_id",
    "register_waitlist_handlers",
]

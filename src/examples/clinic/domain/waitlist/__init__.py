"""The waitlist: patients waiting for a slot, and the offers a freed slot makes to them."""

from .entry import EntryStatus, WaitlistEntry
from .events import WaitlistOfferAccepted, WaitlistOfferExpired, WaitlistSlotOffered
from .offer import OfferStatus, Slot, SlotOffer

__all__ = [
    "EntryStatus",
    "OfferStatus",
    "Slot",
    "SlotOffer",
    "WaitlistEntry",
    "WaitlistOfferAccepted",
    "WaitlistOfferExpired",
    "WaitlistSlotOffered",
]

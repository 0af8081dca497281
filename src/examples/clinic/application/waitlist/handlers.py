"""The waitlist's handlers: send the offer, pass an expired offer on, learn from it.

Each may run more than once for one event: the offer's message carries a key derived from the
event; passing on is a no-op once the slot has a newer offer (or was accepted); learning
records a fact about the patient that is the same the second time.
"""

from __future__ import annotations

from ...domain.waitlist.events import WaitlistOfferExpired, WaitlistSlotOffered
from ...domain.waitlist.offer import OfferStatus
from ...ports.notifier import Notifier
from ...ports.repositories import SlotOfferRepository, WaitlistRepository
from . import messages
from .offers import OfferSlot


class SendSlotOffer:
    """WaitlistSlotOffered: tell the patient, by WhatsApp (rate-limited per clinic)."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    def __call__(self, event: WaitlistSlotOffered) -> None:
        self.notifier.send(messages.slot_offer(event))


class PassOfferOn:
    """WaitlistOfferExpired: unless the offer was accepted, mark it expired and offer the slot
    to the next patient in line.

    Accepting cancels the expiry; this check covers an expiry already on its way to a worker.
    """

    def __init__(self, offers: SlotOfferRepository, offer_slot: OfferSlot) -> None:
        self.offers = offers
        self.offer_slot = offer_slot

    def __call__(self, event: WaitlistOfferExpired) -> None:
        offer = self.offers.get(event.offer_id)
        if offer.expire():
            self.offers.save(offer)
        # Also when it was already expired: a run that crashed after saving must still pass
        # the slot on (OfferSlot makes no second offer once there is a newer one).
        if offer.status is OfferStatus.EXPIRED:
            self.offer_slot(offer.slot)


class CalculateWaitlistPreferences:
    """WaitlistOfferExpired, at low priority: remember the hour of day the patient let pass.

    Future slots at that hour are offered to others first. Nothing waits for this: until it
    runs, the waitlist is simply served in joining order.
    """

    def __init__(self, entries: WaitlistRepository) -> None:
        self.entries = entries

    def __call__(self, event: WaitlistOfferExpired) -> None:
        entry = self.entries.get(event.entry_id)
        if entry.note_unanswered(event.starts_at):
            self.entries.save(entry)

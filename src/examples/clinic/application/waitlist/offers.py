"""The waitlist's use cases: join it, offer a freed slot, accept an offer.

A freed slot is offered to one patient at a time, first in line (patients who let an offer at
that hour expire before go behind the others). The offer is announced
(:class:`WaitlistSlotOffered`) and its expiry published for 15 minutes later
(:class:`WaitlistOfferExpired`, an id derived from the offer). Accepting in time books the
appointment and cancels the expiry; otherwise the expiry's handler offers the slot to the next
patient, until someone takes it or nobody is left.

Offering is safe to repeat: while an offer of the slot is open (or accepted) no other is made,
and the open one is announced again under the same ids, so a crash between storing an offer
and announcing it is repaired by the next attempt.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Final
from uuid import uuid4

from .....ports.clock import Clock
from .....ports.event_bus import EventBus, EventScheduler
from .....ports.unit_of_work import EventPublisher, UnitOfWork
from ...domain.booking.appointment import Appointment
from ...domain.booking.events import Contact
from ...domain.waitlist.entry import WaitlistEntry
from ...domain.waitlist.events import (
    WaitlistOfferAccepted,
    WaitlistOfferExpired,
    WaitlistSlotOffered,
)
from ...domain.waitlist.offer import OfferStatus, Slot, SlotOffer
from ...ports.repositories import SlotOfferRepository, WaitlistRepository
from ..booking.appointments import BookAppointment
from ..transactions import transaction
from .event_ids import (
    accepted_event_id,
    appointment_id_for,
    expiry_event_id,
    offer_id,
    offered_event_id,
)

OFFER_WINDOW: Final = timedelta(minutes=15)
"""How long a patient has to accept an offered slot."""


def new_entry_id() -> str:
    """A fresh waitlist entry id, ``wl-`` and 12 hex digits."""
    return f"wl-{uuid4().hex[:12]}"


class JoinWaitlist:
    """Put a patient on the waitlist for a doctor at a clinic."""

    def __init__(
        self,
        entries: WaitlistRepository,
        clock: Clock,
        new_id: Callable[[], str] = new_entry_id,
    ) -> None:
        self.entries = entries
        self.clock = clock
        self.new_id = new_id

    def __call__(
        self,
        *,
        patient_id: str,
        patient: Contact,
        clinic_id: str,
        doctor_id: str,
        entry_id: str | None = None,
    ) -> WaitlistEntry:
        """The new entry; raises :class:`AlreadyExists` for an ``entry_id`` already taken."""
        entry = WaitlistEntry(
            id=entry_id or self.new_id(),
            patient_id=patient_id,
            patient=patient,
            clinic_id=clinic_id,
            doctor_id=doctor_id,
            joined_at=self.clock.now(),
        )
        self.entries.add(entry)
        return entry


class OfferSlot:
    """Offer a free slot to the next patient in line; None when nobody is waiting."""

    def __init__(
        self,
        entries: WaitlistRepository,
        offers: SlotOfferRepository,
        event_bus: EventBus,
        clock: Clock,
        offer_window: timedelta = OFFER_WINDOW,
        *,
        unit_of_work: UnitOfWork | None = None,
    ) -> None:
        self.entries = entries
        self.offers = offers
        self.event_bus = event_bus
        self.clock = clock
        self.offer_window = offer_window
        self.unit_of_work = unit_of_work

    def __call__(self, slot: Slot) -> SlotOffer | None:
        """The offer made (or the one already open or accepted for ``slot``); the offer and
        its events commit together when there is a unit of work."""
        with transaction(self.unit_of_work, self.event_bus) as outgoing:
            return self._offer(slot, outgoing)

    def _offer(self, slot: Slot, outgoing: EventPublisher) -> SlotOffer | None:
        made = self.offers.for_slot(slot.key)
        current = next((o for o in made if o.status is not OfferStatus.EXPIRED), None)
        if current is not None:
            if current.status is OfferStatus.OPEN:
                self._announce(current, outgoing)
            return current
        entry = self._next_in_line(slot, {o.entry_id for o in made})
        if entry is None:
            return None
        now = self.clock.now()
        offer = SlotOffer(
            id=offer_id(slot.key, entry.id),
            slot=slot,
            entry_id=entry.id,
            patient_id=entry.patient_id,
            patient=entry.patient,
            offered_at=now,
            expires_at=now + self.offer_window,
        )
        self.offers.add(offer)
        self._announce(offer, outgoing)
        return offer

    def _next_in_line(self, slot: Slot, already_offered: set[str]) -> WaitlistEntry | None:
        candidates = [
            entry
            for entry in self.entries.waiting(slot.clinic_id, slot.doctor_id)
            if entry.id not in already_offered
        ]
        # Joining order, except that patients who let an offer at this hour expire go last
        # (``min`` keeps the first of equals, and ``waiting`` is in joining order).
        return min(candidates, key=lambda e: e.prefers_not(slot.starts_at), default=None)

    def _announce(self, offer: SlotOffer, outgoing: EventPublisher) -> None:
        slot = offer.slot
        outgoing.publish(
            WaitlistSlotOffered(
                event_id=offered_event_id(offer.id),
                occurred_at=offer.offered_at,
                offer_id=offer.id,
                entry_id=offer.entry_id,
                patient_id=offer.patient_id,
                patient=offer.patient,
                clinic_id=slot.clinic_id,
                doctor_id=slot.doctor_id,
                doctor=slot.doctor,
                starts_at=slot.starts_at,
                expires_at=offer.expires_at,
            )
        )
        outgoing.publish(
            WaitlistOfferExpired(
                event_id=expiry_event_id(offer.id),
                occurred_at=offer.offered_at,
                offer_id=offer.id,
                entry_id=offer.entry_id,
                clinic_id=slot.clinic_id,
                doctor_id=slot.doctor_id,
                starts_at=slot.starts_at,
            ),
            at=offer.expires_at,
        )


class AcceptOffer:
    """The patient takes the offered slot: cancel the expiry, book, publish the acceptance."""

    def __init__(
        self,
        entries: WaitlistRepository,
        offers: SlotOfferRepository,
        book: BookAppointment,
        event_bus: EventBus,
        clock: Clock,
        *,
        scheduler: EventScheduler,
        unit_of_work: UnitOfWork | None = None,
    ) -> None:
        self.entries = entries
        self.offers = offers
        self.book = book
        self.event_bus = event_bus
        self.scheduler = scheduler
        self.clock = clock
        self.unit_of_work = unit_of_work

    def __call__(self, offer_id: str) -> Appointment:
        """The booked appointment; accepting again returns the same one.

        Raises :class:`OfferNotFound`, or :class:`OfferNotOpen` when the offer expired (the
        patient stays on the waitlist). With a unit of work, the acceptance, the booking (it
        joins the same transaction) and their events commit together; on PostgreSQL the
        offer's row stays locked until then, so an expiry firing meanwhile waits and then
        finds it accepted.
        """
        with transaction(self.unit_of_work, self.event_bus) as outgoing:
            return self._accept(offer_id, outgoing)

    def _accept(self, offer_id: str, outgoing: EventPublisher) -> Appointment:
        offer = self.offers.get(offer_id)
        now = self.clock.now()
        appointment_id = appointment_id_for(offer.id)
        if offer.accept(now, appointment_id):
            # Saved first: an expiry that fires from now on finds the offer accepted.
            self.offers.save(offer)
        self.scheduler.cancel(expiry_event_id(offer.id))
        entry = self.entries.get(offer.entry_id)
        slot = offer.slot
        # A retry books again with the same derived id and details: BookAppointment returns
        # the stored appointment and repeats none of its events.
        appointment = self.book(
            appointment_id=appointment_id,
            patient_id=entry.patient_id,
            patient=entry.patient,
            doctor_id=slot.doctor_id,
            doctor=slot.doctor,
            clinic_id=slot.clinic_id,
            starts_at=slot.starts_at,
            price=slot.price,
            currency=slot.currency,
        )
        entry.book()
        self.entries.save(entry)
        outgoing.publish(
            WaitlistOfferAccepted(
                event_id=accepted_event_id(offer.id),
                occurred_at=now,
                offer_id=offer.id,
                entry_id=entry.id,
                patient_id=entry.patient_id,
                clinic_id=slot.clinic_id,
                appointment_id=appointment.id,
                starts_at=slot.starts_at,
            )
        )
        return appointment

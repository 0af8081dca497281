"""A freed slot offered in turn: 15 minutes to accept, then the next patient in line.

On the in-memory bus with a virtual clock: ``bus.advance(timedelta(minutes=15))`` is the
quarter of an hour a patient did not answer in.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import attrs
import pytest

from hexbus.examples.clinic.application.booking import WHATSAPP_LIMIT, BookAppointment
from hexbus.examples.clinic.application.waitlist import (
    OFFER_WINDOW,
    Names,
    PassOfferOn,
    accepted_event_id,
    appointment_id_for,
    expiry_event_id,
    offer_id,
    offered_event_id,
)
from hexbus.examples.clinic.domain.booking import AppointmentCreated, AppointmentStatus, Contact
from hexbus.examples.clinic.domain.errors import OfferNotOpen
from hexbus.examples.clinic.domain.waitlist import (
    EntryStatus,
    OfferStatus,
    WaitlistOfferAccepted,
    WaitlistOfferExpired,
    WaitlistSlotOffered,
)
from hexbus.examples.clinic.ports import Channel
from hexbus.ports import Priority

from .conftest import CLINIC, DINA, ELI, FAY, NOW, SLOT, Waitlist


def statuses(waitlist: Waitlist) -> list[tuple[str, OfferStatus]]:
    return [(o.patient.name, o.status) for o in waitlist.offers.for_slot(SLOT.key)]


def pending_expiries(waitlist: Waitlist) -> list[str]:
    return [e.offer_id for _, e in waitlist.bus.scheduled if isinstance(e, WaitlistOfferExpired)]


# --- offering ----------------------------------------------------------------------------------


def test_a_slot_is_offered_to_the_first_in_line_with_15_minutes_to_answer(
    waitlist: Waitlist,
) -> None:
    dina, _ = waitlist.join_in_turn(DINA, ELI)
    offer = waitlist.offer(SLOT)
    assert offer is not None
    assert (offer.entry_id, offer.status) == (dina.id, OfferStatus.OPEN)
    assert offer.id == offer_id(SLOT.key, dina.id)
    assert offer.expires_at == waitlist.clock.now() + OFFER_WINDOW
    offered = waitlist.bus.assert_published(WaitlistSlotOffered, offer_id=offer.id)
    assert offered.event_id == offered_event_id(offer.id)
    ((due, expiry),) = waitlist.bus.scheduled
    assert (due, expiry.event_id) == (offer.expires_at, expiry_event_id(offer.id))


def test_the_offer_goes_by_whatsapp_or_else_email(waitlist: Waitlist) -> None:
    waitlist.join_in_turn(DINA)
    waitlist.offer(SLOT)
    (message,) = waitlist.sent.with_template("waitlist_slot_offer")
    assert (message.channel, message.to) == (Channel.WHATSAPP, DINA.phone)
    assert SLOT.doctor.name in message.body
    assert "before 09:16 UTC" in message.body, "joined at 09:00, offered at 09:01"


def test_a_patient_without_a_phone_gets_the_offer_by_email(waitlist: Waitlist) -> None:
    waitlist.join_in_turn(FAY)
    waitlist.offer(SLOT)
    (message,) = waitlist.sent.with_template("waitlist_slot_offer")
    assert (message.channel, message.to) == (Channel.EMAIL, FAY.email)


def test_nobody_waiting_means_no_offer(waitlist: Waitlist) -> None:
    assert waitlist.offer(SLOT) is None
    assert waitlist.bus.published == ()


def test_only_patients_waiting_for_that_doctor_are_offered_the_slot(waitlist: Waitlist) -> None:
    waitlist.join(patient_id="p", patient=FAY, clinic_id=CLINIC, doctor_id="doc-other")
    assert waitlist.offer(SLOT) is None


def test_offering_again_while_an_offer_is_open_makes_no_second_offer(waitlist: Waitlist) -> None:
    waitlist.join_in_turn(DINA, ELI)
    first = waitlist.offer(SLOT)
    waitlist.bus.advance(timedelta(minutes=5))
    again = waitlist.offer(SLOT)
    assert again == first
    assert waitlist.bus.count(WaitlistSlotOffered) == 1
    assert len(waitlist.sent.with_template("waitlist_slot_offer")) == 1


# --- expiring and passing on -------------------------------------------------------------------


def test_an_unanswered_offer_expires_after_15_minutes_and_passes_to_the_next(
    waitlist: Waitlist,
) -> None:
    waitlist.join_in_turn(DINA, ELI)
    waitlist.offer(SLOT)
    waitlist.bus.advance(OFFER_WINDOW - timedelta(seconds=1))
    assert statuses(waitlist) == [("Dina", OfferStatus.OPEN)]
    waitlist.bus.advance(timedelta(seconds=1))
    assert statuses(waitlist) == [("Dina", OfferStatus.EXPIRED), ("Eli", OfferStatus.OPEN)]
    assert [n.to for n in waitlist.sent.with_template("waitlist_slot_offer")] == [
        DINA.phone,
        ELI.phone,
    ]
    second = waitlist.offers.for_slot(SLOT.key)[1]
    assert second.offered_at == NOW + timedelta(minutes=2) + OFFER_WINDOW
    assert pending_expiries(waitlist) == [second.id]


def test_when_everyone_lets_it_expire_the_slot_stays_free(waitlist: Waitlist) -> None:
    waitlist.join_in_turn(DINA, ELI, FAY)
    waitlist.offer(SLOT)
    waitlist.bus.advance(timedelta(hours=1))
    assert statuses(waitlist) == [
        ("Dina", OfferStatus.EXPIRED),
        ("Eli", OfferStatus.EXPIRED),
        ("Fay", OfferStatus.EXPIRED),
    ]
    assert pending_expiries(waitlist) == []
    assert waitlist.bus.count(WaitlistOfferExpired) == 3
    assert [e.status for e in waitlist.entries.waiting(CLINIC, SLOT.doctor_id)] == [
        EntryStatus.WAITING
    ] * 3, "they stay on the list for the next slot"


def test_an_expiry_that_finds_the_offer_accepted_changes_nothing(waitlist: Waitlist) -> None:
    # As when the expiry was already on its way to a worker when the patient accepted.
    waitlist.join_in_turn(DINA, ELI)
    offer = waitlist.offer(SLOT)
    assert offer is not None
    expiry = next(e for _, e in waitlist.bus.scheduled if isinstance(e, WaitlistOfferExpired))
    waitlist.accept(offer.id)
    PassOfferOn(waitlist.offers, waitlist.offer)(expiry)
    assert statuses(waitlist) == [("Dina", OfferStatus.ACCEPTED)]


def test_passing_on_twice_makes_one_next_offer(waitlist: Waitlist) -> None:
    waitlist.join_in_turn(DINA, ELI, FAY)
    offer = waitlist.offer(SLOT)
    assert offer is not None
    waitlist.bus.advance(OFFER_WINDOW)
    expiry = waitlist.bus.assert_published(WaitlistOfferExpired, offer_id=offer.id)
    PassOfferOn(waitlist.offers, waitlist.offer)(expiry)  # the handler runs again
    assert statuses(waitlist) == [("Dina", OfferStatus.EXPIRED), ("Eli", OfferStatus.OPEN)]


# --- accepting ---------------------------------------------------------------------------------


def test_accepting_in_time_cancels_the_expiry_and_books_the_slot(waitlist: Waitlist) -> None:
    dina, _ = waitlist.join_in_turn(DINA, ELI)
    offer = waitlist.offer(SLOT)
    assert offer is not None
    waitlist.bus.advance(timedelta(minutes=10))
    appointment = waitlist.accept(offer.id)
    assert appointment.id == appointment_id_for(offer.id)
    assert (appointment.patient, appointment.starts_at, appointment.price) == (
        DINA,
        SLOT.starts_at,
        Decimal("60.00"),
    )
    assert appointment.status is AppointmentStatus.PENDING, "booked: now it must be paid"
    assert pending_expiries(waitlist) == []
    accepted = waitlist.bus.assert_published(WaitlistOfferAccepted, offer_id=offer.id)
    assert (accepted.event_id, accepted.appointment_id) == (
        accepted_event_id(offer.id),
        appointment.id,
    )
    assert waitlist.entries.get(dina.id).status is EntryStatus.BOOKED
    waitlist.bus.advance(timedelta(minutes=20))
    assert statuses(waitlist) == [("Dina", OfferStatus.ACCEPTED)], "nobody else is offered it"
    assert waitlist.bus.count(WaitlistOfferExpired) == 1, "published, never fired"


def test_the_accepted_booking_gets_its_timers_and_can_be_paid(waitlist: Waitlist) -> None:
    waitlist.join_in_turn(ELI)
    offer = waitlist.offer(SLOT)
    assert offer is not None
    appointment = waitlist.accept(offer.id)
    assert len(waitlist.sent.with_template("appointment_confirmation")) == 1
    waitlist.pay(
        transaction_id="txn-1",
        appointment_id=appointment.id,
        amount=appointment.price,
        currency="EUR",
        provider="stripe",
    )
    waitlist.bus.advance(timedelta(hours=1))
    assert waitlist.appointments.get(appointment.id).status is AppointmentStatus.CONFIRMED


def test_accepting_twice_books_once(waitlist: Waitlist) -> None:
    waitlist.join_in_turn(DINA)
    offer = waitlist.offer(SLOT)
    assert offer is not None
    first = waitlist.accept(offer.id)
    second = waitlist.accept(offer.id)
    assert first.id == second.id
    assert waitlist.bus.count(AppointmentCreated) == 1
    assert waitlist.bus.count(WaitlistOfferAccepted) == 1


def test_an_expired_offer_cannot_be_accepted(waitlist: Waitlist) -> None:
    waitlist.join_in_turn(DINA, ELI)
    offer = waitlist.offer(SLOT)
    assert offer is not None
    waitlist.bus.advance(OFFER_WINDOW)
    with pytest.raises(OfferNotOpen, match="passed to the next patient"):
        waitlist.accept(offer.id)
    assert waitlist.bus.count(AppointmentCreated) == 0


def test_an_offer_past_its_time_is_refused_even_before_the_expiry_is_handled(
    waitlist: Waitlist,
) -> None:
    waitlist.join_in_turn(DINA)
    offer = waitlist.offer(SLOT)
    assert offer is not None
    waitlist.clock.advance(OFFER_WINDOW)  # the clock moved; the expiry has not fired yet
    with pytest.raises(OfferNotOpen):
        waitlist.accept(offer.id)


# --- preferences, learnt at low priority -------------------------------------------------------


def test_a_patient_who_let_an_offer_expire_goes_behind_others_at_that_hour(
    waitlist: Waitlist,
) -> None:
    dina, _, _ = waitlist.join_in_turn(DINA, ELI, FAY)
    waitlist.offer(SLOT)
    waitlist.bus.advance(OFFER_WINDOW)  # Dina lets the 10:00 slot pass; Eli is offered it
    eli_offer = waitlist.offers.for_slot(SLOT.key)[-1]
    waitlist.accept(eli_offer.id)
    assert waitlist.entries.get(dina.id).unanswered_hours == {10}
    next_day_at_ten = attrs.evolve(SLOT, starts_at=SLOT.starts_at + timedelta(days=1))
    offer = waitlist.offer(next_day_at_ten)
    assert offer is not None
    assert offer.patient == FAY, "Dina joined first, but let a 10:00 offer pass"
    afternoon = attrs.evolve(SLOT, starts_at=SLOT.starts_at + timedelta(days=2, hours=5))
    offer = waitlist.offer(afternoon)
    assert offer is not None
    assert offer.patient == DINA, "at 15:00 she is first in line again"


def test_handlers_queues_priorities_and_the_whatsapp_budget(waitlist: Waitlist) -> None:
    processor = waitlist.bus.processor
    send = processor.get(Names.SEND_SLOT_OFFER)
    assert (send.queue, send.rate_limit) == ("notification", WHATSAPP_LIMIT)
    pass_on = processor.get(Names.PASS_OFFER_ON)
    assert (pass_on.queue, pass_on.priority) == ("appointment", Priority.NORMAL)
    preferences = processor.get(Names.CALCULATE_PREFERENCES)
    assert (preferences.queue, preferences.priority) == ("appointment", Priority.LOW)


def test_offers_share_the_clinics_whatsapp_budget_with_booking_confirmations(
    waitlist: Waitlist,
) -> None:
    waitlist.join_in_turn(DINA)
    book = BookAppointment(waitlist.appointments, waitlist.bus, waitlist.clock)
    for i in range(WHATSAPP_LIMIT.limit):
        book(
            patient_id=f"pat-{i}",
            patient=Contact(name=f"P{i}", phone=f"+3460000{i}"),
            doctor_id="doc-1",
            doctor=SLOT.doctor,
            clinic_id=CLINIC,
            starts_at=NOW + timedelta(days=3),
            price=Decimal("60.00"),
            currency="EUR",
        )
    assert len(waitlist.sent.on(Channel.WHATSAPP)) == 10
    waitlist.offer(SLOT)
    assert waitlist.sent.with_template("waitlist_slot_offer") == [], "the clinic's 10 are used"
    waitlist.bus.advance(timedelta(minutes=1))
    assert [n.to for n in waitlist.sent.with_template("waitlist_slot_offer")] == [DINA.phone]
    assert waitlist.bus.dead_letters.count() == 0

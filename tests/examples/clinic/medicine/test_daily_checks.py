"""The medicine jobs on their crons: expiry at 00:00, low stock at 06:00 (virtual time)."""

from __future__ import annotations

from datetime import timedelta

from hexbus.application.recurring import tick_event_id
from hexbus.examples.clinic.application.medicine import (
    EXPIRY_CHECK,
    LOW_STOCK_CHECK,
    CheckMedicineExpiry,
    Names,
    expiring_event_id,
)
from hexbus.examples.clinic.domain.medicine import (
    LowStockCheckDue,
    MedicineExpiringSoon,
    MedicineExpiryCheckDue,
    MedicineStockLow,
)
from hexbus.ports.schedules import CatchUp

from .conftest import NOW, PHARMACIST, TONIGHT, Pharmacy, in_days, medicine


def test_the_checks_fire_at_midnight_and_at_six(pharmacy: Pharmacy) -> None:
    by_name = {s.name: s for s in pharmacy.recurring.schedules}
    assert pharmacy.recurring.next_fire(by_name[EXPIRY_CHECK]) == TONIGHT
    assert pharmacy.recurring.next_fire(by_name[LOW_STOCK_CHECK]) == TONIGHT + timedelta(hours=6)
    assert {s.catch_up for s in by_name.values()} == {CatchUp.RUN_ONCE}
    pharmacy.bus.advance(TONIGHT - NOW - timedelta(seconds=1))
    assert pharmacy.bus.count(MedicineExpiryCheckDue) == 0
    pharmacy.bus.advance(timedelta(seconds=1))
    (tick,) = pharmacy.bus.events_of_type(MedicineExpiryCheckDue)
    assert (tick.occurred_at, tick.event_id) == (TONIGHT, tick_event_id(EXPIRY_CHECK, TONIGHT))
    pharmacy.bus.advance(timedelta(hours=6))
    (tick,) = pharmacy.bus.events_of_type(LowStockCheckDue)
    assert tick.occurred_at == TONIGHT + timedelta(hours=6)
    pharmacy.bus.advance(timedelta(days=2))
    assert pharmacy.bus.count(MedicineExpiryCheckDue) == 3, "once a day"


def test_the_expiry_check_reports_batches_within_7_and_30_days(pharmacy: Pharmacy) -> None:
    pharmacy.stock.add(
        medicine(
            "med-amoxicillin",
            batches=(("A-1", in_days(5), 40), ("A-2", in_days(20), 10), ("A-3", in_days(90), 60)),
        )
    )
    pharmacy.bus.advance(TONIGHT - NOW)
    found = {(e.batch_id, e.within_days) for e in pharmacy.bus.events_of_type(MedicineExpiringSoon)}
    assert found == {("A-1", 7), ("A-2", 30)}
    messages = pharmacy.sent.with_template("medicine_expiring")
    assert {m.to for m in messages} == {PHARMACIST.email}
    assert any("within 7 days" in m.subject and "A-1" in m.subject for m in messages)
    assert pharmacy.bus.succeeded(Names.NOTIFY_EXPIRING_BATCH)


def test_each_window_is_reported_once_however_many_nights_pass(pharmacy: Pharmacy) -> None:
    pharmacy.stock.add(medicine(batches=(("B-1", in_days(10), 5),)))
    pharmacy.bus.advance(TONIGHT - NOW + timedelta(days=5))  # six nightly checks
    windows = [e.within_days for e in pharmacy.bus.events_of_type(MedicineExpiringSoon)]
    assert windows == [30, 7], "30 days on the first night, 7 when it got that close"
    assert pharmacy.stock.get("med-1").batches[0].alerted_within == 7


def test_an_expiry_check_run_twice_reports_once(pharmacy: Pharmacy) -> None:
    pharmacy.stock.add(medicine(batches=(("B-1", in_days(3), 5),)))
    tick = MedicineExpiryCheckDue(occurred_at=TONIGHT)
    check = CheckMedicineExpiry(pharmacy.stock, pharmacy.bus)
    check(tick)
    check(tick)
    (event,) = pharmacy.bus.events_of_type(MedicineExpiringSoon)
    assert event.event_id == expiring_event_id("med-1", "B-1", 7)


def test_the_low_stock_check_reports_medicines_below_their_threshold(pharmacy: Pharmacy) -> None:
    pharmacy.stock.add(medicine("med-insulin", threshold=10, batches=(("I-1", in_days(60), 6),)))
    pharmacy.stock.add(medicine("med-ibuprofen", threshold=10, batches=(("P-1", in_days(60), 80),)))
    pharmacy.bus.advance(TONIGHT + timedelta(hours=6) - NOW)
    (low,) = pharmacy.bus.events_of_type(MedicineStockLow)
    assert (low.medicine_id, low.in_stock, low.threshold) == ("med-insulin", 6, 10)
    (message,) = pharmacy.sent.with_template("medicine_stock_low")
    assert "Reorder" in message.body


def test_stock_low_is_reported_every_morning_until_restocked(pharmacy: Pharmacy) -> None:
    pharmacy.stock.add(medicine(threshold=10, batches=(("I-1", in_days(60), 6),)))
    pharmacy.bus.advance(TONIGHT + timedelta(hours=6) - NOW)
    pharmacy.bus.advance(timedelta(days=1))
    assert pharmacy.bus.count(MedicineStockLow) == 2


def test_the_checks_run_on_the_medicine_queue(pharmacy: Pharmacy) -> None:
    processor = pharmacy.bus.processor
    for name in (Names.CHECK_EXPIRY, Names.CHECK_LOW_STOCK):
        assert processor.get(name).queue == "medicine"
    for name in (Names.NOTIFY_EXPIRING_BATCH, Names.NOTIFY_LOW_STOCK):
        assert processor.get(name).queue == "notification"

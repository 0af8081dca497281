"""A medicine's stock rules: what counts as in stock, and which batches are due an alert."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from hexbus import InvalidEvent
from hexbus.examples.clinic.domain.errors import BookingError
from hexbus.examples.clinic.domain.medicine import MedicineExpiringSoon

from .conftest import PHARMACIST, TODAY, medicine


def test_expired_batches_do_not_count_as_stock() -> None:
    med = medicine(
        threshold=10,
        batches=(("old", TODAY - timedelta(days=1), 50), ("new", TODAY + timedelta(days=90), 8)),
    )
    assert med.in_stock(TODAY) == 8
    assert med.is_low(TODAY)


def test_a_batch_is_alerted_at_30_days_then_again_at_7() -> None:
    med = medicine(batches=(("b1", TODAY + timedelta(days=20), 5),))
    assert [(b.batch_id, w) for b, w in med.expiry_alerts_due(TODAY)] == [("b1", 30)]
    med.mark_alerted("b1", 30)
    assert med.expiry_alerts_due(TODAY) == []
    assert med.expiry_alerts_due(TODAY + timedelta(days=12)) == [], "21 days: still the 30 window"
    assert [w for _, w in med.expiry_alerts_due(TODAY + timedelta(days=13))] == [7]
    med.mark_alerted("b1", 7)
    assert med.expiry_alerts_due(TODAY + timedelta(days=20)) == [], "expires today: told already"


def test_a_batch_first_seen_within_7_days_is_alerted_once_for_7() -> None:
    med = medicine(batches=(("b1", TODAY + timedelta(days=3), 5),))
    assert [w for _, w in med.expiry_alerts_due(TODAY)] == [7]


def test_far_expired_and_empty_batches_are_not_alerted() -> None:
    med = medicine(
        batches=(
            ("far", TODAY + timedelta(days=31), 5),
            ("gone", TODAY - timedelta(days=1), 5),
            ("empty", TODAY + timedelta(days=2), 0),
        )
    )
    assert med.expiry_alerts_due(TODAY) == []


def test_marking_an_unknown_batch_is_an_error() -> None:
    with pytest.raises(BookingError, match="no batch"):
        medicine().mark_alerted("nope", 7)


def test_the_alert_event_takes_only_the_7_and_30_day_windows() -> None:
    with pytest.raises(InvalidEvent, match="within_days"):
        MedicineExpiringSoon(
            medicine_id="med-1",
            name="X",
            clinic_id="c",
            pharmacist=PHARMACIST,
            batch_id="b",
            expires_on=date(2026, 3, 10),
            quantity=1,
            within_days=14,
        )

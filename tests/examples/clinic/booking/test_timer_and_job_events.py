"""The timer and job events of the clinic example: stable names, strict values, lossless JSON.

Booking's timers, the waitlist's offers, the medicine checks, the AI analysis and the weekly
report all travel through Redis; each survives the wire and refuses a bad field by name.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

import attrs
import pytest

from hexbus import DomainEvent, EventSerializer, InvalidEvent
from hexbus.examples.clinic.domain.analysis import AiAnalysisCompleted, AiAnalysisRequested
from hexbus.examples.clinic.domain.booking import (
    AppointmentNoShow,
    AppointmentPaymentDeadlinePassed,
    AppointmentReminderDue,
    Contact,
    NoShowCheckDue,
    PatientCheckedIn,
)
from hexbus.examples.clinic.domain.medicine import (
    LowStockCheckDue,
    MedicineExpiringSoon,
    MedicineExpiryCheckDue,
    MedicineStockLow,
)
from hexbus.examples.clinic.domain.reporting import WeeklyReportCompiled, WeeklyReportDue
from hexbus.examples.clinic.domain.waitlist import (
    WaitlistOfferAccepted,
    WaitlistOfferExpired,
    WaitlistSlotOffered,
)

ANA = Contact(name="Ana", email="ana@example.com", phone="+34600")
RUIZ = Contact(name="Dr. Ruiz", email="ruiz@clinic.example")
WHEN = datetime(2026, 3, 3, 10, tzinfo=UTC)

EVENTS: list[DomainEvent] = [
    AppointmentReminderDue(
        appointment_id="apt-1",
        patient_id="pat-1",
        patient=ANA,
        doctor=RUIZ,
        clinic_id="clinic-1",
        starts_at=WHEN,
        hours_before=24,
    ),
    AppointmentPaymentDeadlinePassed(appointment_id="apt-1", clinic_id="clinic-1"),
    PatientCheckedIn(appointment_id="apt-1", clinic_id="clinic-1"),
    NoShowCheckDue(event_id=uuid4(), occurred_at=WHEN),
    AppointmentNoShow(
        appointment_id="apt-1",
        patient_id="pat-1",
        patient=ANA,
        doctor=RUIZ,
        clinic_id="clinic-1",
        starts_at=WHEN,
    ),
    WaitlistSlotOffered(
        offer_id="off-1",
        entry_id="wl-1",
        patient_id="pat-1",
        patient=ANA,
        clinic_id="clinic-1",
        doctor_id="doc-1",
        doctor=RUIZ,
        starts_at=WHEN,
        expires_at=datetime(2026, 3, 2, 9, 15, tzinfo=UTC),
    ),
    WaitlistOfferExpired(
        offer_id="off-1", entry_id="wl-1", clinic_id="clinic-1", doctor_id="doc-1", starts_at=WHEN
    ),
    WaitlistOfferAccepted(
        offer_id="off-1",
        entry_id="wl-1",
        patient_id="pat-1",
        clinic_id="clinic-1",
        appointment_id="apt-2",
        starts_at=WHEN,
    ),
    MedicineExpiryCheckDue(occurred_at=WHEN),
    LowStockCheckDue(occurred_at=WHEN),
    MedicineExpiringSoon(
        medicine_id="med-1",
        name="Amoxicillin",
        clinic_id="clinic-1",
        pharmacist=RUIZ,
        batch_id="A-1",
        expires_on=date(2026, 3, 9),
        quantity=40,
        within_days=7,
    ),
    MedicineStockLow(
        medicine_id="med-1",
        name="Insulin",
        clinic_id="clinic-1",
        pharmacist=RUIZ,
        in_stock=0,
        threshold=10,
    ),
    AiAnalysisRequested(
        request_id="ai-1", patient_id="pat-1", doctor_id="doc-1", kind="ecg", urgent=True
    ),
    AiAnalysisCompleted(
        request_id="ai-1",
        patient_id="pat-1",
        doctor_id="doc-1",
        urgent=True,
        findings="no anomaly found",
    ),
    WeeklyReportDue(occurred_at=WHEN),
    WeeklyReportCompiled(
        clinic_id="clinic-1",
        week_start=WHEN,
        week_end=WHEN,
        booked=3,
        unpaid=0,
        confirmed=1,
        attended=1,
        no_shows=0,
        cancelled=1,
    ),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.event_type)
def test_each_event_round_trips_through_json(event: DomainEvent) -> None:
    serializer = EventSerializer()
    assert serializer.loads(serializer.dumps(event)) == event


def test_the_event_type_names_are_stable() -> None:
    assert {type(e).__name__: e.event_type for e in EVENTS} == {
        "AppointmentReminderDue": "appointment.reminder_due",
        "AppointmentPaymentDeadlinePassed": "appointment.payment_deadline_passed",
        "PatientCheckedIn": "appointment.checked_in",
        "NoShowCheckDue": "appointment.no_show_check_due",
        "AppointmentNoShow": "appointment.no_show",
        "WaitlistSlotOffered": "waitlist.slot_offered",
        "WaitlistOfferExpired": "waitlist.offer_expired",
        "WaitlistOfferAccepted": "waitlist.offer_accepted",
        "MedicineExpiryCheckDue": "medicine.expiry_check_due",
        "LowStockCheckDue": "medicine.low_stock_check_due",
        "MedicineExpiringSoon": "medicine.expiring_soon",
        "MedicineStockLow": "medicine.stock_low",
        "AiAnalysisRequested": "ai.analysis_requested",
        "AiAnalysisCompleted": "ai.analysis_completed",
        "WeeklyReportDue": "report.weekly_due",
        "WeeklyReportCompiled": "report.weekly_compiled",
    }


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.event_type)
def test_events_are_frozen_values(event: DomainEvent) -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        event.occurred_at = WHEN  # type: ignore[misc]


@pytest.mark.parametrize(
    ("event", "change", "field"),
    [
        (EVENTS[0], {"hours_before": 12}, "hours_before"),
        (EVENTS[0], {"hours_before": True}, "hours_before"),
        (EVENTS[0], {"starts_at": datetime(2026, 3, 3, 10)}, "starts_at"),
        (EVENTS[5], {"offer_id": " "}, "offer_id"),
        (EVENTS[10], {"expires_on": WHEN}, "expires_on"),
        (EVENTS[11], {"in_stock": -1}, "in_stock"),
        (EVENTS[12], {"urgent": "yes"}, "urgent"),
        (EVENTS[15], {"booked": -1}, "booked"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_a_bad_field_is_refused_by_name(
    event: DomainEvent, change: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidEvent) as caught:
        attrs.evolve(event, **change)
    assert caught.value.field == field


def test_a_reminder_hours_before_a_wrong_type_is_refused_on_the_wire() -> None:
    serializer = EventSerializer()
    payload = serializer.to_dict(EVENTS[0])
    payload["payload"]["hours_before"] = "24"
    with pytest.raises(InvalidEvent, match="hours_before"):
        serializer.from_dict(payload)

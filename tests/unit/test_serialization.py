"""EventSerializer: lossless round trips, strict reading, clear errors, upcasting."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import uuid4

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hexbus import (
    DomainEvent,
    EventDecodeError,
    EventSerializer,
    EventTypeRegistry,
    InvalidEvent,
    UnknownEventType,
)
from hexbus.examples.clinic.domain.booking import (
    AppointmentCancelled,
    AppointmentConfirmed,
    AppointmentCreated,
    Contact,
    InvoiceIssued,
    InvoiceLine,
    PaymentSucceeded,
)

SERIALIZER = EventSerializer()
PATIENT = Contact(name="Zoë Ñúñez", email="zoe@example.com", phone="+34600000001")
DOCTOR = Contact(name="Dr. Ruiz", email="ruiz@clinic.example")
MADRID = timezone(timedelta(hours=2))
CHAIN = uuid4()
CAUSE = uuid4()

CLINIC_EVENTS: list[DomainEvent] = [
    AppointmentCreated(
        appointment_id="APT-1",
        patient_id="PAT-1",
        patient=PATIENT,
        doctor_id="DOC-1",
        doctor=DOCTOR,
        clinic_id="CLI-1",
        starts_at=datetime(2026, 3, 2, 10, 30, 15, 123456, tzinfo=MADRID),
        price=Decimal("10.10"),
        currency="EUR",
        correlation_id=CHAIN,
        causation_id=CAUSE,
    ),
    AppointmentConfirmed(appointment_id="APT-1", payment_id="PAY-1", correlation_id=CHAIN),
    AppointmentCancelled(
        appointment_id="APT-1",
        patient_id="PAT-1",
        patient=PATIENT,
        doctor_id="DOC-1",
        doctor=DOCTOR,
        clinic_id="CLI-1",
        starts_at=datetime(2026, 3, 2, 8, 30, tzinfo=UTC),
        reason="patient asked",
        cancelled_by="patient",
    ),
    PaymentSucceeded(
        payment_id="PAY-1",
        appointment_id="APT-1",
        amount=Decimal("120.50"),
        currency="EUR",
        provider="stripe",
    ),
    InvoiceIssued(
        invoice_id="INV-1",
        patient_id="PAT-1",
        patient=PATIENT,
        appointment_id=None,
        lines=(
            InvoiceLine(description="Consultation", quantity=1, unit_price=Decimal("10.10")),
            InvoiceLine(description="Blood test", quantity=3, unit_price=Decimal("0.01")),
        ),
        currency="EUR",
        due_on=date(2026, 4, 30),
    ),
]


def _ids(event: DomainEvent) -> str:
    return event.event_type


# --- lossless round trips ----------------------------------------------------------------


@pytest.mark.parametrize("event", CLINIC_EVENTS, ids=_ids)
def test_every_clinic_event_round_trips_through_json_unchanged(event: DomainEvent) -> None:
    text = SERIALIZER.dumps(event)
    decoded = SERIALIZER.loads(text)

    assert type(decoded) is type(event)
    assert decoded == event
    assert SERIALIZER.dumps(decoded) == text  # the same bytes: nothing was reinterpreted


def test_decimals_keep_their_exact_digits() -> None:
    event = CLINIC_EVENTS[0]
    assert isinstance(event, AppointmentCreated)

    decoded = SERIALIZER.loads(SERIALIZER.dumps(event))

    assert isinstance(decoded, AppointmentCreated)
    assert str(decoded.price) == "10.10"
    assert SERIALIZER.to_dict(event)["payload"]["price"] == "10.10"


def test_aware_datetimes_keep_their_instant_and_offset() -> None:
    event = CLINIC_EVENTS[0]
    assert isinstance(event, AppointmentCreated)

    decoded = SERIALIZER.loads(SERIALIZER.dumps(event))

    assert isinstance(decoded, AppointmentCreated)
    assert decoded.starts_at == event.starts_at
    assert decoded.starts_at.utcoffset() == timedelta(hours=2)
    assert decoded.starts_at.microsecond == 123456
    assert decoded.occurred_at.tzinfo is not None


def test_nested_values_dates_and_tuples_come_back_as_they_were() -> None:
    event = CLINIC_EVENTS[-1]
    assert isinstance(event, InvoiceIssued)

    decoded = SERIALIZER.loads(SERIALIZER.dumps(event))

    assert isinstance(decoded, InvoiceIssued)
    assert type(decoded.lines) is tuple
    assert decoded.lines == event.lines
    assert decoded.patient == PATIENT
    assert decoded.due_on == date(2026, 4, 30)
    assert decoded.appointment_id is None


def test_the_envelope_carries_metadata_beside_the_payload() -> None:
    event = CLINIC_EVENTS[0]

    envelope = json.loads(SERIALIZER.dumps(event))

    assert envelope["event_type"] == "appointment.created"
    assert envelope["version"] == 1
    assert envelope["event_id"] == str(event.event_id)
    assert envelope["correlation_id"] == str(CHAIN)
    assert envelope["causation_id"] == str(CAUSE)
    assert "event_id" not in envelope["payload"]
    assert envelope["payload"]["appointment_id"] == "APT-1"


TEXT = st.text(min_size=1, max_size=30).filter(str.strip)
AMOUNTS = st.decimals(
    min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=2, allow_nan=False
)
MOMENTS = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)


@given(
    payment_id=TEXT,
    amount=AMOUNTS,
    currency=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3),
    occurred_at=MOMENTS,
)
def test_any_payment_round_trips(
    payment_id: str, amount: Decimal, currency: str, occurred_at: datetime
) -> None:
    event = PaymentSucceeded(
        payment_id=payment_id,
        appointment_id="APT-1",
        amount=amount,
        currency=currency,
        provider="stripe",
        occurred_at=occurred_at,
    )

    decoded = SERIALIZER.loads(SERIALIZER.dumps(event))

    assert decoded == event
    assert isinstance(decoded, PaymentSucceeded)
    assert str(decoded.amount) == str(amount)


@given(
    name=TEXT,
    lines=st.lists(
        st.builds(
            InvoiceLine,
            description=TEXT,
            quantity=st.integers(min_value=1, max_value=10_000),
            unit_price=AMOUNTS,
        ),
        min_size=1,
        max_size=5,
    ),
    due_on=st.dates(),
    appointment_id=st.none() | TEXT,
)
def test_any_invoice_round_trips(
    name: str, lines: list[InvoiceLine], due_on: date, appointment_id: str | None
) -> None:
    event = InvoiceIssued(
        invoice_id="INV-1",
        patient_id="PAT-1",
        patient=Contact(name=name, phone="+34600000001"),
        appointment_id=appointment_id,
        lines=lines,
        currency="EUR",
        due_on=due_on,
    )

    assert SERIALIZER.loads(SERIALIZER.dumps(event)) == event


# --- strict reading ----------------------------------------------------------------------


def _payment_envelope() -> dict[str, Any]:
    return SERIALIZER.to_dict(CLINIC_EVENTS[3])


def _invoice_envelope() -> dict[str, Any]:
    return SERIALIZER.to_dict(CLINIC_EVENTS[-1])


def _appointment_envelope() -> dict[str, Any]:
    return SERIALIZER.to_dict(CLINIC_EVENTS[0])


def test_an_unknown_type_raises_unknown_event_type() -> None:
    envelope = _payment_envelope()
    envelope["event_type"] = "payment.teleported"

    with pytest.raises(UnknownEventType) as caught:
        SERIALIZER.from_dict(envelope)

    assert caught.value.event_type == "payment.teleported"


def _invalid(envelope: dict[str, Any]) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as caught:
        SERIALIZER.loads(json.dumps(envelope))
    return caught.value


def test_a_missing_field_names_the_field() -> None:
    envelope = _payment_envelope()
    del envelope["payload"]["amount"]

    error = _invalid(envelope)

    assert (error.event_type, error.field) == ("payment.succeeded", "amount")
    assert "missing" in error.reason


def test_an_extra_field_names_the_field() -> None:
    envelope = _payment_envelope()
    envelope["payload"]["tip"] = "1.00"

    error = _invalid(envelope)

    assert (error.event_type, error.field) == ("payment.succeeded", "tip")
    assert "extra" in error.reason


def test_an_extra_field_in_a_nested_value_names_its_path() -> None:
    envelope = _appointment_envelope()
    envelope["payload"]["patient"]["fax"] = "123"

    error = _invalid(envelope)

    assert (error.event_type, error.field) == ("appointment.created", "patient.fax")


def test_an_unexpected_envelope_key_is_invalid() -> None:
    envelope = _payment_envelope()
    envelope["priority"] = "high"

    error = _invalid(envelope)

    assert error.event_type == "payment.succeeded"
    assert "priority" in error.reason


def test_a_float_for_a_decimal_is_refused() -> None:
    envelope = _payment_envelope()
    envelope["payload"]["amount"] = 120.5

    error = _invalid(envelope)

    assert (error.event_type, error.field) == ("payment.succeeded", "amount")
    assert "float" in error.reason


def test_a_string_for_an_int_is_refused_with_its_path() -> None:
    envelope = _invoice_envelope()
    envelope["payload"]["lines"][1]["quantity"] = "3"

    error = _invalid(envelope)

    assert (error.event_type, error.field) == ("invoice.issued", "lines[1].quantity")


def test_an_int_for_a_string_is_refused() -> None:
    envelope = _payment_envelope()
    envelope["payload"]["provider"] = 7

    error = _invalid(envelope)

    assert error.field == "provider"


def test_a_value_a_validator_refuses_names_the_field() -> None:
    envelope = _payment_envelope()
    envelope["payload"]["currency"] = "euro"

    error = _invalid(envelope)

    assert (error.event_type, error.field) == ("payment.succeeded", "currency")
    assert "currency code" in error.reason


def test_a_nested_value_a_validator_refuses_names_the_event_and_the_path() -> None:
    envelope = _appointment_envelope()
    envelope["payload"]["doctor"]["name"] = "  "

    error = _invalid(envelope)

    assert (error.event_type, error.field) == ("appointment.created", "doctor.name")


def test_a_refused_value_inside_a_tuple_names_its_index() -> None:
    envelope = _invoice_envelope()
    envelope["payload"]["lines"][0]["unit_price"] = "-4.00"

    error = _invalid(envelope)

    assert (error.event_type, error.field) == ("invoice.issued", "lines[0].unit_price")


def test_a_naive_datetime_is_refused() -> None:
    envelope = _appointment_envelope()
    envelope["payload"]["starts_at"] = "2026-03-02T10:30:00"

    error = _invalid(envelope)

    assert error.field == "starts_at"


def test_an_envelope_field_inside_the_payload_is_refused() -> None:
    envelope = _payment_envelope()
    envelope["payload"]["event_id"] = str(uuid4())

    error = _invalid(envelope)

    assert error.field == "payload.event_id"


@pytest.mark.parametrize(
    "data",
    [b"{not json", "", "\xff", b"\xff\xfe"],
    ids=["broken", "empty", "odd-text", "not-utf8"],
)
def test_text_that_is_not_json_raises_event_decode_error(data: str | bytes) -> None:
    with pytest.raises(EventDecodeError, match="not valid JSON"):
        SERIALIZER.loads(data)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("[1, 2]", "JSON object"),
        ('{"payload": {}}', "event_type"),
        ('{"event_type": 3}', "event_type"),
    ],
)
def test_json_that_is_no_envelope_raises_event_decode_error(data: str, reason: str) -> None:
    with pytest.raises(EventDecodeError, match=reason):
        SERIALIZER.loads(data)


# --- versions and upcasting --------------------------------------------------------------


def _versioned_registry(version: int) -> tuple[EventTypeRegistry, type[DomainEvent]]:
    """A registry whose "unit.serialization.renamed" class is at ``version``: v1 had
    ``name``, v2 split it into ``first_name`` and ``last_name``."""
    registry = EventTypeRegistry()

    @attrs.frozen(kw_only=True)
    class PatientRenamedV1(DomainEvent, registry=EventTypeRegistry()):
        event_type = "unit.serialization.renamed"
        name: str

    if version == 1:
        registry.register(PatientRenamedV1)
        return registry, PatientRenamedV1

    current = version

    @attrs.frozen(kw_only=True)
    class PatientRenamed(DomainEvent, registry=registry):
        event_type = "unit.serialization.renamed"
        version = current
        first_name: str
        last_name: str

    return registry, PatientRenamed


def _split_name(payload: dict[str, Any]) -> dict[str, Any]:
    first, _, last = payload.pop("name").partition(" ")
    return {**payload, "first_name": first, "last_name": last}


def _written_by_v1() -> str:
    old_registry, old_class = _versioned_registry(1)
    return EventSerializer(old_registry).dumps(old_class(name="Ana Lopez"))  # type: ignore[call-arg]


def test_a_v1_payload_is_upcast_to_v2_by_its_registered_upcaster() -> None:
    registry, current = _versioned_registry(2)
    registry.register_upcaster("unit.serialization.renamed", 1, _split_name)

    decoded = EventSerializer(registry).loads(_written_by_v1())

    assert type(decoded) is current
    assert attrs.asdict(decoded)["first_name"] == "Ana"
    assert attrs.asdict(decoded)["last_name"] == "Lopez"
    assert json.loads(EventSerializer(registry).dumps(decoded))["version"] == 2


def test_a_missing_upcaster_is_an_invalid_event() -> None:
    registry, _ = _versioned_registry(3)
    registry.register_upcaster("unit.serialization.renamed", 1, _split_name)  # no 2 -> 3

    with pytest.raises(InvalidEvent, match="no upcaster from version 2 to 3") as caught:
        EventSerializer(registry).loads(_written_by_v1())

    assert caught.value.field == "version"


def test_a_version_newer_than_the_code_is_an_invalid_event() -> None:
    registry, _ = _versioned_registry(2)
    envelope = json.loads(_written_by_v1())
    envelope["version"] = 3

    with pytest.raises(InvalidEvent, match="deploy the newer code") as caught:
        EventSerializer(registry).from_dict(envelope)

    assert (caught.value.event_type, caught.value.field) == (
        "unit.serialization.renamed",
        "version",
    )


@pytest.mark.parametrize("version", ["2", True, None])
def test_a_version_that_is_no_integer_is_an_invalid_event(version: object) -> None:
    envelope = _payment_envelope()
    envelope["version"] = version

    error = _invalid(envelope)

    assert error.field == "version"

"""DomainEvent: ids, times, stable type names, abstract bases and tracing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID, uuid4

import attrs
import pytest

from hexbus import (
    DomainEvent,
    DuplicateEventType,
    EventSerializer,
    EventTypeRegistry,
    InvalidEvent,
    event_types,
)


@attrs.frozen(kw_only=True)
class Pinged(DomainEvent):
    event_type = "unit.domain.pinged"

    note: str = "hello"


@attrs.frozen(kw_only=True)
class AuditedEvent(DomainEvent):
    """An abstract intermediate base: it declares no event_type."""

    actor: str = "system"


@attrs.frozen(kw_only=True)
class RecordDeleted(AuditedEvent):
    event_type = "unit.domain.record_deleted"

    record_id: str = "r-1"


# --- ids and times -----------------------------------------------------------------------


def test_an_event_id_is_generated_and_unique() -> None:
    first, second = Pinged(), Pinged()

    assert isinstance(first.event_id, UUID)
    assert first.event_id != second.event_id


def test_a_given_event_id_is_kept() -> None:
    chosen = uuid4()

    assert Pinged(event_id=chosen).event_id == chosen


def test_occurred_at_defaults_to_now_in_utc() -> None:
    before = datetime.now(UTC)
    event = Pinged()
    after = datetime.now(UTC)

    assert event.occurred_at.tzinfo is UTC
    assert before <= event.occurred_at <= after


def test_an_aware_occurred_at_in_another_zone_is_converted_to_utc() -> None:
    madrid_noon = datetime(2026, 7, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))

    event = Pinged(occurred_at=madrid_noon)

    assert event.occurred_at.tzinfo is UTC
    assert event.occurred_at == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    assert event.occurred_at.hour == 10


def test_a_naive_occurred_at_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Pinged(occurred_at=datetime(2026, 7, 1, 12, 0))


def test_an_occurred_at_that_is_no_datetime_is_an_invalid_event() -> None:
    with pytest.raises(InvalidEvent) as caught:
        Pinged(occurred_at="2026-07-01T12:00:00+00:00")  # type: ignore[arg-type]

    assert (caught.value.event_type, caught.value.field) == ("unit.domain.pinged", "occurred_at")


@pytest.mark.parametrize("field", ["event_id", "correlation_id", "causation_id"])
def test_ids_that_are_not_uuids_are_invalid_events(field: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        Pinged(**{field: str(uuid4())})

    assert caught.value.field == field


def test_events_are_frozen_values() -> None:
    event = Pinged(note="a")

    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        event.note = "b"  # type: ignore[misc]
    assert event == attrs.evolve(event)
    assert event != Pinged(note="a")  # another event_id is another event


# --- types and registration --------------------------------------------------------------


def test_the_base_class_cannot_be_instantiated() -> None:
    with pytest.raises(TypeError, match="declares no event_type"):
        DomainEvent()


def test_an_intermediate_base_without_event_type_is_abstract_but_its_subclass_is_not() -> None:
    with pytest.raises(TypeError, match="AuditedEvent declares no event_type"):
        AuditedEvent()

    deleted = RecordDeleted(actor="ana")

    assert (deleted.actor, deleted.record_id) == ("ana", "r-1")
    assert "unit.domain.record_deleted" in event_types
    assert event_types.resolve("unit.domain.record_deleted") is RecordDeleted


def test_declaring_an_event_type_registers_the_class_by_that_name() -> None:
    assert event_types.resolve("unit.domain.pinged") is Pinged


def test_a_name_taken_by_another_class_raises_duplicate_event_type() -> None:
    registry = EventTypeRegistry()

    @attrs.frozen(kw_only=True)
    class First(DomainEvent, registry=registry):
        event_type = "unit.domain.taken"

    with pytest.raises(DuplicateEventType) as caught:

        @attrs.frozen(kw_only=True)
        class Second(DomainEvent, registry=registry):
            event_type = "unit.domain.taken"

    assert caught.value.event_type == "unit.domain.taken"
    assert "First" in str(caught.value)
    assert "Second" in str(caught.value)
    assert registry.resolve("unit.domain.taken") is First
    assert "unit.domain.taken" not in event_types


@pytest.mark.parametrize("bad", ["", "   ", 42])
def test_an_event_type_must_be_a_non_empty_string(bad: object) -> None:
    with pytest.raises(TypeError, match="non-empty string"):

        class Broken(DomainEvent, registry=EventTypeRegistry()):
            event_type = bad  # type: ignore[assignment]


def test_a_version_must_be_a_positive_int() -> None:
    with pytest.raises(TypeError, match="version must be an int >= 1"):

        class Broken(DomainEvent, registry=EventTypeRegistry()):
            event_type = "unit.domain.versionless"
            version = 0


def test_the_type_name_survives_a_class_rename() -> None:
    # Yesterday's code called the class PatientRegistered; today's calls it PatientSignedUp.
    # Messages written by one are read by the other, because the wire names the type.
    yesterday, today = EventTypeRegistry(), EventTypeRegistry()

    @attrs.frozen(kw_only=True)
    class PatientRegistered(DomainEvent, registry=yesterday):
        event_type = "unit.domain.patient_registered"
        patient_id: str

    @attrs.frozen(kw_only=True)
    class PatientSignedUp(DomainEvent, registry=today):
        event_type = "unit.domain.patient_registered"
        patient_id: str

    old = PatientRegistered(patient_id="p-1")
    new = EventSerializer(today).loads(EventSerializer(yesterday).dumps(old))
    back = EventSerializer(yesterday).loads(EventSerializer(today).dumps(new))

    assert type(new) is PatientSignedUp
    assert (new.event_id, new.occurred_at, new.patient_id) == (
        old.event_id,
        old.occurred_at,
        "p-1",
    )
    assert back == old


# --- tracing -----------------------------------------------------------------------------


def test_an_event_caused_by_a_first_one_starts_the_chain_with_its_id() -> None:
    first = Pinged()

    second = Pinged(**first.caused())

    assert second.correlation_id == first.event_id
    assert second.causation_id == first.event_id


def test_a_chain_keeps_its_correlation_id_and_names_the_direct_cause() -> None:
    first = Pinged()
    second = Pinged(**first.caused())

    third = Pinged(**second.caused())

    assert third.correlation_id == first.event_id
    assert third.causation_id == second.event_id


def test_a_new_event_has_no_tracing_ids() -> None:
    event = Pinged()

    assert (event.correlation_id, event.causation_id) == (None, None)

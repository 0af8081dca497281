"""The event id a message's keys are named by: canonical whatever spelling the envelope has."""

from __future__ import annotations

import uuid

import pytest

from hexbus.adapters.dramatiq.deliveries import event_id_of

ID = uuid.UUID("12345678-9abc-4def-8123-456789abcdef")


def test_a_canonical_id_is_kept_as_it_is() -> None:
    assert event_id_of({"event_id": str(ID)}) == str(ID)


@pytest.mark.parametrize(
    "spelling",
    [str(ID).upper(), ID.hex, f"{{{ID}}}", f"urn:uuid:{ID}", str(ID).upper().replace("-", "")],
)
def test_another_spelling_of_a_uuid_is_made_canonical(spelling: str) -> None:
    assert event_id_of({"event_id": spelling}) == str(ID)


@pytest.mark.parametrize(
    "envelope",
    [{}, {"event_id": "not-a-uuid"}, {"event_id": None}, {"event_id": 7}, [], None, "x"],
)
def test_no_usable_id_is_the_empty_string(envelope: object) -> None:
    assert event_id_of(envelope) == ""

"""What an outbox row holds: the envelope the process's one serializer writes (sealed when
payload encryption is on) and the due time of a delayed event."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from hexbus.adapters.clocks import VirtualClock
from hexbus.adapters.encryption.keys import generate_key
from hexbus.container import create_container
from hexbus.testing import RecordingHandler

from .apps import Parcel

pytestmark = pytest.mark.postgres


def test_the_outbox_row_carries_the_envelope_sealed_when_encryption_is_on(
    database_url: str,
) -> None:
    container = create_container(
        {"DATABASE_URL": database_url, "HEXBUS_ENCRYPTION_KEYS": generate_key()},
        clock=VirtualClock(),
    )
    handler = RecordingHandler()
    container.processor().register_handler(Parcel, handler, name="tests.outbox.sealed")
    uow = container.unit_of_work()
    with uow:
        uow.publish(Parcel(number=41), delay=timedelta(hours=1))
    with container.database_engine().connect() as connection:
        envelope, due_at = connection.exec_driver_sql(
            "SELECT envelope, due_at FROM hexbus_outbox"
        ).one()

    assert "ciphertext" in json.loads(envelope)
    assert "payload" not in json.loads(envelope), "the payload is sealed, not in clear"
    assert due_at is not None, "the delay is carried as a due time"
    assert container.outbox_relay().drain().published == 1
    container.event_bus().advance(timedelta(hours=1))
    assert [event.number for event in handler.events] == [41]
    container.database_engine().dispose()

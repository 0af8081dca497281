"""The app the outbox tests' processes load: one event type, one handler that counts in Redis."""

from __future__ import annotations

import os

import attrs
import redis

from hexbus import DomainEvent
from hexbus.container import Container

HANDLED_KEY = "OUTBOX_TEST_HANDLED_KEY"
"""The environment variable naming the Redis list the handler appends each event number to."""


@attrs.frozen(kw_only=True)
class Parcel(DomainEvent):
    """An event committed through the outbox; ``number`` tells the copies apart."""

    event_type = "tests.outbox.parcel"

    number: int


def register(container: Container) -> None:
    """Register the counting handler on the ``parcels`` queue."""
    url = container.settings().redis.url
    key = os.environ.get(HANDLED_KEY, "outbox-test:handled")
    client = redis.Redis.from_url(url)

    def record(event: Parcel) -> None:
        client.rpush(key, str(event.number))

    container.processor().register_handler(
        Parcel, record, name="tests.outbox.record", queue="parcels"
    )

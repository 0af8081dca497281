"""A worker that stops with a handler still running leaves its message to recovery."""

from __future__ import annotations

import threading
from datetime import timedelta

import attrs
import pytest

from hexbus import DomainEvent, DomainEventsProcessor
from hexbus.adapters.dramatiq import DramatiqEventBus, MaintenanceTimings, RedisKeys, WorkerRuntime
from hexbus.adapters.dramatiq.maintenance import Maintenance
from hexbus.testing.redis_server import RedisServer

from .conftest import wait_for

pytestmark = pytest.mark.redis


@attrs.frozen(kw_only=True)
class Long(DomainEvent):
    event_type = "it.shutdown.long"


def test_a_handler_outliving_the_shutdown_timeout_is_recovered_not_stranded(
    redis_server: RedisServer, namespace: str
) -> None:
    started, release = threading.Event(), threading.Event()
    runs: list[str] = []

    def long(event: Long) -> None:
        runs.append("run")
        started.set()
        release.wait(10)

    processor = DomainEventsProcessor()
    processor.register_handler(Long, long, name="it.long", queue="long")
    client = redis_server.client()
    keys = RedisKeys(namespace)
    timings = MaintenanceTimings(
        heartbeat_interval=timedelta(milliseconds=100), heartbeat_timeout=timedelta(seconds=1)
    )
    DramatiqEventBus(processor, client, keys=keys).publish(Long())
    runtime = WorkerRuntime(
        processor=processor, client=client, queues=["long"], threads=1, keys=keys, timings=timings
    )
    runtime.start()
    try:
        assert started.wait(10), "the handler started"
        runtime.stop(timedelta(milliseconds=200))
        assert client.scard(keys.acks(runtime.broker_id, "long")) == 1, "still in flight"
        assert client.zscore(keys.heartbeats, runtime.broker_id) is not None, "heartbeat kept"
        # Another worker's recovery finds the stale heartbeat and gives the message back.
        other = Maintenance(client, keys, broker_id="other", queues=["long"], timings=timings)
        wait_for(lambda: other.recover() == 1, timeout=5, what="recovery of the message")
        assert client.llen(keys.queue("long")) == 1
    finally:
        release.set()

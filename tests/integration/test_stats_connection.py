"""The stats call's connection of its own (RedisQueueMonitor keeps one for queue_stats, ADR
0019): made when first needed, not when the monitor is built, and made again when lost."""

from __future__ import annotations

import pytest
import redis

from hexbus.adapters.dramatiq import RedisKeys
from hexbus.adapters.dramatiq.monitor import RedisQueueMonitor
from hexbus.container import create_container
from hexbus.domain.errors import EventBusUnavailable
from hexbus.testing.redis_server import RedisServer, free_port

from .apps import Job, register

pytestmark = pytest.mark.redis


def _waiting(monitor: RedisQueueMonitor) -> dict[str, int]:
    return {s.queue: s.waiting for s in monitor.queue_stats()}


def _stats_connections(client: redis.Redis) -> list[dict[str, object]]:
    """The server's connections whose last command was a script (the stats call's is one)."""
    return [c for c in client.client_list() if c.get("cmd") == "evalsha"]


def test_a_lost_stats_connection_is_made_again(wired) -> None:  # type: ignore[no-untyped-def]
    bus, monitor, _ = wired
    bus.publish(Job(label="before"))
    assert _waiting(monitor)["work"] == 1
    killer = bus.client
    before = _stats_connections(killer)
    assert before, "the stats connection is open"
    # Every connection but this one: the stats call's among them (as when Redis restarts).
    assert killer.client_kill_filter(_type="normal", skipme=True) >= 1
    assert not {c["id"] for c in before} & {c["id"] for c in killer.client_list()}
    bus.publish(Job(label="after"))
    try:
        answer = _waiting(monitor)
    except EventBusUnavailable:
        answer = _waiting(monitor)  # the call that met the closed connection may fail once
    assert answer["work"] == 2


def test_a_monitor_built_while_redis_is_down_reads_once_it_is_up() -> None:
    port = free_port()
    namespace = "stats-connection"
    container = create_container(
        {
            "REDIS_URL": f"redis://127.0.0.1:{port}/0",
            "HEXBUS_NAMESPACE": namespace,
            "USE_QUEUE_EVENT_BUS": "true",
            "REDIS_CONNECT_TIMEOUT": "0.5",
        }
    )
    register(container)
    monitor = container.monitor()  # nothing listens yet: building it connects to nothing
    assert isinstance(monitor, RedisQueueMonitor)
    with pytest.raises(EventBusUnavailable):
        monitor.queue_stats()
    with RedisServer(port=port) as server:
        client = server.client()
        client.rpush(RedisKeys(namespace=namespace).queue("work"), "m1", "m2")
        assert _waiting(monitor)["work"] == 2

"""The outbox relay against a real PostgreSQL and a real Redis, with real processes.

Each test commits events through a unit of work, runs relays (``hexbus outbox relay``) and
workers (``hexbus worker-process``) as production does, breaks something (a crash, a kill,
Redis down, a second relay) and checks that every event reaches its handler exactly once.
"""

from __future__ import annotations

import signal
import time
from collections import Counter

import httpx
import pytest
import redis

from hexbus.container import Container
from hexbus.testing.redis_server import RedisServer, free_port

from .apps import Parcel
from .conftest import (
    APP,
    Start,
    handled,
    outbox_rows,
    relay_totals,
    start_worker,
    wait_for,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def commit(container: Container, numbers: range) -> None:
    uow = container.unit_of_work()
    with uow:
        uow.publish_all(Parcel(number=n) for n in numbers)


def test_an_event_committed_before_a_crash_arrives_when_a_relay_starts(
    container: Container, client: redis.Redis, env: dict[str, str], start: Start
) -> None:
    writer = start("tests/outbox/commit_and_crash.py", "3")
    output, _ = writer.communicate(timeout=30)
    assert writer.returncode == -signal.SIGKILL, output
    assert "committed" in output
    assert outbox_rows(container) == 3, "committed, and no relay has run"

    # The relay that comes later runs in the worker supervisor (hexbus worker --outbox-relay),
    # which also serves the outbox's gauges on its /metrics.
    port = free_port()
    supervisor = start(
        "worker", "--queues", "parcels=2", "--outbox-relay", "--app", APP,
        extra_env={"HEXBUS_METRICS_PORT": str(port)},
    )  # fmt: skip
    wait_for(lambda: len(handled(client, env)) == 3, timeout=30, what="the 3 parcels handled")
    wait_for(lambda: outbox_rows(container) == 0, timeout=10, what="the relay to delete the rows")
    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text

    assert sorted(handled(client, env)) == [0, 1, 2]
    assert "hexbus_outbox_rows 0.0" in metrics
    assert "hexbus_outbox_up 1.0" in metrics
    supervisor.send_signal(signal.SIGTERM)
    supervisor.wait(timeout=30)


def test_a_rolled_back_unit_of_work_publishes_nothing(
    container: Container, client: redis.Redis, env: dict[str, str], start: Start
) -> None:
    uow = container.unit_of_work()

    def failing_use_case() -> None:
        with uow:
            uow.publish(Parcel(number=1))
            raise RuntimeError("the use case failed after publishing")

    with pytest.raises(RuntimeError):
        failing_use_case()
    commit(container, range(2, 3))  # a later, committed one: proves the path works
    start_worker(start)
    totals = container.outbox_relay().drain()
    wait_for(lambda: handled(client, env) == [2], timeout=30, what="the committed parcel")

    assert totals.published == 1
    assert outbox_rows(container) == 0
    time.sleep(0.5)  # anything published by mistake would have been handled by now
    assert handled(client, env) == [2]


def test_a_relay_killed_mid_batch_loses_nothing_and_each_handler_runs_once(
    container: Container, client: redis.Redis, env: dict[str, str], start: Start
) -> None:
    total, batch = 200, 50
    commit(container, range(total))
    start_worker(start)
    # A SHARE lock lets a relay lock rows (FOR UPDATE) but not delete them: the relay takes a
    # batch, publishes it to Redis, and stops at its DELETE, mid-batch. Kill it there.
    holder = container.database_engine().connect()
    transaction = holder.begin()
    holder.exec_driver_sql("LOCK TABLE hexbus_outbox IN SHARE MODE")
    try:
        relay = start(
            "outbox", "relay", "--app", APP, extra_env={"HEXBUS_OUTBOX_BATCH": str(batch)}
        )
        wait_for(
            lambda: len(handled(client, env)) == batch,
            timeout=30,
            what="the first batch published and handled",
        )
        relay.send_signal(signal.SIGKILL)
        relay.wait(timeout=10)
    finally:
        transaction.rollback()
        holder.close()
    assert outbox_rows(container) == total, "the killed relay deleted nothing"

    totals = relay_totals(start("outbox", "relay", "--until-empty", "--json", "--app", APP))
    wait_for(
        lambda: len(handled(client, env)) >= total, timeout=60, what=f"{total} parcels handled"
    )
    time.sleep(0.5)  # a second run of any handler would show up by now

    counts = Counter(handled(client, env))
    assert set(counts) == set(range(total)), "every committed parcel arrived"
    assert max(counts.values()) == 1, "and each handler ran once"
    assert outbox_rows(container) == 0
    assert totals["duplicates"] == batch, "the killed batch was published again, as duplicates"
    assert totals["published"] == total - batch


def test_two_relays_racing_over_10000_rows_publish_each_event_once(
    container: Container, start: Start
) -> None:
    total = 10_000
    commit(container, range(total))
    batch = {"HEXBUS_OUTBOX_BATCH": "500"}
    relays = [
        start("outbox", "relay", "--until-empty", "--json", "--app", APP, extra_env=batch)
        for _ in range(2)
    ]
    totals = [relay_totals(relay, timeout=120) for relay in relays]

    assert sum(t["published"] for t in totals) == total
    assert sum(t["duplicates"] for t in totals) == 0, "no row was published by both relays"
    assert outbox_rows(container) == 0


def test_rows_wait_while_redis_is_down_then_drain(
    container: Container,
    client: redis.Redis,
    env: dict[str, str],
    start: Start,
    redis_server: RedisServer,
) -> None:
    relay = start("outbox", "relay", "--app", APP)
    time.sleep(1.0)  # the relay is up and listening
    redis_server.kill()
    try:
        commit(container, range(20))
        wait_for(
            lambda: container.outbox_monitor().stats().max_attempts >= 2,
            timeout=30,
            what="the relay to fail and retry while Redis is down",
        )
        stats = container.outbox_monitor().stats()
        assert stats.rows == 20, "nothing is dropped while the bus is down"
        assert stats.retrying == 20
        assert stats.last_error is not None
        assert "EventBusUnavailable" in stats.last_error
        assert relay.poll() is None, "the relay keeps running"
    finally:
        redis_server.start()

    start_worker(start)
    wait_for(lambda: outbox_rows(container) == 0, timeout=30, what="the rows to drain")
    wait_for(lambda: len(handled(client, env)) == 20, timeout=30, what="20 parcels handled")
    time.sleep(0.3)
    assert sorted(handled(client, env)) == list(range(20))
    relay.send_signal(signal.SIGTERM)
    output, _ = relay.communicate(timeout=15)
    assert relay.returncode == 0, output
    assert "outbox relay stopped: 20 published" in output

"""The mover wakes at the next due time, and for an earlier one announced while it sleeps.

Every mover here has a safety interval of a minute (``move_interval``), so an entry that moves
within the few seconds the tests wait was moved because the mover knew or was told its due
time, not because it polled.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import attrs
import pytest
import redis

from hexbus import DomainEvent, DomainEventsProcessor
from hexbus.adapters.clocks import VirtualClock
from hexbus.adapters.dramatiq import DramatiqEventBus, RedisKeys
from hexbus.adapters.dramatiq.maintenance import Maintenance, MaintenanceTimings
from hexbus.adapters.dramatiq.routes import Declaration, RedisRoutes
from hexbus.testing.redis_server import RedisServer

from .conftest import wait_for

pytestmark = pytest.mark.redis

QUEUE = "timers"
SLEEPY = MaintenanceTimings(move_interval=timedelta(minutes=1))


@attrs.frozen(kw_only=True)
class Timer(DomainEvent):
    event_type = "it.timer"
    label: str


@attrs.frozen(kw_only=True)
class Setup:
    bus: DramatiqEventBus
    client: redis.Redis
    keys: RedisKeys
    maintenance: Maintenance

    def waiting(self) -> int:
        return int(self.client.llen(self.keys.queue(QUEUE)))


@pytest.fixture
def setup(redis_server: RedisServer, namespace: str) -> Iterator[Setup]:
    processor = DomainEventsProcessor()
    processor.register_handler(Timer, lambda event: None, name="it.tick", queue=QUEUE)
    client = redis_server.client()
    keys = RedisKeys(namespace)
    routes = RedisRoutes(client, keys)
    # The routes are declared, but nothing consumes: a moved entry stays in its queue.
    routes.declare(Declaration.of(processor, [QUEUE], broker_id="w", started=datetime.now(UTC)))
    maintenance = Maintenance(client, keys, broker_id="mover", queues=[QUEUE], timings=SLEEPY)
    yield Setup(
        bus=DramatiqEventBus(processor, client, keys=keys),
        client=client,
        keys=keys,
        maintenance=maintenance,
    )
    maintenance.stop()


def test_the_mover_moves_an_entry_at_its_due_time(setup: Setup) -> None:
    setup.maintenance.start_mover()
    setup.bus.publish(Timer(label="soon"), delay=timedelta(milliseconds=300))
    wait_for(lambda: setup.waiting() == 1, timeout=5, what="the timer moved when due")


def test_an_earlier_entry_wakes_a_mover_asleep_until_a_later_one(setup: Setup) -> None:
    setup.bus.publish(Timer(label="later"), delay=timedelta(seconds=40))
    setup.maintenance.start_mover()  # it moves nothing and sleeps until the later one
    setup.bus.publish(Timer(label="sooner"), delay=timedelta(milliseconds=300))
    wait_for(lambda: setup.waiting() == 1, timeout=5, what="the sooner timer moved")
    assert int(setup.client.zcard(setup.keys.schedule)) == 1, "the later one still waits"


def test_rescheduling_earlier_wakes_the_mover(setup: Setup) -> None:
    timer = Timer(label="moved up")
    setup.bus.publish(timer, delay=timedelta(hours=1))
    setup.maintenance.start_mover()
    assert setup.bus.reschedule(timer.event_id, delay=timedelta(milliseconds=200))
    wait_for(lambda: setup.waiting() == 1, timeout=5, what="the rescheduled timer moved")


def test_a_mover_that_lost_its_channel_moves_what_was_announced_meanwhile(
    setup: Setup,
) -> None:
    setup.maintenance.start_mover()
    wait_for(lambda: _pubsub_clients(setup.client) == 1, timeout=5, what="the mover listening")
    setup.client.client_kill_filter(_type="pubsub")
    # Announced while the mover is reconnecting (or after): it must move it either way.
    setup.bus.publish(Timer(label="while away"), delay=timedelta(milliseconds=100))
    wait_for(lambda: setup.waiting() == 1, timeout=10, what="the timer moved after reconnect")


def test_a_due_burst_larger_than_a_batch_moves_at_once(setup: Setup) -> None:
    due = datetime.now(UTC) + timedelta(milliseconds=500)
    pipe_size = 1_200  # more than the mover's batch of 500
    for i in range(pipe_size):
        setup.bus.publish(Timer(label=f"b{i}"), at=due)
    setup.maintenance.start_mover()
    wait_for(lambda: setup.waiting() == pipe_size, timeout=10, what="the whole burst moved")


def test_one_move_of_more_entries_than_a_chunk_keeps_order_counts_and_statuses(
    setup: Setup,
) -> None:
    """move_due.lua writes what its entries share once per call, in chunks of 1,000: a call
    of 2,500 moves every entry once, in due order, with its status and counts."""
    clock = VirtualClock(datetime.now(UTC))
    bus = DramatiqEventBus(setup.bus.processor, setup.client, keys=setup.keys, clock=clock)
    big = Maintenance(
        setup.client,
        setup.keys,
        broker_id="big",
        queues=[QUEUE],
        timings=MaintenanceTimings(move_interval=timedelta(minutes=1), move_batch=2_500),
        clock=clock,
    )
    start = clock.now() + timedelta(hours=1)
    timers = [Timer(label=f"c{i}") for i in range(2_500)]
    for i, timer in enumerate(timers):
        bus.publish(timer, at=start + timedelta(milliseconds=i))
    stats = setup.keys.stats(QUEUE)
    assert int(setup.client.hget(stats, "scheduled") or 0) == 2_500
    clock.advance(timedelta(hours=2))
    setup.client.config_resetstat()
    assert big.move_due() == 2_500
    counted = setup.client.info("commandstats")
    inside = sum(v["calls"] for k, v in counted.items() if k != "cmdstat_evalsha")
    assert inside <= 6 * 2_500, f"{inside / 2_500:.1f} Redis calls per moved entry"
    assert setup.waiting() == 2_500
    assert int(setup.client.zcard(setup.keys.schedule)) == 0
    assert int(setup.client.hlen(setup.keys.schedule_items)) == 0
    assert int(setup.client.hget(stats, "scheduled") or 0) == 0
    ids = [i.decode() for i in setup.client.lrange(setup.keys.queue(QUEUE), 0, -1)]
    bodies = setup.client.hmget(setup.keys.messages(QUEUE), ids)
    labels = [json.loads(b)["args"][1]["payload"]["label"] for b in bodies]
    assert labels == [t.label for t in timers], "in due order, each once"
    status = setup.client.hgetall(setup.keys.status(timers[-1].event_id))
    assert status[b"it.tick|s"] == b"queued"
    assert status[b"it.tick|a"] == b"0"
    assert status[b"_handlers"] == b"it.tick"
    assert setup.client.pttl(setup.keys.status(timers[-1].event_id)) > 0


def test_stopping_ends_a_sleeping_mover_promptly(setup: Setup) -> None:
    setup.maintenance.start_mover()
    done = threading.Event()

    def stop() -> None:
        setup.maintenance.stop()
        done.set()

    threading.Thread(target=stop).start()
    assert done.wait(5), "a mover asleep for a minute still stops within seconds"


def _pubsub_clients(client: redis.Redis) -> int:
    return sum(1 for c in client.client_list() if c.get("flags", "").find("P") >= 0)

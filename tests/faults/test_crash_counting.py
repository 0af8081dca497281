"""A handler that kills its worker process (``os._exit``, as a segfault or the OOM killer
would) is run at most ``HEXBUS_MAX_WORKER_DEATHS`` times, then dead-lettered with the reason;
the events around it are handled, black-box."""

from __future__ import annotations

import json
import time

import pytest
import redis

from hexbus.adapters.dramatiq import DramatiqEventBus, RedisKeys
from hexbus.container import create_container

from .apps import Tick, storm
from .conftest import StartSupervisor
from .storm import handled
from .test_supervisor_faults import live_heartbeats, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def test_a_handler_that_crashes_its_worker_ends_in_the_dead_letters(
    start_supervisor: StartSupervisor,
    worker_env: dict[str, str],
    client: redis.Redis,
    namespace: str,
) -> None:
    keys = RedisKeys(namespace)
    container = create_container(worker_env)
    storm(container)
    bus = container.event_bus()
    assert isinstance(bus, DramatiqEventBus)
    supervisor = start_supervisor("storm=1x2", app="tests.faults.apps:storm")
    wait_for(lambda: live_heartbeats(client, namespace) == 2, timeout=40, what="two workers")
    began = time.monotonic()
    poison = Tick(n=0, crash=True)
    good = [Tick(n=n) for n in range(1, 21)]
    bus.publish(poison)
    bus.publish_all(good)
    wait_for(lambda: client.zcard(keys.dead) == 1, timeout=90, what="the dead letter")
    took = time.monotonic() - began
    ids = [str(e.event_id) for e in good]
    wait_for(lambda: len(handled(client, keys, ids)) == len(ids), timeout=30, what="the rest")
    [item] = client.hvals(keys.dead_items)
    dead = json.loads(item)
    exits = supervisor.output.count("exited with")
    print(
        f"crash loop: the poison event killed {exits} worker processes, dead-lettered after "
        f"{took:.1f}s with reason {dead['reason']!r} ({dead['error']}); "
        f"{len(handled(client, keys, ids))}/{len(ids)} other events handled"
    )
    assert dead["reason"] == "worker_died"
    assert dead["error"] == "worker died while handling it 3 times"
    assert dead["event_id"] == str(poison.event_id)
    assert dead["handler"] == "faults.count"
    assert exits == 3, "the default HEXBUS_MAX_WORKER_DEATHS"
    assert not client.hlen(keys.runs("storm")), "no start count left behind"

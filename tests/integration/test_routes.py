"""Routes held by Redis, with processes as deployed (ADR 0015).

* A process that loads no app publishes; ``hexbus worker --app ...`` runs the handlers.
* A rolling deploy: worker A runs v1 (h1 on the old queue), worker B v2 (h1 moved to a new
  queue, and h2); then A stops. The rule: the route is the live worker's that started last.
* Pruning: a route whose worker is gone stays for the grace period, or until
  ``hexbus routes prune``; what was queued for it stays, and shows in the stats.
* The rules themselves on a virtual clock, and the cost of publishing in round trips.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis

from hexbus import DomainEventsProcessor
from hexbus.adapters.clocks import VirtualClock
from hexbus.adapters.dramatiq import DramatiqEventBus, RedisKeys
from hexbus.adapters.dramatiq.routes import Declaration, RedisRoutes, Route
from hexbus.container import create_container

from .conftest import ROOT, StartWorker, wait_for, wait_for_routes
from .route_apps import NEW_QUEUE, OLD_QUEUE, Shipped

pytestmark = [pytest.mark.redis, pytest.mark.slow]

V1 = "tests.integration.route_apps:v1"
V2 = "tests.integration.route_apps:v2"


def runs(client: redis.Redis, namespace: str) -> list[tuple[str, str, str, int]]:
    """(handler, label, queue, pid) of every run the route apps noted."""
    out = []
    for raw in client.lrange(f"{namespace}:test:rt", 0, -1):
        handler, label, queue, pid = raw.decode().split("|")
        out.append((handler, label, queue, int(pid)))
    return out


def ran(client: redis.Redis, namespace: str) -> set[tuple[str, str, str]]:
    """(handler, label, queue) of every run."""
    return {(h, label, q) for h, label, q, _ in runs(client, namespace)}


def command(
    env: dict[str, str], *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        env=env,
        cwd=ROOT,
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def hexbus(
    env: dict[str, str], *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``hexbus ARGS`` with no --app: routes and stats come from Redis."""
    return command(env, "-m", "hexbus.adapters.cli", *args, input=input)


def routes_json(env: dict[str, str]) -> dict[str, Any]:
    listed = hexbus(env, "routes", "--json")
    assert listed.returncode == 0, listed.stderr
    return {route["handler"]: route for route in json.loads(listed.stdout)["routes"]}


def stats_json(env: dict[str, str]) -> dict[str, Any]:
    shown = hexbus(env, "stats", "--json")
    assert shown.returncode == 0, shown.stderr
    return dict(json.loads(shown.stdout))


def waiting(env: dict[str, str], queue: str) -> int:
    return next((q["waiting"] for q in stats_json(env)["queues"] if q["queue"] == queue), 0)


def publisher(env: dict[str, str]) -> DramatiqEventBus:
    """A publisher in this process that loads no app: its registry is empty."""
    bus = create_container(env).event_bus()
    assert isinstance(bus, DramatiqEventBus)
    assert len(bus.processor) == 0
    return bus


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=40) == 0


def test_a_publisher_process_without_the_app_reaches_the_handlers_of_hexbus_worker(
    worker_env: dict[str, str], client: redis.Redis, namespace: str, start_worker: StartWorker
) -> None:
    def publish(*labels: str) -> list[dict[str, Any]]:
        done = command(worker_env, "-m", "tests.integration.publisher", *labels)
        assert done.returncode == 0, done.stderr
        return [json.loads(line) for line in done.stdout.splitlines()]

    # Before any worker ever ran: accepted, counted as unrouted, kept.
    assert publish("early") == [{"outcome": "accepted", "unrouted": True}]
    supervisor = start_worker(f"{NEW_QUEUE}=2", supervise=True, app=V2)
    try:
        wait_for_routes(client, namespace, {"rt.h1", "rt.h2"})
        assert publish("late-1", "late-2") == [{"outcome": "accepted", "unrouted": False}] * 2

        expected = {
            (handler, label, NEW_QUEUE)
            for handler in ("rt.h1", "rt.h2")
            for label in ("early", "late-1", "late-2")
        }
        wait_for(lambda: ran(client, namespace) == expected, timeout=30, what="every run")
        assert len(runs(client, namespace)) == 6, "each handler once per event"
        (unrouted,) = stats_json(worker_env)["unrouted"]
        assert (unrouted["event_type"], unrouted["count"]) == (Shipped.event_type, 1)
    finally:
        stop(supervisor)


def test_a_rolling_deploy_moves_a_handler_to_the_newest_workers_queue(
    worker_env: dict[str, str], client: redis.Redis, namespace: str, start_worker: StartWorker
) -> None:
    bus = publisher(worker_env)
    control = create_container(worker_env).queue_control()
    worker_a = start_worker(OLD_QUEUE, threads=1, app=V1)
    wait_for_routes(client, namespace, {"rt.h1"})
    bus.publish(Shipped(label="before-b"))
    wait_for(lambda: ("rt.h1", "before-b", OLD_QUEUE) in ran(client, namespace), timeout=20)
    control.pause(OLD_QUEUE)
    bus.publish(Shipped(label="queued-for-a"))  # routed to A's queue, held there

    worker_b = start_worker(NEW_QUEUE, threads=1, app=V2)
    wait_for_routes(client, namespace, {"rt.h1", "rt.h2"})
    wait_for(lambda: routes_json(worker_env)["rt.h1"]["queue"] == NEW_QUEUE, timeout=20)
    h1 = routes_json(worker_env)["rt.h1"]
    assert sorted(d["queue"] for d in h1["declared_by"]) == [NEW_QUEUE, OLD_QUEUE], (
        "both workers declare h1, each with its own queue"
    )
    bus.publish(Shipped(label="after-b"))
    control.resume(OLD_QUEUE)

    wait_for(
        lambda: (
            {
                ("rt.h1", "queued-for-a", OLD_QUEUE),
                ("rt.h1", "after-b", NEW_QUEUE),
                ("rt.h2", "after-b", NEW_QUEUE),
            }
            <= ran(client, namespace)
        ),
        timeout=20,
        what="B's queue to get what was published after B started, A to drain its own",
    )
    stop(worker_a)
    bus.publish(Shipped(label="after-a"))
    wait_for(
        lambda: (
            {("rt.h1", "after-a", NEW_QUEUE), ("rt.h2", "after-a", NEW_QUEUE)}
            <= ran(client, namespace)
        ),
        timeout=20,
    )
    assert len(runs(client, namespace)) == 6, "h1 once per event, h2 once after B started"
    assert [d["queue"] for d in routes_json(worker_env)["rt.h1"]["declared_by"]] == [NEW_QUEUE]
    stop(worker_b)


def test_a_route_no_worker_declares_stays_until_pruned_and_its_queue_is_kept(
    worker_env: dict[str, str], client: redis.Redis, namespace: str, start_worker: StartWorker
) -> None:
    bus = publisher(worker_env)
    worker = start_worker(OLD_QUEUE, threads=1, app=V1)
    wait_for_routes(client, namespace, {"rt.h1"})
    stop(worker)

    stale = routes_json(worker_env)["rt.h1"]
    assert (stale["live"], stale["declared_by"]) == (False, [])
    assert stale["prunes_at"] is not None, "pruned by the workers after HEXBUS_ROUTE_GRACE"
    assert not bus.publish(Shipped(label="while-down")).unrouted, "still routed in the grace"
    assert waiting(worker_env, OLD_QUEUE) == 1

    declined = hexbus(worker_env, "routes", "prune", input="n\n")
    assert declined.returncode == 1
    assert "rt.h1" in declined.stdout, "it shows what would go"
    assert "rt.h1" in routes_json(worker_env)
    pruned = hexbus(worker_env, "routes", "prune", "--yes")
    assert pruned.returncode == 0, pruned.stderr
    assert "pruned 1 route(s): rt.h1" in pruned.stdout
    assert routes_json(worker_env) == {}

    assert bus.publish(Shipped(label="after-prune")).unrouted
    stats = stats_json(worker_env)
    assert next(q["waiting"] for q in stats["queues"] if q["queue"] == OLD_QUEUE) == 1, (
        "what was queued for the pruned route is still there"
    )
    assert [(u["count"], u["kept"]) for u in stats["unrouted"]] == [(1, 1)]

    again = start_worker(OLD_QUEUE, threads=1, app=V1)
    wait_for(
        lambda: (
            ran(client, namespace)
            == {("rt.h1", "while-down", OLD_QUEUE), ("rt.h1", "after-prune", OLD_QUEUE)}
        ),
        timeout=20,
        what="the queued event, and the kept one, to reach the worker that came back",
    )
    stop(again)


# --- the rules, on a virtual clock ------------------------------------------------------------


START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_the_newest_live_worker_owns_a_route_and_a_stale_one_is_pruned_after_the_grace(
    client: redis.Redis, namespace: str
) -> None:
    keys = RedisKeys(namespace)
    clock = VirtualClock(START)
    routes = RedisRoutes(
        client,
        keys,
        clock=clock,
        heartbeat_timeout=timedelta(seconds=10),
        grace=timedelta(minutes=1),
    )

    def beat(broker: str) -> None:
        client.zadd(keys.heartbeats, {broker: int(clock.now().timestamp() * 1000)})

    def queue_of(handler: str) -> str:
        return next(r.queue for r in routes.read().routes if r.handler == handler)

    old = Declaration(broker_id="a", started=clock.now(), routes=(Route("h", "t", "q-old"),))
    beat("a")
    routes.declare(old)
    clock.advance(timedelta(seconds=5))
    new = Declaration(broker_id="b", started=clock.now(), routes=(Route("h", "t", "q-new"),))
    beat("b")
    assert routes.declare(new).changed
    version = routes.read().version

    assert not routes.declare(old).changed, "an older worker's refresh changes nothing"
    assert (queue_of("h"), routes.read().version) == ("q-new", version)

    clock.advance(timedelta(seconds=11))  # b's heartbeat is older than the timeout: dead
    beat("a")
    assert routes.declare(old).changed, "the live older worker takes the route back"
    assert queue_of("h") == "q-old"

    clock.advance(timedelta(seconds=59))
    assert routes.prune_stale() == [], "within the grace"
    clock.advance(timedelta(seconds=2))
    assert routes.prune_stale() == ["h"]
    assert routes.read().routes == ()
    assert routes.read().version != version


def test_publishing_is_one_round_trip_a_stale_table_costs_one_read(
    client: redis.Redis, namespace: str
) -> None:
    keys = RedisKeys(namespace)
    routes = RedisRoutes(client, keys)
    routes.declare(
        Declaration(broker_id="w", started=START, routes=(Route("h", Shipped.event_type, "q"),))
    )
    bus = DramatiqEventBus(DomainEventsProcessor(), client, keys=keys)
    bus.publish(Shipped(label="warm"))  # reads the table, loads the script

    def calls() -> dict[str, int]:
        stats = client.info("commandstats")
        return {
            name: int(stats.get(f"cmdstat_{name}", {}).get("calls", 0))
            for name in ("evalsha", "hgetall", "exec")
        }

    before = calls()
    for i in range(20):
        bus.publish(Shipped(label=f"steady-{i}"))
    bus.publish_all([Shipped(label=f"batch-{i}") for i in range(20)])
    steady = calls()
    assert steady["evalsha"] - before["evalsha"] == 40
    assert (steady["hgetall"], steady["exec"]) == (before["hgetall"], before["exec"])

    routes.declare(
        Declaration(broker_id="w2", started=START, routes=(Route("h2", Shipped.event_type, "q"),))
    )
    steady = calls()
    bus.publish(Shipped(label="stale"))
    after = calls()
    assert after["evalsha"] - steady["evalsha"] == 2, "the stale try, then the fresh one"
    assert after["exec"] - steady["exec"] == 1, "one read of the table"
    assert client.llen(keys.queue("q")) == 1 + 40 + 2, "the last event went to both routes"

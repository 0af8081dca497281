"""The event page's payload and causation chain (ADR 0024): the event as the bus still holds it
(queued, delayed, moved when due, retrying), decrypted for the operator token only, the event
that caused it and the events it caused, on Redis (a private redis-server, payloads sealed)
and on the in-memory bus."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import attrs
import pytest
import redis
from fastapi.testclient import TestClient

from hexbus import DomainEvent, PublishOutcome, RetryPolicy
from hexbus.adapters.encryption import generate_key
from hexbus.adapters.http import create_app
from hexbus.container import Container, create_container
from hexbus.examples.clinic.domain.booking import AppointmentCreated

from .conftest import wait_for
from .test_console_api import READ_TOKEN, memory  # noqa: F401 (the fixture)
from .test_http_api import TOKEN, Memory, client_for

MARKER = "Marker-Patient-Ines-Prado-7731"
SLOW_RETRY = RetryPolicy(
    max_retries=2, min_backoff=timedelta(hours=1), max_backoff=timedelta(hours=1)
)


@attrs.frozen(kw_only=True)
class Step(DomainEvent):
    """``patient`` is what only the operator may read."""

    event_type = "it.page.step"
    patient: str


@attrs.define
class Deployment:
    container: Container
    operator: TestClient
    reader: TestClient
    anonymous: TestClient
    runtime: Any
    running: bool = False

    def page(self, client: TestClient, event: DomainEvent, **query: object) -> dict[str, Any]:
        response = client.get(f"/api/v1/events/{event.event_id}", params=query)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def deployment(worker_env: dict[str, str]) -> Iterator[Deployment]:
    env = {
        **worker_env,
        "HEXBUS_ENCRYPTION_KEYS": generate_key(),
        "HEXBUS_API_TOKEN": TOKEN,
        "HEXBUS_API_READ_TOKEN": READ_TOKEN,
    }
    container = create_container(env)

    def fails_first(event: Step) -> None:
        raise RuntimeError("not yet")

    container.processor().register_handler(
        Step, fails_first, name="it.page.step", queue="page", retry=SLOW_RETRY
    )
    app = create_app(container)
    out = Deployment(
        container,
        TestClient(app, base_url="http://localhost", headers={"Authorization": f"Bearer {TOKEN}"}),
        TestClient(
            app, base_url="http://localhost", headers={"Authorization": f"Bearer {READ_TOKEN}"}
        ),
        TestClient(app, base_url="http://localhost"),
        container.worker_runtime(queues=["page"], threads=1),
    )
    out.runtime.maintenance.declare_routes()
    yield out
    if out.running:
        out.runtime.stop(timedelta(seconds=5))


def payload_of(body: dict[str, Any]) -> Any:
    return json.loads(body["message"])["payload"]


def assert_read_rules(deployment: Deployment, event: DomainEvent) -> None:
    read = deployment.page(deployment.reader, event)
    assert read["message"] is not None
    assert MARKER not in json.dumps(read)
    assert json.loads(read["message"])["event_id"] == str(event.event_id), "its header"
    assert read["message_redacted"] == ["payload"]
    assert deployment.anonymous.get(f"/api/v1/events/{event.event_id}").status_code == 401


@pytest.mark.redis
def test_redis_event_page_payload_and_causation_chain(
    deployment: Deployment, client: redis.Redis, namespace: str
) -> None:
    bus = deployment.container.event_bus()
    cause = Step(patient=MARKER)
    caused = [Step(patient="child", causation_id=cause.event_id) for _ in range(2)]
    later = Step(patient=MARKER, causation_id=cause.event_id)
    bus.publish(cause)
    for event in caused:
        bus.publish(event)
    bus.publish(later, delay=timedelta(hours=2))
    raw = json.dumps([v.decode("utf-8", "replace") for v in client.hvals(f"{namespace}:page.msgs")])
    assert MARKER not in raw, "sealed at rest"

    # Waiting: its message, named by the published key's token.
    body = deployment.page(deployment.operator, cause)
    assert payload_of(body)["patient"] == MARKER, "the operator reads it decrypted"
    assert body["message_found_in"] == "queue page"
    assert body["message_redacted"] == []
    assert_read_rules(deployment, cause)
    rows = {(r["event_id"], r["state"]) for r in body["caused"]}
    assert rows == {(str(e.event_id), "waiting") for e in caused} | {
        (str(later.event_id), "scheduled")
    }
    assert body["caused_complete"] is True
    assert body["caused_by"] is None
    limited = deployment.page(deployment.operator, cause, caused_limit=1)
    assert (len(limited["caused"]), limited["caused_complete"]) == (1, False)

    # The event that caused it: id and type.
    child = deployment.page(deployment.reader, caused[0])
    assert child["caused_by"] == {"event_id": str(cause.event_id), "event_type": "it.page.step"}

    # Delayed: its schedule entry; then due and moved: its message '{event_id}.1'.
    body = deployment.page(deployment.operator, later)
    assert (payload_of(body)["patient"], body["message_found_in"]) == (MARKER, "schedule")
    assert_read_rules(deployment, later)
    assert deployment.operator.post(f"/api/v1/events/{later.event_id}/promote").status_code == 200
    deployment.runtime.maintenance.move_due()
    body = deployment.page(deployment.operator, later)
    assert (payload_of(body)["patient"], body["message_found_in"]) == (MARKER, "queue page")

    # Retrying (an hour's backoff): its retry entry, found by the due time the status keeps.
    deployment.runtime.start()
    deployment.running = True
    wait_for(
        lambda: deployment.page(deployment.reader, cause)["state"] == "failed",
        timeout=15,
        what="the first attempt to fail",
    )
    body = deployment.page(deployment.operator, cause)
    assert (payload_of(body)["patient"], body["message_found_in"]) == (MARKER, "schedule")
    assert_read_rules(deployment, cause)
    wait_for(
        lambda: (
            {r["state"] for r in deployment.page(deployment.reader, cause)["caused"]}
            == {"retrying"}
        ),
        timeout=15,
        what="the caused events to retry",
    )

    # Due again (the hour skipped) and waiting in its queue under a random id: the newest
    # entries of its queue are read for it.
    deployment.runtime.stop(timedelta(seconds=5))
    deployment.running = False
    schedule = f"{namespace}:schedule"
    client.zadd(schedule, dict.fromkeys(client.zrange(schedule, 0, -1), 0))
    deployment.runtime.maintenance.move_due()
    body = deployment.page(deployment.operator, cause)
    assert body["state"] == "queued"
    assert (payload_of(body)["patient"], body["message_found_in"]) == (MARKER, "queue page")
    assert_read_rules(deployment, cause)


def test_in_memory_event_page_payload_and_causation_chain(memory: Memory) -> None:  # noqa: F811
    memory.book()
    created = memory.container.in_memory_bus().events_of_type(AppointmentCreated)[-1]
    later = attrs.evolve(created, event_id=UUID(int=7), causation_id=created.event_id)
    memory.container.event_bus().publish(later, delay=timedelta(hours=1))

    body = memory.client.get(f"/api/v1/events/{later.event_id}").json()
    assert "Ana Lopez" in body["message"], "the operator reads the payload"
    assert body["message_found_in"] == "memory"
    assert body["caused_by"] == {
        "event_id": str(created.event_id),
        "event_type": "appointment.created",
    }
    read = client_for(memory.container, READ_TOKEN).get(f"/api/v1/events/{later.event_id}")
    assert "Ana Lopez" not in read.text
    assert read.json()["message_redacted"] == ["payload"]
    assert (
        client_for(memory.container, None).get(f"/api/v1/events/{later.event_id}").status_code
        == 401
    )

    cause = memory.client.get(f"/api/v1/events/{created.event_id}").json()
    assert cause["message"] is None, "every handler of it succeeded: nothing held"
    caused = {(r["event_id"], r["state"]) for r in cause["caused"]}
    assert (str(later.event_id), "scheduled") in caused


@attrs.frozen(kw_only=True)
class Ok(DomainEvent):
    event_type = "it.page.ok"


@pytest.mark.redis
def test_redis_caused_events_are_listed_in_every_state_from_the_index(
    worker_env: dict[str, str], client: redis.Redis, namespace: str
) -> None:
    """Succeeded ones too (they keep no envelope): ``{ns}:caused:{id}`` names them all."""
    container = create_container({**worker_env, "HEXBUS_API_READ_TOKEN": READ_TOKEN})
    processor = container.processor()
    processor.register_handler(Ok, lambda event: None, name="it.page.ok", queue="ok")
    processor.register_handler(Step, lambda event: None, name="it.page.step", queue="page")
    container.worker_runtime(queues=["page"], threads=1).maintenance.declare_routes()
    runtime = container.worker_runtime(queues=["ok"], threads=1)
    runtime.maintenance.declare_routes()
    bus = container.event_bus()
    cause, alone = Ok(), Ok()
    succeeded = Ok(causation_id=cause.event_id)
    waiting = Step(patient="w", causation_id=cause.event_id)
    scheduled = Step(patient="s", causation_id=cause.event_id)
    bus.publish(cause)
    bus.publish(alone)
    bus.publish(succeeded)
    bus.publish(waiting)
    time.sleep(0.005)  # the index orders by publish time in ms: "newest first" needs a newer ms
    bus.publish(scheduled, delay=timedelta(hours=2))
    runtime.start()
    try:
        wait_for(
            lambda: (
                client.hget(f"{namespace}:status:{succeeded.event_id}", "it.page.ok|s")
                == b"succeeded"
            ),
            timeout=15,
            what="the caused Ok to succeed",
        )
    finally:
        runtime.stop(timedelta(seconds=5))
    reader = TestClient(
        create_app(container),
        base_url="http://localhost",
        headers={"Authorization": f"Bearer {READ_TOKEN}"},
    )
    response = reader.get(f"/api/v1/events/{cause.event_id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert {(r["event_id"], r["queue"], r["state"]) for r in body["caused"]} == {
        (str(succeeded.event_id), "ok", "succeeded"),
        (str(waiting.event_id), "page", "waiting"),
        (str(scheduled.event_id), "page", "scheduled"),
    }
    assert body["caused"][0]["event_id"] == str(scheduled.event_id), "newest first"
    assert body["caused_complete"] is True
    index = f"{namespace}:caused:{cause.event_id}"
    assert client.type(index) == b"zset"
    assert client.zrevrange(index, 0, -1)[0] == f"{scheduled.event_id}|it.page.step".encode()
    assert 0 < client.pttl(index) <= 7 * 24 * 3600 * 1000 + 2 * 3600 * 1000, "it expires"
    assert client.keys(f"{namespace}:caused:*") == [index.encode()], "none for the uncaused"
    limited = reader.get(f"/api/v1/events/{cause.event_id}", params={"caused_limit": 2}).json()
    assert (len(limited["caused"]), limited["caused_complete"]) == (2, False)
    # Its status record trimmed (24 h, newest 1,000 succeeded): the success ledger still says.
    client.delete(f"{namespace}:status:{succeeded.event_id}")
    rows = reader.get(f"/api/v1/events/{cause.event_id}").json()["caused"]
    assert (str(succeeded.event_id), "succeeded") in {(r["event_id"], r["state"]) for r in rows}


@pytest.mark.redis
@pytest.mark.parametrize("kind", ["now", "later", "unrouted"])
def test_redis_a_wrong_typed_caused_index_does_not_lose_the_publish(
    worker_env: dict[str, str], client: redis.Redis, namespace: str, kind: str
) -> None:
    """The index is the operator's aid: a key of another type skips its write, never the event
    (each of the three publish scripts)."""
    container = create_container(worker_env)
    container.processor().register_handler(Ok, lambda event: None, name="it.page.ok", queue="ok")
    container.worker_runtime(queues=["ok"], threads=1).maintenance.declare_routes()
    cause = Ok()
    index = f"{namespace}:caused:{cause.event_id}"
    client.set(index, "not a zset")
    caused: DomainEvent = (
        Step(patient="p", causation_id=cause.event_id)
        if kind == "unrouted"
        else Ok(causation_id=cause.event_id)
    )
    delay = timedelta(hours=1) if kind == "later" else None
    result = container.event_bus().publish(caused, delay=delay)
    expected = PublishOutcome.SCHEDULED if delay else PublishOutcome.ACCEPTED
    assert (result.outcome, result.unrouted) == (expected, kind == "unrouted")
    assert client.exists(f"{namespace}:published:{caused.event_id}") == 1
    assert client.get(index) == b"not a zset", "left as it was"
    if kind == "now":
        assert client.llen(f"{namespace}:ok") == 1, "its message was written"
    elif kind == "later":
        assert client.zscore(f"{namespace}:schedule", str(caused.event_id)) is not None
    # With the key gone, the same script writes the index.
    client.delete(index)
    again = (
        Ok(causation_id=cause.event_id)
        if kind != "unrouted"
        else Step(patient="q", causation_id=cause.event_id)
    )
    container.event_bus().publish(again, delay=delay)
    assert client.zrange(index, 0, -1) == [f"{again.event_id}|{again.event_type}".encode()]

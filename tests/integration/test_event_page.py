"""The event page's payload and causation chain (ADR 0024): the event as the bus still holds it
(queued, delayed, moved when due, retrying), decrypted for the operator token only, the event
that caused it and the events it caused, on Redis (a private redis-server, payloads sealed)
and on the in-memory bus."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import attrs
import pytest
import redis
from fastapi.testclient import TestClient

from hexbus import DomainEvent, RetryPolicy
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

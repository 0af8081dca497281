"""The console's REST endpoints (ADR 0024): events by queue and state, actions on scheduled
events, schedules and workers; over both adapters, with the read rules of ADR 0016."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from hexbus.examples.clinic.application.booking import Names

from .apps import Job
from .conftest import wait_for
from .test_http_api import (
    TOKEN,
    Memory,
    OnRedis,
    assert_error,
    client_for,
    memory_app,
    on_redis,  # noqa: F401 (the fixture, shared with these tests)
)

READ_TOKEN = "read-token-0123456789abcdef"


@pytest.fixture
def memory() -> Memory:
    return memory_app(
        {
            "HEXBUS_API_TOKEN": TOKEN,
            "HEXBUS_API_READ_TOKEN": READ_TOKEN,
            "HEXBUS_SHOW_ERRORS": "true",
        }
    )


def ids(page: dict[str, Any]) -> list[str]:
    return [row["event_id"] for row in page["items"]]


def listing(client: Any, queue: str, state: str, **query: object) -> dict[str, Any]:
    response = client.get(f"/api/v1/queues/{queue}/events", params={"state": state, **query})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --- in memory -----------------------------------------------------------------------------


def test_succeeded_and_dead_events_are_listed_per_queue_newest_first(memory: Memory) -> None:
    first = memory.book()
    memory.clock.advance(timedelta(minutes=1))
    second = memory.book()
    memory.clock.advance(timedelta(minutes=1))
    memory.dead_letter()

    page = listing(memory.client, "notification", "succeeded")
    assert ids(page)[-2:] == [second, first]
    dead = listing(memory.client, "notification", "dead")
    (row,) = dead["items"]
    assert row["handlers"] == [Names.NOTIFY_DOCTOR]
    assert row["dead_letter_id"] == memory.container.dead_letters().list().items[0].id
    assert listing(memory.client, "appointment", "dead")["items"] == []


def test_listings_are_paginated_with_a_cursor_and_filtered(memory: Memory) -> None:
    booked = [memory.book() for _ in range(3)]
    first = listing(memory.client, "notification", "succeeded", limit=2)
    assert len(first["items"]) == 2
    assert first["next_cursor"] == 2
    rest = listing(memory.client, "notification", "succeeded", cursor=first["next_cursor"])
    assert set(ids(first) + ids(rest)) >= set(booked)
    assert rest["next_cursor"] is None

    typed = listing(memory.client, "notification", "succeeded", event_type="appointment.created")
    assert set(ids(typed)) == set(booked)
    assert listing(memory.client, "notification", "succeeded", event_type="nope")["items"] == []


def test_a_scheduled_event_is_listed_promoted_and_run(memory: Memory) -> None:
    memory.book()
    memory.schedule_copy()
    (row,) = listing(memory.client, "notification", "scheduled", event_type="appointment.created")[
        "items"
    ]
    event_id = row["event_id"]

    read = client_for(memory.container, READ_TOKEN)
    assert_error(read.post(f"/api/v1/events/{event_id}/promote"), 403, "Forbidden")
    promoted = memory.client.post(f"/api/v1/events/{event_id}/promote")
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["action"] == "promoted"
    memory.container.in_memory_bus().run_due()

    assert memory.client.get(f"/api/v1/events/{event_id}").json()["state"] == "succeeded"
    assert event_id not in ids(listing(memory.client, "notification", "scheduled"))
    assert_error(memory.client.post(f"/api/v1/events/{event_id}/promote"), 409, "NotScheduled")


def test_a_scheduled_event_can_be_rescheduled_and_cancelled(memory: Memory) -> None:
    memory.book()
    memory.schedule_copy()
    (row,) = listing(memory.client, "notification", "scheduled", event_type="appointment.created")[
        "items"
    ]
    event_id = row["event_id"]
    at = (memory.clock.now() + timedelta(hours=5)).isoformat()

    moved = memory.client.post(f"/api/v1/events/{event_id}/reschedule", json={"at": at})
    assert moved.status_code == 200, moved.text
    assert memory.client.get(f"/api/v1/events/{event_id}").json()["due_at"] is not None
    assert_error(
        memory.client.post(f"/api/v1/events/{event_id}/reschedule", json={}),
        422,
        "ValidationError",
    )
    cancelled = memory.client.post(f"/api/v1/events/{event_id}/cancel")
    assert cancelled.json()["action"] == "cancelled"
    memory.clock.advance(timedelta(hours=6))
    memory.container.in_memory_bus().run_due()
    assert memory.client.get(f"/api/v1/events/{event_id}").json()["state"] == "cancelled"
    assert_error(memory.client.post(f"/api/v1/events/{event_id}/cancel"), 409, "NotScheduled")


def test_browsing_needs_a_token_and_an_unknown_queue_or_state_is_refused(memory: Memory) -> None:
    anonymous = memory.anonymous
    for path in ("/api/v1/queues/notification/events?state=dead", "/api/v1/workers"):
        assert_error(anonymous.get(path), 401, "Unauthorized")
        assert client_for(memory.container, READ_TOKEN).get(path).status_code == 200
    assert_error(anonymous.get("/api/v1/schedules"), 401, "Unauthorized")
    for action in ("promote", "cancel"):
        assert_error(anonymous.post(f"/api/v1/events/{uuid4()}/{action}"), 401, "Unauthorized")
    assert_error(memory.client.get("/api/v1/queues/nope/events?state=dead"), 404, "UnknownQueue")
    assert_error(
        memory.client.get("/api/v1/queues/notification/events?state=lost"),
        422,
        "ValidationError",
    )


def test_schedules_show_rule_zone_catch_up_next_fire_and_last_tick(memory: Memory) -> None:
    body = client_for(memory.container, READ_TOKEN).get("/api/v1/schedules").json()
    by_name = {s["name"]: s for s in body["schedules"]}
    assert by_name, "the clinic adds its daily medicine checks"
    schedule = next(iter(by_name.values()))
    assert {"rule", "timezone", "catch_up", "next_fire", "last_tick"} <= set(schedule)
    assert datetime.fromisoformat(schedule["next_fire"]) > memory.clock.now()


def test_the_in_memory_bus_has_no_workers(memory: Memory) -> None:
    assert memory.client.get("/api/v1/workers").json() == {"workers": []}


def test_the_openapi_document_lists_the_console_endpoints(memory: Memory) -> None:
    paths = memory.client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/queues/{queue}/events",
        "/api/v1/events/{event_id}",
        "/api/v1/events/{event_id}/promote",
        "/api/v1/events/{event_id}/cancel",
        "/api/v1/events/{event_id}/reschedule",
        "/api/v1/schedules",
        "/api/v1/workers",
    ):
        assert path in paths, path
    assert paths["/api/v1/events/{event_id}/promote"]["post"]["security"]


# --- on Redis ------------------------------------------------------------------------------


@pytest.mark.redis
def test_redis_events_are_listed_by_state_and_a_promoted_one_runs(
    on_redis: OnRedis,  # noqa: F811
) -> None:
    bus = on_redis.container.event_bus()
    cause = uuid4()
    waiting = [Job(label=f"w{n}") for n in range(2)]
    waiting.append(Job(label="caused", causation_id=cause, correlation_id=cause))
    for job in waiting:
        bus.publish(job)
    later = Job(label="later", report=True)
    bus.publish(later, delay=timedelta(hours=1))

    page = listing(on_redis.client, "work", "waiting", limit=2)
    assert ids(page) == [str(waiting[2].event_id), str(waiting[1].event_id)]
    assert page["items"][0]["handlers"] == ["it.work"]
    rest = listing(on_redis.client, "work", "waiting", cursor=page["next_cursor"])
    assert ids(rest) == [str(waiting[0].event_id)]
    assert rest["next_cursor"] is None
    # The causation chain: the events an event caused, by filter.
    for field in ("causation_id", "correlation_id"):
        found = listing(on_redis.client, "work", "waiting", **{field: str(cause)})
        assert ids(found) == [str(waiting[2].event_id)]
    (scheduled,) = listing(on_redis.client, "work", "scheduled")["items"]
    assert scheduled["event_id"] == str(later.event_id)
    assert listing(on_redis.client, "work", "scheduled", event_type="other")["items"] == []

    on_redis.start_worker()
    promoted = on_redis.client.post(f"/api/v1/events/{later.event_id}/promote")
    assert promoted.status_code == 200, promoted.text
    wait_for(lambda: on_redis.handler_state(later.event_id) == "succeeded", timeout=15)

    status = on_redis.client.get(f"/api/v1/events/{later.event_id}").json()
    work = next(h for h in status["handlers"] if h["handler"] == "it.work")
    assert work["progress"] == 50.0
    assert [line["text"] for line in work["log"]] == ["later: working"]
    wait_for(
        lambda: str(later.event_id) in ids(listing(on_redis.client, "work", "succeeded")),
        timeout=10,
        what="the event in the succeeded list",
    )


@pytest.mark.redis
def test_redis_retrying_dead_and_workers(on_redis: OnRedis) -> None:  # noqa: F811
    bus = on_redis.container.event_bus()
    dead = Job(label="broken", permanent=True)
    bus.publish(dead)
    on_redis.start_worker()
    wait_for(
        lambda: listing(on_redis.client, "work", "dead")["items"] != [],
        timeout=15,
        what="the dead letter listed",
    )
    (row,) = listing(on_redis.client, "work", "dead")["items"]
    assert (row["event_id"], row["handlers"]) == (str(dead.event_id), ["it.work"])
    assert row["dead_letter_id"]

    (worker,) = on_redis.client.get("/api/v1/workers").json()["workers"]
    assert worker["worker"] == on_redis.runtime.broker_id
    assert worker["threads"] == 2
    assert "work" in worker["queues"]
    assert worker["in_flight"] >= 0
    assert 0 <= worker["heartbeat_age_seconds"] < 10
    assert datetime.fromisoformat(worker["started_at"]) <= datetime.now(UTC)


# --- dead letters by filter ------------------------------------------------------------------


def test_dead_letters_are_filtered_counted_and_retried_in_batches(memory: Memory) -> None:
    for _ in range(3):
        memory.dead_letter()
    doctor = {"handler": Names.NOTIFY_DOCTOR}

    def listed(**query: object) -> int:
        response = memory.client.get("/api/v1/queues/failed", params=query)
        assert response.status_code == 200, response.text
        total: int = response.json()["total"]
        return total

    assert listed(**doctor) == 3
    assert listed(error_type="InvalidRecipient", queue="notification") == 3
    assert listed(error_type="RuntimeError") == 0
    assert listed(handler="nobody") == 0
    future = (memory.clock.now() + timedelta(minutes=1)).isoformat()
    assert listed(since=future) == 0
    assert listed(until=future) == 3
    past = (memory.clock.now() - timedelta(minutes=1)).isoformat()
    assert listed(since=future, until=past) == 0, "an empty window, not an error"
    assert_error(
        memory.client.get("/api/v1/queues/failed", params={"until": "0.5"}),
        422,
        "ValidationError",
    )
    read = client_for(memory.container, READ_TOKEN)
    assert read.get("/api/v1/queues/failed", params=doctor).json()["total"] == 3
    assert_error(
        read.post("/api/v1/queues/failed/sweep", json={"action": "count"}), 403, "Forbidden"
    )

    def sweep(**body: object) -> dict[str, Any]:
        response = memory.client.post("/api/v1/queues/failed/sweep", json=body)
        assert response.status_code == 200, response.text
        out: dict[str, Any] = response.json()
        return out

    assert sweep(action="count", **doctor)["matched"] == 3, "the dry run"
    assert listed() == 3, "the dry run changes nothing"
    first = sweep(action="retry", batch_size=2, **doctor)
    assert (first["matched"], first["done"], first["remaining"]) == (3, 2, 1)
    second = sweep(action="retry", batch_size=2, **doctor)
    assert (second["done"], second["remaining"]) == (1, 0)
    assert listed() == 0, "the doctor's address works again: all three delivered"


def test_dead_letters_are_removed_by_filter_only_those_that_match(memory: Memory) -> None:
    memory.dead_letter()
    memory.dead_letter()
    removed = memory.client.post(
        "/api/v1/queues/failed/sweep", json={"action": "remove", "handler": "nobody"}
    ).json()
    assert (removed["matched"], removed["done"]) == (0, 0)
    removed = memory.client.post(
        "/api/v1/queues/failed/sweep",
        json={"action": "remove", "error_type": "InvalidRecipient", "batch_size": 10},
    ).json()
    assert (removed["matched"], removed["done"], removed["remaining"]) == (2, 2, 0)
    assert memory.container.dead_letters().count() == 0


def test_an_events_page_carries_its_dead_letters_by_the_read_rules(memory: Memory) -> None:
    letter_id = memory.dead_letter()
    event_id = str(memory.container.dead_letters().get(letter_id).event_id)

    body = memory.client.get(f"/api/v1/events/{event_id}").json()
    (letter,) = body["dead_letters"]
    assert (letter["id"], letter["handler"]) == (letter_id, Names.NOTIFY_DOCTOR)
    assert "Traceback" in letter["traceback"]
    assert "Ana Lopez" in letter["message"], "the operator sees the payload"

    read = client_for(memory.container, READ_TOKEN).get(f"/api/v1/events/{event_id}").json()
    (header_only,) = read["dead_letters"]
    assert "Ana Lopez" not in header_only["message"]
    assert "payload" in header_only["redacted"]

    quiet = memory_app({"HEXBUS_API_TOKEN": TOKEN, "HEXBUS_API_READ_TOKEN": READ_TOKEN})
    hidden_id = quiet.dead_letter()
    hidden_event = str(quiet.container.dead_letters().get(hidden_id).event_id)
    (hidden,) = quiet.client.get(f"/api/v1/events/{hidden_event}").json()["dead_letters"]
    assert hidden["traceback"] is None, "tracebacks only with HEXBUS_SHOW_ERRORS"

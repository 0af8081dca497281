"""The HTTP API over both adapters, through FastAPI's TestClient.

In memory: the clinic example's handlers on virtual time, a FlakyNotifier to make dead
letters. On Redis: the integration test handlers (``apps.py``) served by an in-process
WorkerRuntime. Every endpoint, its authorization, and its error bodies; bad input is a 4xx,
never a 500.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import attrs
import pytest
import redis
from fastapi.testclient import TestClient

from hexbus import ConfigurationError, DeadLetter, DeadLetterReason
from hexbus.adapters.clocks import VirtualClock
from hexbus.adapters.dramatiq import WorkerRuntime, handler_queues
from hexbus.adapters.http import create_app
from hexbus.adapters.http.badges import Thresholds, badge
from hexbus.adapters.http.settings import ApiSettings
from hexbus.container import Container, create_container
from hexbus.examples.clinic import ClinicContainer, build_clinic
from hexbus.examples.clinic.adapters.notifiers import FlakyNotifier, RecordingNotifier
from hexbus.examples.clinic.application.booking import Names
from hexbus.examples.clinic.domain.booking import AppointmentCreated, Contact
from hexbus.ports.monitoring import QueueStats
from hexbus.settings import Settings
from hexbus.testing.redis_server import RedisServer

from .apps import Job, register
from .conftest import wait_for

TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DOCTOR = Contact(name="Dr. Ruiz", email="ruiz@clinic.example")
PATIENT = Contact(name="Ana Lopez", email="ana@example.com", phone="+34600123456")

MUTATING = [
    ("POST", "/api/v1/queues/failed/some-id/retry", None),
    ("DELETE", "/api/v1/queues/failed/some-id", None),
    ("POST", "/api/v1/queues/failed/retry-all", None),
    ("POST", "/api/v1/queues/clean", {"state": "dead", "older_than_seconds": 0}),
    ("POST", "/api/v1/queues/notification/pause", None),
    ("POST", "/api/v1/queues/notification/resume", None),
]


# --- in memory -----------------------------------------------------------------------------


@attrs.define
class Memory:
    """The app over the in-memory bus, with the clinic example and a notifier to break."""

    container: Container
    clinic: ClinicContainer
    client: TestClient
    """Sends the operator token with every request."""
    anonymous: TestClient
    """Sends no token."""
    clock: VirtualClock
    notifier: FlakyNotifier
    sent: RecordingNotifier
    booked: int = 0

    def book(self) -> str:
        """Book an appointment; returns the AppointmentCreated event's id."""
        self.booked += 1
        appointment = self.clinic.book_appointment()(
            appointment_id=f"apt-{self.booked}",
            patient_id="pat-1",
            patient=PATIENT,
            doctor_id="doc-1",
            doctor=DOCTOR,
            clinic_id="clinic-1",
            starts_at=self.clock.now() + timedelta(days=2),
            price=Decimal("60.00"),
            currency="EUR",
        )
        created = self.container.in_memory_bus().events_of_type(AppointmentCreated)
        return str(next(e.event_id for e in created if e.appointment_id == appointment.id))

    def notification_handlers(self) -> int:
        """How many handlers of AppointmentCreated run on the notification queue."""
        specs = self.container.processor().handlers_for(AppointmentCreated.event_type)
        return sum(1 for spec in specs if spec.queue == "notification")

    def schedule_copy(self) -> None:
        """Publish a copy of the last AppointmentCreated for an hour from now."""
        created = self.container.in_memory_bus().events_of_type(AppointmentCreated)[-1]
        later = attrs.evolve(created, event_id=uuid4())
        self.container.event_bus().publish(later, delay=timedelta(hours=1))

    def dead_letter(self) -> str:
        """Book with the doctor's address rejected: a non-retryable dead letter; its id."""
        assert DOCTOR.email is not None
        self.notifier.reject(DOCTOR.email)
        self.book()
        self.notifier.accept(DOCTOR.email)
        return str(self.container.dead_letters().list(limit=1).items[0].id)


def client_for(container: Container, token: str | None = TOKEN) -> TestClient:
    """A client of the app on ``container``, on an allowed host, sending ``token``."""
    return TestClient(
        create_app(container),
        base_url="http://localhost",
        raise_server_exceptions=False,
        headers={"Authorization": f"Bearer {token}"} if token else None,
    )


def memory_app(env: dict[str, str] | None = None) -> Memory:
    clock = VirtualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    sent = RecordingNotifier()
    notifier = FlakyNotifier(sent)
    container = create_container(
        env={"HEXBUS_API_TOKEN": TOKEN, "HEXBUS_SHOW_ERRORS": "true"} if env is None else env,
        clock=clock,
    )
    clinic = build_clinic(container, notifier=notifier)
    token = (env or {"HEXBUS_API_TOKEN": TOKEN}).get("HEXBUS_API_TOKEN")
    return Memory(
        container,
        clinic,
        client_for(container, token),
        client_for(container, None),
        clock,
        notifier,
        sent,
    )


@pytest.fixture
def memory() -> Memory:
    return memory_app()


def stats_of(client: TestClient) -> dict[str, dict[str, object]]:
    response = client.get("/api/v1/queues/stats")
    assert response.status_code == 200, response.text
    return {q["queue"]: q for q in response.json()["queues"]}


def assert_error(response: object, status: int, error: str) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["error"] == error
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body


def test_stats_count_each_queue_and_badge_it_by_the_thresholds(memory: Memory) -> None:
    runs = memory.notification_handlers()
    memory.book()
    body = memory.client.get("/api/v1/queues/stats").json()
    assert body["thresholds"] == {"failure_rate": 0.1, "backlog": 1000}
    queues = {q["queue"]: q for q in body["queues"]}
    notification = queues["notification"]
    assert notification["succeeded"] == runs, "patient email, WhatsApp, doctor"
    assert notification["failed"] == 0
    assert notification["window_seconds"] == 900
    assert notification["throughput_per_minute"] == pytest.approx(runs / 15, abs=1e-3)
    assert notification["health"] == "healthy"
    assert body["health"] == "healthy"
    before = notification["scheduled"]
    memory.schedule_copy()
    after = stats_of(memory.client)["notification"]
    assert after["scheduled"] == before + runs, "one per handler"
    assert after["backlog"] == after["waiting"], "scheduled-for-later work is not backlog"

    memory.dead_letter()
    notification = stats_of(memory.client)["notification"]
    assert notification["dead"] == 1
    assert (notification["succeeded"], notification["failed"]) == (2 * runs - 1, 1)
    assert notification["failure_rate"] == pytest.approx(1 / (2 * runs), abs=1e-3)
    assert notification["health"] == "warning", "above 10% failures"
    assert memory.client.get("/api/v1/queues/stats").json()["health"] == "warning"


def test_stats_report_events_no_handler_subscribes_to(memory: Memory) -> None:
    assert memory.client.get("/api/v1/queues/stats").json()["unrouted"] == []
    memory.container.event_bus().publish(Job(label="nobody handles it here"))

    body = memory.client.get("/api/v1/queues/stats").json()

    assert body["unrouted"] == [{"event_type": Job.event_type, "count": 1, "kept": 1}]
    assert body["unrouted_total"] == 1


def test_work_scheduled_for_later_is_not_a_backlog() -> None:
    memory = memory_app({"HEXBUS_API_TOKEN": TOKEN, "HEXBUS_ALERT_BACKLOG": "2"})
    memory.book()
    memory.schedule_copy()
    notification = stats_of(memory.client)["notification"]
    assert notification["scheduled"] > 2
    assert notification["backlog"] == 0
    assert notification["health"] != "warning"


def test_a_backlog_over_the_threshold_turns_the_badge_to_warning() -> None:
    def stats(waiting: int) -> QueueStats:
        return QueueStats(
            queue="q",
            waiting=waiting,
            scheduled=0,
            running=0,
            dead=0,
            succeeded=10,
            failed=0,
            window=timedelta(minutes=15),
            mean_duration=None,
        )

    limits = Thresholds(failure_rate=0.1, backlog=2)
    assert badge(stats(3), limits) == "warning"
    assert badge(stats(2), limits) == "busy"


def test_dead_letters_are_listed_newest_first_with_their_error_and_paginated(
    memory: Memory,
) -> None:
    first = memory.dead_letter()
    memory.clock.advance(timedelta(minutes=1))
    second = memory.dead_letter()
    memory.clock.advance(timedelta(minutes=1))
    third = memory.dead_letter()
    page = memory.client.get("/api/v1/queues/failed").json()
    assert page["total"] == 3
    assert [d["id"] for d in page["items"]] == [third, second, first]
    letter = page["items"][0]
    assert letter["handler"] == Names.NOTIFY_DOCTOR
    assert letter["queue"] == "notification"
    assert letter["reason"] == "non_retryable"
    assert letter["error_type"].endswith("InvalidRecipient")
    assert "rejected by the provider" in letter["error"]
    assert "Traceback" in letter["traceback"]
    assert letter["event_type"] == "appointment.created"
    assert json.loads(letter["message"])["event_type"] == "appointment.created"
    assert letter["attempts"] == 1

    second_page = memory.client.get("/api/v1/queues/failed?offset=1&limit=1").json()
    assert [d["id"] for d in second_page["items"]] == [second]
    assert (second_page["total"], second_page["offset"], second_page["limit"]) == (3, 1, 1)


@pytest.mark.parametrize(
    "query",
    ["offset=-1", "limit=0", "limit=501", "limit=ten", "offset=1.5", "limit=99999999999999999999"],
)
def test_pagination_is_validated(memory: Memory, query: str) -> None:
    body = assert_error(memory.client.get(f"/api/v1/queues/failed?{query}"), 422, "ValidationError")
    assert body["fields"], "each invalid part is named"


def test_a_retried_dead_letter_is_delivered_again_and_leaves_the_list(memory: Memory) -> None:
    dead_letter_id = memory.dead_letter()
    assert len(memory.sent.to(DOCTOR.email or "")) == 0
    response = memory.client.post(f"/api/v1/queues/failed/{dead_letter_id}/retry", headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.json() == {"id": dead_letter_id, "status": "retried"}
    assert memory.client.get("/api/v1/queues/failed").json()["total"] == 0
    assert len(memory.sent.to(DOCTOR.email or "")) == 1, "the doctor was notified this time"
    assert stats_of(memory.client)["notification"]["dead"] == 0


def test_unknown_dead_letters_answer_404_and_unreadable_ones_409(memory: Memory) -> None:
    assert_error(
        memory.client.post("/api/v1/queues/failed/nope/retry", headers=AUTH),
        404,
        "DeadLetterNotFound",
    )
    assert_error(
        memory.client.delete("/api/v1/queues/failed/nope", headers=AUTH), 404, "DeadLetterNotFound"
    )
    memory.container.in_memory_bus().dead_letters.add(undecodable(memory.clock.now()))
    body = assert_error(
        memory.client.post("/api/v1/queues/failed/garbled/retry", headers=AUTH),
        409,
        "DeadLetterNotRetryable",
    )
    assert "garbled" in str(body["detail"])


def undecodable(at: datetime) -> DeadLetter:
    return DeadLetter(
        id="garbled",
        reason=DeadLetterReason.UNDECODABLE,
        queue="notification",
        handler=None,
        event_id=None,
        event_type=None,
        message="{not json <script>alert(1)</script>",
        error_type="EventDecodeError",
        error="cannot decode event: <b>bad JSON</b>",
        traceback="",
        attempts=1,
        failed_at=at,
    )


def test_a_removed_dead_letter_is_gone_for_good(memory: Memory) -> None:
    dead_letter_id = memory.dead_letter()
    response = memory.client.delete(f"/api/v1/queues/failed/{dead_letter_id}", headers=AUTH)
    assert response.json() == {"id": dead_letter_id, "status": "removed"}
    assert memory.client.get("/api/v1/queues/failed").json()["total"] == 0
    assert len(memory.sent.to(DOCTOR.email or "")) == 0, "removing delivers nothing"


def test_retry_all_retries_what_it_can_and_leaves_the_rest(memory: Memory) -> None:
    memory.dead_letter()
    memory.dead_letter()
    memory.container.in_memory_bus().dead_letters.add(undecodable(memory.clock.now()))
    response = memory.client.post("/api/v1/queues/failed/retry-all", headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.json() == {"retried": 2, "remaining": 1}
    assert len(memory.sent.to(DOCTOR.email or "")) == 2


def test_clean_removes_records_older_than_asked(memory: Memory) -> None:
    memory.dead_letter()
    memory.clock.advance(timedelta(hours=2))
    memory.dead_letter()

    def clean(state: str, seconds: int) -> dict[str, object]:
        response = memory.client.post(
            "/api/v1/queues/clean",
            json={"state": state, "older_than_seconds": seconds},
            headers=AUTH,
        )
        assert response.status_code == 200, response.text
        result: dict[str, object] = response.json()
        return result

    assert clean("dead", 3600) == {"state": "dead", "older_than_seconds": 3600, "removed": 1}
    assert memory.client.get("/api/v1/queues/failed").json()["total"] == 1
    assert clean("dead", 0)["removed"] == 1
    assert clean("succeeded", 0)["removed"] == 0, "no event had every handler succeed"


@pytest.mark.parametrize(
    "body",
    [
        {"state": "running", "older_than_seconds": 0},
        {"state": "dead", "older_than_seconds": -1},
        {"state": "dead", "older_than_seconds": 10**12},
        {"state": "dead", "older_than_seconds": "60"},
        {"state": "dead", "older_than_seconds": True},
        {"state": "dead"},
        {"state": "dead", "older_than_seconds": 0, "extra": 1},
        [],
        None,
    ],
)
def test_clean_rejects_bad_bodies_with_422(memory: Memory, body: object) -> None:
    response = memory.client.post("/api/v1/queues/clean", json=body, headers=AUTH)
    assert_error(response, 422, "ValidationError")


def test_clean_rejects_a_body_that_is_not_json(memory: Memory) -> None:
    response = memory.client.post(
        "/api/v1/queues/clean",
        content=b"{state: dead",
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert_error(response, 422, "ValidationError")


def test_event_status_shows_each_handler(memory: Memory) -> None:
    event_id = memory.book()
    body = memory.client.get(f"/api/v1/events/{event_id}").json()
    assert body["event_id"] == event_id
    assert body["event_type"] == "appointment.created"
    assert body["state"] == "succeeded"
    handlers = {h["handler"]: h for h in body["handlers"]}
    assert handlers[Names.NOTIFY_DOCTOR]["state"] == "succeeded"
    assert handlers[Names.NOTIFY_DOCTOR]["attempts"] == 1
    assert handlers[Names.NOTIFY_DOCTOR]["queue"] == "notification"

    body = assert_error(memory.client.get(f"/api/v1/events/{uuid4()}"), 404, "UnknownEvent")
    assert_error(memory.client.get("/api/v1/events/not-a-uuid"), 422, "ValidationError")


def test_a_paused_queue_holds_its_work_until_resumed(memory: Memory) -> None:
    response = memory.client.post("/api/v1/queues/notification/pause", headers=AUTH)
    assert response.json() == {"queue": "notification", "paused": True}
    assert stats_of(memory.client)["notification"]["paused"] is True
    event_id = memory.book()
    assert len(memory.sent.sent) == 0, "nothing delivered while paused"
    response = memory.client.post("/api/v1/queues/notification/resume", headers=AUTH)
    assert response.json() == {"queue": "notification", "paused": False}
    assert len(memory.sent.sent) == memory.notification_handlers()
    assert memory.client.get(f"/api/v1/events/{event_id}").json()["state"] == "succeeded"


def test_pausing_an_unknown_queue_is_404(memory: Memory) -> None:
    body = assert_error(
        memory.client.post("/api/v1/queues/nope/pause", headers=AUTH), 404, "UnknownQueue"
    )
    assert "notification" in str(body["detail"]), "it lists the known queues"
    assert_error(
        memory.client.post("/api/v1/queues/nope/resume", headers=AUTH), 404, "UnknownQueue"
    )


def test_config_shows_the_settings_with_the_token_redacted(memory: Memory) -> None:
    body = memory.client.get("/api/v1/config").json()
    assert body["USE_QUEUE_EVENT_BUS"] == "false"
    assert body["HEXBUS_API_TOKEN"] == "set"
    assert body["HEXBUS_ALERT_FAILURE_RATE"] == "0.1"
    assert body["HEXBUS_ALERT_BACKLOG"] == "1000"
    assert TOKEN not in memory.client.get("/api/v1/config").text
    assert TOKEN not in memory.client.get("/queues").text


# --- authorization -------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), MUTATING)
def test_changes_without_a_token_are_401_with_a_challenge(
    memory: Memory, method: str, path: str, body: object
) -> None:
    response = memory.anonymous.request(method, path, json=body)
    assert_error(response, 401, "Unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    response = memory.anonymous.request(
        method, path, json=body, headers={"Authorization": "Basic x"}
    )
    assert_error(response, 401, "Unauthorized")


@pytest.mark.parametrize(("method", "path", "body"), MUTATING)
def test_changes_with_a_wrong_token_are_403(
    memory: Memory, method: str, path: str, body: object
) -> None:
    for wrong in ("nope", TOKEN[:-1], TOKEN + "x", "é" * 8):
        response = memory.anonymous.request(
            method, path, json=body, headers={"Authorization": f"Bearer {wrong}".encode()}
        )
        assert_error(response, 403, "Forbidden")


@pytest.mark.parametrize(("method", "path", "body"), MUTATING)
def test_changes_are_refused_when_no_token_is_configured(
    method: str, path: str, body: object
) -> None:
    memory = memory_app(env={})
    response = memory.client.request(method, path, json=body, headers=AUTH)
    detail = assert_error(response, 403, "Forbidden")["detail"]
    assert "HEXBUS_API_TOKEN" in str(detail)
    assert_error(memory.client.get("/api/v1/config", headers=AUTH), 403, "Forbidden")


def test_counts_health_and_the_page_need_no_token(memory: Memory) -> None:
    for path in ("/api/v1/queues/stats", "/health", "/health/live", "/metrics", "/queues"):
        assert memory.anonymous.get(path).status_code == 200, path
    for path in ("/api/v1/queues/failed", "/api/v1/config", f"/api/v1/events/{uuid4()}"):
        assert_error(memory.anonymous.get(path), 401, "Unauthorized")


# --- health, OpenAPI, the page, bad input --------------------------------------------------


def test_health_in_memory_has_no_redis_and_runs_handlers_in_process(memory: Memory) -> None:
    response = memory.client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["redis"]["status"] == "not used"
    assert body["checks"]["workers"]["status"] == "in-process"
    assert body["checks"]["backlog"]["status"] == "ok"

    memory.dead_letter()
    response = memory.client.get("/health")
    assert response.status_code == 200, "degraded is not down: the API stays in service"
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["failure_rate"]["status"] == "warning"
    assert body["checks"]["failure_rate"]["over"] == ["notification"]
    assert [f["check"] for f in body["failing"]] == ["failure_rate"]
    assert "notification" in body["failing"][0]["reason"]


def test_openapi_documents_every_endpoint_and_the_bearer_scheme(memory: Memory) -> None:
    spec = memory.client.get("/openapi.json").json()
    assert set(spec["paths"]) >= {
        "/api/v1/queues/stats",
        "/api/v1/queues/failed",
        "/api/v1/queues/failed/{dead_letter_id}/retry",
        "/api/v1/queues/failed/{dead_letter_id}",
        "/api/v1/queues/failed/retry-all",
        "/api/v1/queues/clean",
        "/api/v1/queues/{queue}/pause",
        "/api/v1/queues/{queue}/resume",
        "/api/v1/events/{event_id}",
        "/api/v1/config",
        "/health",
        "/health/live",
        "/health/ready",
        "/metrics",
    }
    assert spec["components"]["securitySchemes"]["HEXBUS_API_TOKEN"]["scheme"] == "bearer"
    retry = spec["paths"]["/api/v1/queues/failed/{dead_letter_id}/retry"]["post"]
    assert {"401", "403", "404", "409"} <= set(retry["responses"])
    assert "security" in retry
    assert "security" not in spec["paths"]["/api/v1/queues/stats"]["get"]


def test_the_page_holds_no_data_and_forbids_other_scripts() -> None:
    memory = memory_app(
        {"HEXBUS_API_TOKEN": TOKEN, "REDIS_URL": "redis://x<script>alert(1)</script>@h:1/0"}
    )
    response = memory.client.get("/queues")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "alert(1)" not in response.text, "the settings come from the API, with a token"
    policy = response.headers["Content-Security-Policy"]
    nonce = policy.split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in response.text
    assert "default-src 'none'" in policy
    assert memory.client.get("/queues").headers["Content-Security-Policy"] != policy, "fresh"
    assert memory.client.get("/", follow_redirects=False).headers["location"] == "/queues"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/events/%00"),
        ("GET", "/api/v1/events/" + "f" * 5000),
        ("GET", "/api/v1/queues/failed?offset=%ff"),
        ("POST", "/api/v1/queues/failed/%00%ff/retry"),
        ("DELETE", "/api/v1/queues/failed/" + "x" * 5000),
        ("POST", "/api/v1/queues/%3Cscript%3E/pause"),
        ("POST", "/api/v1/queues/failed"),
        ("PUT", "/api/v1/queues/stats"),
        ("GET", "/api/v1/nowhere"),
    ],
)
def test_bad_input_is_never_a_500(memory: Memory, method: str, path: str) -> None:
    response = memory.client.request(method, path, headers=AUTH)
    assert 400 <= response.status_code < 500, response.text
    body = response.json()
    assert set(body) >= {"error", "detail"}


def test_settings_for_the_api_are_checked_at_start_up() -> None:
    settings = Settings.from_env({})
    assert settings.group(ApiSettings).api_token is None
    thresholds = settings.observability
    assert (thresholds.alert_failure_rate, thresholds.alert_backlog) == (0.10, 1000)
    settings = Settings.from_env(
        {
            "HEXBUS_API_TOKEN": TOKEN,
            "HEXBUS_ALERT_FAILURE_RATE": "0.25",
            "HEXBUS_ALERT_BACKLOG": "50",
        }
    )
    thresholds = settings.observability
    assert (
        settings.group(ApiSettings).api_token,
        thresholds.alert_failure_rate,
        thresholds.alert_backlog,
    ) == (
        TOKEN,
        0.25,
        50,
    )
    assert TOKEN not in repr(settings)
    assert TOKEN not in str(settings.describe())
    for name, value in [
        ("HEXBUS_API_TOKEN", "short"),
        ("HEXBUS_API_TOKEN", "has a space in it, sixteen+"),
        ("HEXBUS_ALERT_FAILURE_RATE", "10%"),
        ("HEXBUS_ALERT_FAILURE_RATE", "1.5"),
        ("HEXBUS_ALERT_FAILURE_RATE", "nan"),
        ("HEXBUS_ALERT_BACKLOG", "0"),
        ("HEXBUS_ALERT_BACKLOG", "many"),
    ]:
        with pytest.raises(ConfigurationError) as caught:
            Settings.from_env({name: value})
        assert caught.value.setting == name
        assert value not in str(caught.value) or name != "HEXBUS_API_TOKEN", "secret not echoed"


# --- on Redis ------------------------------------------------------------------------------


@attrs.define
class OnRedis:
    """The app over the Redis adapter and an in-process worker (started by the test)."""

    container: Container
    client: TestClient
    runtime: WorkerRuntime
    started: bool = False

    def start_worker(self) -> None:
        self.runtime.start()
        self.started = True

    def handler_state(self, event_id: object, handler: str = "it.work") -> str | None:
        body = self.client.get(f"/api/v1/events/{event_id}").json()
        states = {h["handler"]: h["state"] for h in body.get("handlers", [])}
        return states.get(handler)


@pytest.fixture
def on_redis(worker_env: dict[str, str], client: redis.Redis) -> Iterator[OnRedis]:
    container = create_container(
        {**worker_env, "HEXBUS_API_TOKEN": TOKEN, "HEXBUS_SHOW_ERRORS": "true"}
    )
    register(container)
    runtime = container.worker_runtime(
        queues=[q for q in handler_queues(container.processor()) if q != "slow"], threads=2
    )
    # Its routes are declared now, as they would be by a worker already running, so events
    # the test publishes before starting it wait in its queues (ADR 0015).
    runtime.maintenance.declare_routes()
    app = OnRedis(container, client_for(container), runtime)
    yield app
    if app.started:
        runtime.stop(timedelta(seconds=5))


@pytest.mark.redis
def test_redis_stats_and_event_status(on_redis: OnRedis) -> None:
    bus = on_redis.container.event_bus()
    job = Job(label="counted")
    bus.publish(job)
    bus.publish(Job(label="later"), delay=timedelta(hours=1))
    work = stats_of(on_redis.client)["work"]
    assert (work["waiting"], work["scheduled"], work["health"]) == (1, 1, "busy")
    assert on_redis.handler_state(job.event_id) == "queued"
    on_redis.start_worker()
    wait_for(lambda: on_redis.handler_state(job.event_id) == "succeeded", timeout=10)
    wait_for(lambda: stats_of(on_redis.client)["work"]["succeeded"] == 1, timeout=10)
    work = stats_of(on_redis.client)["work"]
    assert work["waiting"] == 0
    assert work["mean_duration_ms"] is not None
    assert work["health"] == "healthy"


@pytest.mark.redis
def test_redis_pause_keeps_events_and_resume_processes_them(on_redis: OnRedis) -> None:
    on_redis.start_worker()
    assert on_redis.client.post("/api/v1/queues/work/pause", headers=AUTH).status_code == 200
    job = Job(label="held")
    on_redis.container.event_bus().publish(job)
    wait_for(lambda: on_redis.handler_state(job.event_id, "it.limited") == "succeeded", timeout=10)
    work = stats_of(on_redis.client)["work"]
    assert work["paused"] is True
    assert work["waiting"] == 1, "it.work kept while paused (it.urgent is on work.high)"
    assert on_redis.handler_state(job.event_id) == "queued"
    assert on_redis.client.post("/api/v1/queues/work/resume", headers=AUTH).status_code == 200
    wait_for(lambda: on_redis.handler_state(job.event_id) == "succeeded", timeout=10)
    assert stats_of(on_redis.client)["work"]["paused"] is False


@pytest.mark.redis
def test_redis_a_retried_dead_letter_is_processed(on_redis: OnRedis) -> None:
    job = Job(label="flaky", fail_times=4)  # four attempts fail: retries exhausted
    on_redis.container.event_bus().publish(job)
    on_redis.start_worker()
    wait_for(
        lambda: on_redis.client.get("/api/v1/queues/failed").json()["total"] == 1,
        timeout=15,
        what="the dead letter",
    )
    (letter,) = on_redis.client.get("/api/v1/queues/failed").json()["items"]
    assert (letter["handler"], letter["reason"], letter["attempts"]) == (
        "it.work",
        "retries_exhausted",
        4,
    )
    assert "fails on attempt 4" in letter["error"]
    response = on_redis.client.post(f"/api/v1/queues/failed/{letter['id']}/retry", headers=AUTH)
    assert response.status_code == 200, response.text
    wait_for(lambda: on_redis.handler_state(job.event_id) == "succeeded", timeout=10)
    assert on_redis.client.get("/api/v1/queues/failed").json()["total"] == 0
    assert_error(
        on_redis.client.post(f"/api/v1/queues/failed/{letter['id']}/retry", headers=AUTH),
        404,
        "DeadLetterNotFound",
    )


@pytest.mark.redis
def test_redis_retry_all_remove_and_clean(on_redis: OnRedis) -> None:
    bus = on_redis.container.event_bus()
    for label in ("a", "b", "c"):
        bus.publish(Job(label=label, permanent=True))
    on_redis.start_worker()
    wait_for(lambda: on_redis.client.get("/api/v1/queues/failed").json()["total"] == 3, timeout=15)
    first = on_redis.client.get("/api/v1/queues/failed?limit=1").json()["items"][0]["id"]
    assert on_redis.client.delete(f"/api/v1/queues/failed/{first}", headers=AUTH).status_code == 200
    response = on_redis.client.post("/api/v1/queues/failed/retry-all", headers=AUTH)
    assert response.json()["retried"] == 2
    # Permanent failures die again; clean takes them all.
    wait_for(lambda: on_redis.client.get("/api/v1/queues/failed").json()["total"] == 2, timeout=15)
    response = on_redis.client.post(
        "/api/v1/queues/clean", json={"state": "dead", "older_than_seconds": 0}, headers=AUTH
    )
    assert response.json()["removed"] == 2
    assert stats_of(on_redis.client)["work"]["dead"] == 0


@pytest.mark.redis
def test_redis_health_needs_a_live_worker(on_redis: OnRedis) -> None:
    response = on_redis.client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert [f["check"] for f in body["failing"]] == ["workers"]
    assert body["checks"]["redis"]["reachable"] is True
    assert body["checks"]["redis"]["latency_ms"] >= 0
    assert body["checks"]["workers"] == {"status": "down", "alive": 0, "workers": []}
    on_redis.start_worker()
    wait_for(lambda: on_redis.client.get("/health").json()["status"] == "ok", timeout=10)
    body = on_redis.client.get("/health").json()
    assert body["status"] == "ok"
    assert body["checks"]["workers"]["alive"] == 1


@pytest.mark.redis
def test_redis_down_answers_503_never_500(namespace: str) -> None:
    with RedisServer() as server:
        container = create_container(
            {
                "USE_QUEUE_EVENT_BUS": "true",
                "REDIS_URL": server.url,
                "HEXBUS_NAMESPACE": namespace,
                "HEXBUS_API_TOKEN": TOKEN,
            }
        )
        client = client_for(container)
        assert client.get("/api/v1/queues/stats").status_code == 200
        assert client.get("/health/ready").status_code == 200
        server.stop()
        response = client.get("/health")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "down"
        assert body["checks"]["redis"]["reachable"] is False
        assert body["checks"]["backlog"]["status"] == "unknown"
        assert client.get("/health/ready").json()["status"] == "not ready"
        assert client.get("/health/ready").status_code == 503
        assert client.get("/health/live").status_code == 200
        assert_error(client.get("/api/v1/queues/stats"), 503, "EventBusUnavailable")
        assert_error(client.get("/api/v1/queues/failed"), 503, "EventBusUnavailable")
        assert_error(
            client.post("/api/v1/queues/failed/x/retry", headers=AUTH), 503, "EventBusUnavailable"
        )
        assert client.get("/queues").status_code == 200, "the page itself needs no Redis"

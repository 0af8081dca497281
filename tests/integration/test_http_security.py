"""Who may read what through the API, and what the server refuses before it reads (ADR 0016).

Two roles (the read token and the operator token), trusted hosts, the body cap checked before
any body is read, honest 4xx/5xx bodies, the local Swagger UI, and /metrics on the dashboard.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
import redis
from fastapi.testclient import TestClient

from hexbus import DeadLetter, DeadLetterReason
from hexbus.adapters.http import create_app
from hexbus.container import Container, create_container

OPERATOR = "operator-token-0123456789abcdef"
READER = "reader-token-0123456789abcdef"
MARKER = "Ana-Lopez-diagnosis-7731"


def client(container: Container, token: str | None = None, host: str = "localhost") -> TestClient:
    return TestClient(
        create_app(container),
        base_url=f"http://{host}",
        raise_server_exceptions=False,
        headers={"Authorization": f"Bearer {token}"} if token else None,
    )


def a_dead_letter(container: Container) -> DeadLetter:
    """A dead letter whose payload, error and traceback all quote a patient."""
    envelope = {
        "event_type": "clinic.lab_result",
        "version": 1,
        "event_id": str(uuid4()),
        "occurred_at": "2026-03-02T09:00:00+00:00",
        "correlation_id": None,
        "causation_id": None,
        "payload": {"patient": MARKER, "result": "positive"},
    }
    letter = DeadLetter(
        id="dl-1",
        reason=DeadLetterReason.RETRIES_EXHAUSTED,
        queue="lab",
        handler="lab.notify",
        event_id=None,
        event_type="clinic.lab_result",
        message=json.dumps(envelope),
        error_type="builtins.ValueError",
        error=f"cannot notify {MARKER}",
        traceback=(
            f'Traceback (most recent call last):\n  File "/srv/app/lab.py"\nValueError: {MARKER}'
        ),
        attempts=3,
        failed_at=datetime.now(UTC),
    )
    container.in_memory_bus().dead_letters.add(letter)
    return letter


def tokens(**extra: str) -> dict[str, str]:
    return {"HEXBUS_API_TOKEN": OPERATOR, "HEXBUS_API_READ_TOKEN": READER, **extra}


# --- roles -------------------------------------------------------------------------------


def test_without_a_token_only_counts_and_health_are_served() -> None:
    container = create_container({"HEXBUS_API_TOKEN": OPERATOR})
    a_dead_letter(container)
    anonymous = client(container)
    assert anonymous.get("/api/v1/queues/stats").status_code == 200
    assert anonymous.get("/health").status_code == 200
    for path in ("/api/v1/queues/failed", f"/api/v1/events/{uuid4()}", "/api/v1/config"):
        response = anonymous.get(path)
        assert response.status_code == 401, path
        assert MARKER not in response.text


def test_with_a_read_token_configured_counts_need_a_token_too() -> None:
    container = create_container(tokens())
    assert client(container).get("/api/v1/queues/stats").status_code == 401
    assert client(container).get("/metrics").status_code == 401
    assert client(container, READER).get("/api/v1/queues/stats").status_code == 200
    assert client(container, READER).get("/metrics").status_code == 200
    assert client(container).get("/health").status_code == 200, "health stays open"
    assert client(container, "wrong-token-0123456789").get("/api/v1/config").status_code == 403


def test_reading_is_refused_when_no_token_is_configured() -> None:
    container = create_container({})
    a_dead_letter(container)
    response = client(container, READER).get("/api/v1/queues/failed")
    assert response.status_code == 403
    assert "HEXBUS_API_READ_TOKEN" in response.json()["detail"]


def test_the_reader_sees_the_event_header_never_its_payload() -> None:
    container = create_container(tokens(HEXBUS_SHOW_ERRORS="true"))
    a_dead_letter(container)
    response = client(container, READER).get("/api/v1/queues/failed")
    assert response.status_code == 200
    (letter,) = response.json()["items"]
    assert letter["redacted"] == ["payload"]
    shown = json.loads(letter["message"])
    assert shown["event_type"] == "clinic.lab_result"
    assert "payload" not in shown
    assert "positive" not in response.text
    assert letter["error"] == f"cannot notify {MARKER}", "errors shown: HEXBUS_SHOW_ERRORS"


def test_the_operator_sees_the_payload() -> None:
    container = create_container(tokens(HEXBUS_SHOW_ERRORS="true"))
    a_dead_letter(container)
    (letter,) = client(container, OPERATOR).get("/api/v1/queues/failed").json()["items"]
    assert letter["redacted"] == []
    assert json.loads(letter["message"])["payload"] == {"patient": MARKER, "result": "positive"}


def test_error_texts_and_tracebacks_are_redacted_by_default() -> None:
    container = create_container(tokens())
    a_dead_letter(container)
    for token in (READER, OPERATOR):
        response = client(container, token).get("/api/v1/queues/failed")
        (letter,) = response.json()["items"]
        assert letter["error"] is None
        assert letter["traceback"] is None
        assert {"error", "traceback"} <= set(letter["redacted"])
        assert letter["error_type"] == "builtins.ValueError", "the type is always shown"
        assert "/srv/app" not in response.text
    reader_view = client(container, READER).get("/api/v1/queues/failed").text
    assert MARKER not in reader_view


def test_a_read_token_cannot_change_anything() -> None:
    container = create_container(tokens())
    a_dead_letter(container)
    response = client(container, READER).delete("/api/v1/queues/failed/dl-1")
    assert response.status_code == 403
    assert "operator token" in response.json()["detail"]
    assert client(container, OPERATOR).delete("/api/v1/queues/failed/dl-1").status_code == 200


def test_the_settings_are_redacted_and_need_a_token() -> None:
    container = create_container(
        tokens(REDIS_URL="redis://u:redis-pw-42@h:1/0?password=redis-pw-43")
    )
    response = client(container, READER).get("/api/v1/config")
    assert response.status_code == 200
    body = response.json()
    assert body["HEXBUS_API_READ_TOKEN"] == "set"
    assert body["REDIS_URL"] == "redis://***:***@h:1/0?password=***"
    for secret in ("redis-pw-42", "redis-pw-43", OPERATOR, READER):
        assert secret not in response.text


# --- hosts, bodies -----------------------------------------------------------------------


def test_an_unknown_host_is_refused_which_stops_dns_rebinding() -> None:
    container = create_container(tokens())
    response = client(container, READER, host="attacker.example").get("/api/v1/queues/stats")
    assert response.status_code == 400
    assert response.json()["error"] == "InvalidHost"
    for host in ("localhost:8000", "127.0.0.1", "[::1]:8000"):
        ok = client(container, READER).get("/api/v1/queues/stats", headers={"Host": host})
        assert ok.status_code == 200, host


def test_allowed_hosts_take_names_and_wildcards() -> None:
    container = create_container(tokens(HEXBUS_ALLOWED_HOSTS="ops.example.org,*.clinic.example"))
    assert client(container, READER, "ops.example.org").get("/health").status_code == 200
    assert client(container, READER, "a.clinic.example").get("/health").status_code == 200
    assert client(container, READER, "localhost").get("/health").status_code == 400
    assert client(container, READER, "clinic.example.evil").get("/health").status_code == 400


class Body:
    """An ASGI receive that hands out a body in chunks and counts what was taken."""

    def __init__(self, size: int, chunk: int = 64 * 1024) -> None:
        self.left = size
        self.chunk = chunk
        self.taken = 0

    async def __call__(self) -> dict[str, Any]:
        part = min(self.chunk, self.left)
        self.left -= part
        self.taken += part
        return {"type": "http.request", "body": b"x" * part, "more_body": self.left > 0}


def call(app: Any, method: str, path: str, headers: dict[str, str], body: Body) -> int:
    """Run one request through the ASGI app; its status."""
    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1234),
        "server": ("localhost", 80),
    }
    asyncio.run(app(scope, body, send))
    return statuses[0]


def test_a_large_body_without_a_token_is_refused_before_a_byte_is_read() -> None:
    app = create_app(create_container(tokens()))
    body = Body(100 * 1024 * 1024)
    status = call(app, "POST", "/api/v1/queues/clean", {"host": "localhost"}, body)
    assert status == 401
    assert body.taken == 0


def test_a_body_over_the_cap_is_refused_without_holding_it() -> None:
    app = create_app(create_container(tokens()))
    auth = {"host": "localhost", "authorization": f"Bearer {OPERATOR}"}
    declared = Body(100 * 1024 * 1024)
    headers = {**auth, "content-length": str(100 * 1024 * 1024)}
    assert call(app, "POST", "/api/v1/queues/clean", headers, declared) == 413
    assert declared.taken == 0, "a Content-Length over the cap is refused at once"
    chunked = Body(100 * 1024 * 1024, chunk=16 * 1024)
    assert call(app, "POST", "/api/v1/queues/clean", auth, chunked) == 413
    assert chunked.taken <= 64 * 1024 + 16 * 1024, "read only up to the cap"


# --- honest errors -----------------------------------------------------------------------


@pytest.mark.parametrize("query", ["offset=9223372036854775807", "offset=1000000001"])
def test_offsets_past_the_bound_are_422(query: str) -> None:
    container = create_container(tokens())
    response = client(container, READER).get(f"/api/v1/queues/failed?{query}")
    assert response.status_code == 422
    assert response.json()["fields"][0]["location"] == "query.offset"


@pytest.mark.redis
def test_a_redis_data_error_is_a_500_that_names_no_internals(
    redis_server: Any, namespace: str, client: redis.Redis
) -> None:
    container = create_container(
        {
            **tokens(),
            "USE_QUEUE_EVENT_BUS": "true",
            "REDIS_URL": redis_server.url,
            "HEXBUS_NAMESPACE": namespace,
        }
    )
    client.set(f"{namespace}:dead", "not a sorted set")
    response = TestClient(
        create_app(container),
        base_url="http://localhost",
        raise_server_exceptions=False,
        headers={"Authorization": f"Bearer {READER}"},
    ).get("/api/v1/queues/failed")
    assert response.status_code == 500
    body = response.json()
    assert body["error"] == "EventBusRejected"
    for internal in ("WRONGTYPE", namespace, "ZREVRANGE", "zrevrange", "redis://"):
        assert internal not in response.text
    assert "error id" in body["detail"]


# --- docs, metrics, the document ---------------------------------------------------------


def test_swagger_ui_is_served_from_this_server_under_the_strict_policy() -> None:
    docs = client(create_container(tokens())).get("/docs")
    assert docs.status_code == 200
    policy = docs.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "unsafe-inline" not in policy
    assert "http" not in docs.text.replace("http-equiv", ""), "no asset from elsewhere"
    assert 'integrity="sha384-' in docs.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "init.js"):
        served = client(create_container(tokens())).get(f"/docs/assets/{asset}")
        assert served.status_code == 200, asset
    assert client(create_container(tokens())).get("/docs/assets/..%2Fcore.py").status_code == 404


def test_the_dashboard_serves_prometheus_metrics() -> None:
    response = client(create_container({})).get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "hexbus_events_published" in response.text or "# HELP" in response.text


def test_the_document_describes_the_error_bodies_the_server_returns() -> None:
    spec = client(create_container(tokens())).get("/openapi.json").json()
    text = json.dumps(spec)
    assert "HTTPValidationError" not in text
    listing = spec["paths"]["/api/v1/queues/failed"]["get"]
    error = {"$ref": "#/components/schemas/ErrorOut"}
    assert listing["responses"]["422"]["content"]["application/json"]["schema"] == error
    assert {"401", "403", "500", "503"} <= set(listing["responses"])
    assert listing["security"] == [{"HEXBUS_API_TOKEN": []}]
    clean = spec["paths"]["/api/v1/queues/clean"]["post"]
    assert {"401", "403", "413", "422"} <= set(clean["responses"])
    stats = spec["paths"]["/api/v1/queues/stats"]["get"]
    assert "security" in stats, "a read token is configured: counts need it"
    open_spec = client(create_container({"HEXBUS_API_TOKEN": OPERATOR})).get("/openapi.json")
    assert "security" not in open_spec.json()["paths"]["/api/v1/queues/stats"]["get"]

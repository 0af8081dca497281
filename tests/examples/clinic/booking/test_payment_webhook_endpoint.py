"""The payment webhook as a real ASGI endpoint, driven with httpx's AsyncClient.

The whole clinic is wired by its composition root on the in-memory bus (virtual time): the
endpoint awaits the async bus, the email receipt is a plain handler, the SMS receipt an
``async def`` one whose ``httpx.AsyncClient`` reaches a fake provider served over a real local
socket (uvicorn on a free port).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request

from hexbus.adapters.clocks import VirtualClock
from hexbus.container import create_container
from hexbus.examples.clinic.adapters.notifiers import RecordingNotifier
from hexbus.examples.clinic.adapters.notifiers.http_sms import HttpSmsNotifier
from hexbus.examples.clinic.adapters.payment_webhook import (
    PATH,
    create_payment_webhook_app,
    signature,
)
from hexbus.examples.clinic.application.booking.event_ids import (
    payment_deadline_event_id,
    payment_event_id,
)
from hexbus.examples.clinic.container import ClinicContainer, build_clinic
from hexbus.examples.clinic.domain.booking import AppointmentStatus, Contact
from hexbus.testing.redis_server import free_port

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECRET = "provider-shared-secret"
PATIENT = Contact(name="Ana Lopez", email="ana@example.com", phone="+34600123456")
DOCTOR = Contact(name="Dr. Ruiz", email="ruiz@clinic.example")


@attrs.define
class FakeSmsProvider:
    """An SMS provider's API on a local port: records each message, answers as told."""

    url: str
    received: list[dict[str, Any]] = attrs.field(factory=list)
    status: int = 202


@pytest.fixture(scope="module")
def sms_provider() -> Iterator[FakeSmsProvider]:
    port = free_port()
    provider = FakeSmsProvider(url=f"http://127.0.0.1:{port}")
    api = FastAPI()

    @api.post("/messages")
    async def message(request: Request) -> dict[str, str]:
        body = await request.json()
        provider.received.append({**body, "key": request.headers.get("idempotency-key")})
        if provider.status >= 400:
            from fastapi import HTTPException  # noqa: PLC0415 - only on this path

            raise HTTPException(status_code=provider.status)
        return {"id": f"sms-{len(provider.received)}"}

    server = uvicorn.Server(uvicorn.Config(api, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the fake SMS provider did not start"
        time.sleep(0.02)
    yield provider
    server.should_exit = True
    thread.join(5)


@attrs.define
class Clinic:
    clinic: ClinicContainer
    clock: VirtualClock
    emails: RecordingNotifier
    app: FastAPI


@pytest.fixture
def clinic(sms_provider: FakeSmsProvider) -> Clinic:
    sms_provider.received.clear()
    sms_provider.status = 202
    clock = VirtualClock(NOW)
    container = create_container(env={}, clock=clock)
    emails = RecordingNotifier()
    wired = build_clinic(container, notifier=emails, sms_notifier=HttpSmsNotifier(sms_provider.url))
    wired.book_appointment()(
        appointment_id="apt-1",
        patient_id="pat-1",
        patient=PATIENT,
        doctor_id="doc-1",
        doctor=DOCTOR,
        clinic_id="clinic-1",
        starts_at=NOW + timedelta(days=1),
        price=Decimal("60.00"),
        currency="EUR",
    )
    app = create_payment_webhook_app(wired.receive_payment(), secret=SECRET)
    return Clinic(wired, clock, emails, app)


def payload(**data: Any) -> dict[str, Any]:
    fields = {
        "transaction_id": "txn-1",
        "appointment_id": "apt-1",
        "amount": "60.00",
        "currency": "EUR",
        **data,
    }
    return {"type": "payment.succeeded", "provider": "stripe", "data": fields}


async def post(app: FastAPI, body: dict[str, Any], *, secret: str = SECRET) -> httpx.Response:
    raw = json.dumps(body).encode()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://clinic") as client:
        return await client.post(
            PATH,
            content=raw,
            headers={"content-type": "application/json", "x-signature": signature(secret, raw)},
        )


def test_a_webhook_delivered_twice_publishes_once_and_sends_each_receipt_once(
    clinic: Clinic, sms_provider: FakeSmsProvider
) -> None:
    async def deliver_twice() -> list[httpx.Response]:
        return [await post(clinic.app, payload()), await post(clinic.app, payload())]

    first, again = asyncio.run(deliver_twice())

    assert first.status_code == again.status_code == 200
    assert first.json() == {"outcome": "accepted", "event_id": str(payment_event_id("txn-1"))}
    assert again.json()["outcome"] == "duplicate"
    appointment = clinic.clinic.appointments().get("apt-1")
    assert appointment.status is AppointmentStatus.CONFIRMED
    receipts = [n for n in clinic.emails.sent if n.subject == "Payment receipt"]
    assert len(receipts) == 1, "the plain email receipt ran once"
    assert len(sms_provider.received) == 1, "the async SMS receipt reached the provider once"
    text = sms_provider.received[0]
    assert text["to"] == PATIENT.phone
    assert text["key"] == f"{receipts[0].key}:sms"
    scheduled = {event.event_id for _, event in clinic.clinic.event_bus().scheduled}
    assert payment_deadline_event_id("apt-1") not in scheduled, "the auto-cancel is called off"


def test_a_provider_outage_retries_the_async_receipt_only(
    clinic: Clinic, sms_provider: FakeSmsProvider
) -> None:
    sms_provider.status = 503
    response = asyncio.run(post(clinic.app, payload()))

    assert response.status_code == 200
    tries = len(sms_provider.received)
    assert tries == 6, "the SMS receipt was tried 1 + 5 times (its retry policy)"
    dead = clinic.clinic.event_bus().dead_letters.list().items
    assert [d.handler for d in dead] == ["booking.text_receipt"]
    assert len([n for n in clinic.emails.sent if n.subject == "Payment receipt"]) == 1


def test_a_wrong_or_missing_signature_is_refused_and_publishes_nothing(clinic: Clinic) -> None:
    response = asyncio.run(post(clinic.app, payload(), secret="not-the-secret"))

    assert response.status_code == 401
    bus = clinic.clinic.event_bus()
    assert payment_event_id("txn-1") not in {e.event_id for e in bus.published}


@pytest.mark.parametrize(
    ("field", "value"),
    [("amount", "-5"), ("currency", "euro"), ("transaction_id", ""), ("amount", "1e400")],
)
def test_an_invalid_payment_is_refused_naming_the_field(
    clinic: Clinic, field: str, value: str
) -> None:
    response = asyncio.run(post(clinic.app, payload(**{field: value})))

    assert response.status_code == 422
    assert field in json.dumps(response.json())
    assert value not in {str(e.get("input")) for e in response.json()["detail"]}


def test_a_payment_for_an_unknown_appointment_is_a_404(clinic: Clinic) -> None:
    response = asyncio.run(post(clinic.app, payload(appointment_id="apt-404")))

    assert response.status_code == 404


def test_other_provider_events_are_acknowledged_and_ignored(clinic: Clinic) -> None:
    body = {**payload(), "type": "payment.failed"}
    response = asyncio.run(post(clinic.app, body))

    assert response.status_code == 202
    assert response.json() == {"outcome": "ignored"}

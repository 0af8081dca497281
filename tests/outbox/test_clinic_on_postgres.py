"""The clinic on PostgreSQL and Redis: its use cases commit through the outbox, and the
payment confirmation runs through the inbox, with a real worker process.

The inbox's point is the case the bus cannot cover alone: the handler's effects committed,
then its success record was lost (here: deleted from Redis), and the event comes again. The
confirmation must not run twice: a second run would write a second ``appointment.confirmed``
row to the outbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import redis

from hexbus.adapters.clocks import SystemClock
from hexbus.adapters.dramatiq import RedisKeys
from hexbus.adapters.postgres.engine import sqlalchemy
from hexbus.container import Container, create_container
from hexbus.examples.clinic import ClinicContainer, Contact, PaymentSucceeded, build_clinic
from hexbus.examples.clinic.adapters import RecordingNotifier
from hexbus.examples.clinic.application.booking.event_ids import payment_event_id
from hexbus.examples.clinic.application.booking.registration import Names
from hexbus.examples.clinic.domain.booking.appointment import AppointmentStatus

from .conftest import Start, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

CLINIC = "hexbus.examples.clinic:register"


@pytest.fixture
def clinic(env: dict[str, str]) -> Iterator[tuple[Container, ClinicContainer]]:
    container = create_container(env, clock=SystemClock())
    yield container, build_clinic(container, notifier=RecordingNotifier())
    container.database_engine().dispose()


def outbox_rows_of(container: Container, event_type: str) -> int:
    with container.database_engine().connect() as connection:
        return int(
            connection.execute(
                sqlalchemy.text("SELECT count(*) FROM hexbus_outbox WHERE event_type = :t"),
                {"t": event_type},
            ).scalar_one()
        )


def test_a_confirmation_redelivered_after_its_success_was_lost_is_skipped(
    clinic: tuple[Container, ClinicContainer],
    client: redis.Redis,
    env: dict[str, str],
    start: Start,
) -> None:
    container, app = clinic
    appointment = app.book_appointment()(
        patient_id="p-1",
        patient=Contact(name="Ana Lopez", email="ana@example.com"),
        doctor_id="d-1",
        doctor=Contact(name="Dr. Ruiz", email="ruiz@clinic.example"),
        clinic_id="c-1",
        starts_at=datetime.now(UTC) + timedelta(days=3),
        price=Decimal("60.00"),
        currency="EUR",
    )
    assert outbox_rows_of(container, "appointment.created") == 1, "booked through the outbox"
    payment = {
        "payment_id": "tx-1", "appointment_id": appointment.id, "amount": Decimal("60.00"),
        "currency": "EUR", "provider": "stripe",
    }  # fmt: skip
    app.handle_payment_webhook()(transaction_id="tx-1", **{
        k: v for k, v in payment.items() if k != "payment_id"
    })  # fmt: skip
    start("worker-process", "--queues", "appointment", "--threads", "2", "--app", CLINIC)

    appointments = app.appointments()
    wait_for(
        lambda: appointments.get(appointment.id).status is AppointmentStatus.CONFIRMED,
        timeout=30,
        what="the worker to confirm the paid appointment",
    )
    event = PaymentSucceeded(
        event_id=payment_event_id("tx-1"), occurred_at=datetime.now(UTC), **payment
    )
    done = RedisKeys(env["HEXBUS_NAMESPACE"]).done(event.event_id)
    wait_for(
        lambda: client.hexists(done, Names.CONFIRM_APPOINTMENT),
        timeout=10,
        what="the confirmation's success record",
    )
    assert outbox_rows_of(container, "appointment.confirmed") == 1

    client.delete(done)  # Redis lost the success record
    # Delivered again, by a publisher that reads the routes the worker declared since.
    create_container(env).event_bus().redeliver(event)
    wait_for(
        lambda: client.hexists(done, Names.CONFIRM_APPOINTMENT),
        timeout=30,
        what="the redelivered confirmation to finish",
    )

    assert outbox_rows_of(container, "appointment.confirmed") == 1, "it did not run again"
    assert appointments.get(appointment.id).status is AppointmentStatus.CONFIRMED
    with container.database_engine().connect() as connection:
        claims = connection.execute(
            sqlalchemy.text("SELECT handler FROM hexbus_inbox WHERE event_id = :e"),
            {"e": event.event_id},
        ).scalars()
        assert list(claims) == [Names.CONFIRM_APPOINTMENT]

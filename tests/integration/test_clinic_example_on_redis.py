"""The clinic example's timers and jobs on Redis, through a real WorkerRuntime.

The container is built as every process builds it (``create_container`` with
``USE_QUEUE_EVENT_BUS=true``), on a private redis-server and a namespace per test, and the
clinic wired onto it as ``--app hexbus.examples.clinic:register`` does (``build_clinic``), with
a recording notifier. One in-process worker serves every handler queue. Real time passes, so the
flows use short delays: an appointment an hour and two seconds away has its 1 h reminder due in
two seconds, and the payment window and the offer window are given in seconds. Every wait
polls with a deadline; nothing sleeps for a fixed long time.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import attrs
import pytest

from hexbus.adapters.dramatiq import DramatiqEventBus, handler_queues
from hexbus.adapters.dramatiq.monitor import RedisQueueMonitor
from hexbus.container import Container, create_container
from hexbus.examples.clinic import ClinicContainer, build_clinic
from hexbus.examples.clinic.adapters import CannedAnalyzer, InMemoryAppointmentRepository
from hexbus.examples.clinic.adapters.notifiers import RecordingNotifier
from hexbus.examples.clinic.application.booking import (
    WHATSAPP_LIMIT,
    Names,
    appointment_created_event_id,
    payment_deadline_event_id,
    payment_event_id,
    reminder_event_id,
)
from hexbus.examples.clinic.application.booking.text_receipts import TEXT_RECEIPT
from hexbus.examples.clinic.application.waitlist import Names as WaitlistNames
from hexbus.examples.clinic.application.waitlist import expiry_event_id
from hexbus.examples.clinic.domain.booking import Appointment, AppointmentStatus, Contact
from hexbus.examples.clinic.domain.medicine import Batch, Medicine
from hexbus.examples.clinic.domain.waitlist import OfferStatus, Slot
from hexbus.examples.clinic.ports import Channel
from hexbus.ports import PublishOutcome
from hexbus.ports.monitoring import HandlerState
from hexbus.testing.redis_server import RedisServer

from .conftest import wait_for

pytestmark = pytest.mark.redis

CLINIC = "clinic-madrid"
DOCTOR = Contact(name="Dr. Ruiz", email="ruiz@clinic.example")


@attrs.define
class OnRedis:
    """The containers (hexbus's, the clinic's), its worker, and what the test reads back."""

    container: Container
    clinic: ClinicContainer
    sent: RecordingNotifier
    bus: DramatiqEventBus
    monitor: RedisQueueMonitor
    appointments: InMemoryAppointmentRepository

    def book(
        self,
        appointment_id: str,
        *,
        starts_at: datetime,
        patient: Contact | None = None,
        clinic_id: str = CLINIC,
        payment_window: timedelta | None = None,
    ) -> Appointment:
        """Book through the container's use case (optionally with a short time to pay)."""
        options = {} if payment_window is None else {"payment_window": payment_window}
        return self.clinic.book_appointment(**options)(
            appointment_id=appointment_id,
            patient_id=f"pat-{appointment_id}",
            patient=patient or Contact(name="Ana", email=f"{appointment_id}@example.com"),
            doctor_id="doc-ruiz",
            doctor=DOCTOR,
            clinic_id=clinic_id,
            starts_at=starts_at,
            price=Decimal("60.00"),
            currency="EUR",
        )

    def pay(self, appointment_id: str, transaction_id: str) -> PublishOutcome:
        return self.clinic.handle_payment_webhook()(
            transaction_id=transaction_id,
            appointment_id=appointment_id,
            amount=Decimal("60.00"),
            currency="EUR",
            provider="stripe",
        ).outcome

    def status(self, appointment_id: str) -> AppointmentStatus:
        return self.appointments.get(appointment_id).status

    def state(self, event_id: UUID, handler: str) -> HandlerState | None:
        status = self.monitor.event_status(event_id)
        if status is None:
            return None
        return next((h.state for h in status.handlers if h.handler == handler), None)

    def templates(self, template: str) -> list[str]:
        return [n.to for n in self.sent.with_template(template)]


@pytest.fixture
def on_redis(redis_server: RedisServer, namespace: str) -> Iterator[OnRedis]:
    sent = RecordingNotifier()
    env = {
        "USE_QUEUE_EVENT_BUS": "true",
        "REDIS_URL": redis_server.url,
        "HEXBUS_NAMESPACE": namespace,
    }
    container = create_container(env)
    clinic = build_clinic(container, notifier=sent)
    bus = container.event_bus()
    monitor = container.monitor()
    appointments = clinic.appointments()
    assert isinstance(bus, DramatiqEventBus)
    assert isinstance(monitor, RedisQueueMonitor)
    assert isinstance(appointments, InMemoryAppointmentRepository)
    processor = container.processor()
    runtime = container.worker_runtime(queues=handler_queues(processor), threads=8)
    runtime.start()
    try:
        yield OnRedis(container, clinic, sent, bus, monitor, appointments)
    finally:
        runtime.stop(timedelta(seconds=5))


def test_the_worker_serves_every_clinic_queue_and_priority(on_redis: OnRedis) -> None:
    queues = set(handler_queues(on_redis.container.processor()))
    assert {
        "notification",
        "appointment",
        "appointment.low",
        "medicine",
        "ai-processing",
        "ai-processing.high",
        "report",
    } <= queues


def test_the_1h_reminder_is_delivered_when_due(on_redis: OnRedis) -> None:
    starts_at = datetime.now(UTC) + timedelta(hours=1, seconds=2)
    on_redis.book("apt-r", starts_at=starts_at)
    on_redis.pay("apt-r", "txn-r")
    wait_for(
        lambda: on_redis.status("apt-r") is AppointmentStatus.CONFIRMED,
        timeout=10,
        what="the payment confirming the appointment",
    )
    assert on_redis.templates("appointment_reminder_1h") == [], "not before it is due"
    wait_for(
        lambda: on_redis.templates("appointment_reminder_1h"),
        timeout=10,
        what="the 1 h reminder",
    )
    assert datetime.now(UTC) >= starts_at - timedelta(hours=1)
    assert on_redis.templates("appointment_reminder_1h") == ["apt-r@example.com"]
    assert on_redis.templates("appointment_reminder_24h") == [], "its time had passed"
    assert on_redis.state(reminder_event_id("apt-r", 1), Names.SEND_APPOINTMENT_REMINDER) is (
        HandlerState.SUCCEEDED
    )


def test_paying_cancels_the_auto_cancel_and_the_unpaid_one_is_cancelled(
    on_redis: OnRedis,
) -> None:
    starts_at = datetime.now(UTC) + timedelta(days=2)
    window = timedelta(seconds=2)
    on_redis.book("apt-paid", starts_at=starts_at, payment_window=window)
    on_redis.book("apt-unpaid", starts_at=starts_at, payment_window=window)
    assert on_redis.pay("apt-paid", "txn-paid") is PublishOutcome.ACCEPTED
    assert on_redis.bus.cancel(payment_deadline_event_id("apt-paid")) is False, "cancelled"
    wait_for(
        lambda: on_redis.status("apt-unpaid") is AppointmentStatus.CANCELLED,
        timeout=10,
        what="the unpaid appointment's auto-cancel",
    )
    unpaid = on_redis.appointments.get("apt-unpaid")
    assert (unpaid.cancelled_by, unpaid.cancellation_reason) == ("system", "not paid in time")
    wait_for(
        lambda: on_redis.templates("cancellation_patient") == ["apt-unpaid@example.com"],
        timeout=10,
        what="the patient told of the cancellation",
    )
    # Both deadlines were due at the same time: the paid one's never ran.
    assert on_redis.status("apt-paid") is AppointmentStatus.CONFIRMED
    deadline = payment_deadline_event_id("apt-paid")
    assert on_redis.state(deadline, Names.CANCEL_UNPAID_APPOINTMENT) is HandlerState.CANCELLED
    # The auto-cancel called off the unpaid appointment's reminders.
    for hours in (24, 1):
        event_id = reminder_event_id("apt-unpaid", hours)
        assert on_redis.state(event_id, Names.SEND_APPOINTMENT_REMINDER) is (HandlerState.CANCELLED)


def test_cancelling_an_appointment_cancels_its_reminders(on_redis: OnRedis) -> None:
    starts_at = datetime.now(UTC) + timedelta(hours=1, seconds=2)
    on_redis.book("apt-kept", starts_at=starts_at)
    on_redis.book("apt-dropped", starts_at=starts_at)
    for appointment_id in ("apt-kept", "apt-dropped"):
        on_redis.pay(appointment_id, f"txn-{appointment_id}")
    on_redis.clinic.cancel_appointment()("apt-dropped", reason="ill", by="patient")
    assert on_redis.bus.cancel(reminder_event_id("apt-dropped", 1)) is False, "cancelled"
    # Both reminders were due at the same moment: once the kept one is sent, the dropped one
    # would have been too.
    wait_for(
        lambda: on_redis.templates("appointment_reminder_1h"),
        timeout=10,
        what="the kept appointment's reminder",
    )
    time.sleep(0.3)
    assert on_redis.templates("appointment_reminder_1h") == ["apt-kept@example.com"]
    assert on_redis.state(reminder_event_id("apt-dropped", 1), Names.SEND_APPOINTMENT_REMINDER) is (
        HandlerState.CANCELLED
    )


def test_the_payment_webhook_delivered_twice_runs_once(on_redis: OnRedis) -> None:
    on_redis.book("apt-w", starts_at=datetime.now(UTC) + timedelta(days=2))
    assert on_redis.pay("apt-w", "txn-twice") is PublishOutcome.ACCEPTED
    assert on_redis.pay("apt-w", "txn-twice") is PublishOutcome.DUPLICATE
    payment = payment_event_id("txn-twice")
    wait_for(
        lambda: (
            on_redis.state(payment, Names.SEND_RECEIPT) is HandlerState.SUCCEEDED
            and on_redis.state(payment, Names.CONFIRM_APPOINTMENT) is HandlerState.SUCCEEDED
        ),
        timeout=10,
        what="the payment's handlers",
    )
    status = on_redis.monitor.event_status(payment)
    assert status is not None
    assert {h.handler: h.attempts for h in status.handlers} == {
        Names.SEND_RECEIPT: 1,
        Names.CONFIRM_APPOINTMENT: 1,
        TEXT_RECEIPT: 1,  # the async def one, on the worker's event loop
    }
    assert on_redis.templates("payment_receipt") == ["apt-w@example.com"]
    assert on_redis.sent.duplicates == 0, "no handler ran a second time"
    assert on_redis.status("apt-w") is AppointmentStatus.CONFIRMED


def test_whatsapp_is_limited_to_ten_a_minute_per_clinic(on_redis: OnRedis) -> None:
    starts_at = datetime.now(UTC) + timedelta(days=2)
    booked = [
        on_redis.book(
            f"apt-{i:02d}",
            starts_at=starts_at,
            patient=Contact(name=f"P{i}", email=f"p{i}@example.com", phone=f"+3460000{i:02d}"),
        )
        for i in range(12)
    ]
    other = on_redis.book(
        "apt-other",
        starts_at=starts_at,
        clinic_id="clinic-sevilla",
        patient=Contact(name="Olga", phone="+34699000000"),
    )
    wait_for(
        lambda: (
            len(on_redis.templates("appointment_confirmation")) == 13
            and len(on_redis.templates("doctor_new_appointment")) == 13
        ),
        timeout=15,
        what="every confirmation and doctor notification",
    )
    wait_for(
        lambda: "+34699000000" in on_redis.templates("appointment_whatsapp"),
        timeout=10,
        what="the other clinic's WhatsApp, on a budget of its own",
    )

    def whatsapp_states() -> Counter[HandlerState | None]:
        return Counter(
            on_redis.state(appointment_created_event_id(a.id), Names.SEND_PATIENT_WHATSAPP)
            for a in booked
        )

    wait_for(
        lambda: whatsapp_states() == {HandlerState.SUCCEEDED: 10, HandlerState.SCHEDULED: 2},
        timeout=10,
        what="ten WhatsApp messages sent and two waiting for the next minute",
    )
    madrid = [n for n in on_redis.sent.on(Channel.WHATSAPP) if n.to.startswith("+3460000")]
    assert len(madrid) == WHATSAPP_LIMIT.limit == 10
    for appointment in booked:
        status = on_redis.monitor.event_status(appointment_created_event_id(appointment.id))
        assert status is not None
        (whatsapp,) = (h for h in status.handlers if h.handler == Names.SEND_PATIENT_WHATSAPP)
        if whatsapp.state is HandlerState.SCHEDULED:
            assert whatsapp.attempts <= 1, "waiting for a slot is not a failed attempt"
            assert whatsapp.next_attempt_at is not None
            assert whatsapp.next_attempt_at <= datetime.now(UTC) + timedelta(minutes=1)
    assert on_redis.bus.dead_letters.count() == 0
    assert other.clinic_id == "clinic-sevilla"


def test_an_unaccepted_waitlist_offer_expires_and_passes_to_the_next(on_redis: OnRedis) -> None:
    join = on_redis.clinic.join_waitlist()
    for name in ("Dina", "Eli"):
        join(
            patient_id=f"pat-{name.lower()}",
            patient=Contact(name=name, phone=f"+34 6{len(name)}0 000 000"),
            clinic_id=CLINIC,
            doctor_id="doc-ruiz",
            entry_id=f"wl-{name.lower()}",
        )
        time.sleep(0.01)  # joining order
    slot = Slot(
        clinic_id=CLINIC,
        doctor_id="doc-ruiz",
        doctor=DOCTOR,
        starts_at=datetime.now(UTC) + timedelta(days=1),
        price=Decimal("60.00"),
        currency="EUR",
    )
    offer = on_redis.clinic.offer_slot(offer_window=timedelta(seconds=1.5))(slot)
    assert offer is not None
    assert offer.entry_id == "wl-dina"
    offers = on_redis.clinic.slot_offers()

    def statuses() -> list[tuple[str, OfferStatus]]:
        return [(o.entry_id, o.status) for o in offers.for_slot(slot.key)]

    wait_for(
        lambda: statuses() == [("wl-dina", OfferStatus.EXPIRED), ("wl-eli", OfferStatus.OPEN)],
        timeout=10,
        what="the offer passing to Eli",
    )
    wait_for(
        lambda: len(on_redis.templates("waitlist_slot_offer")) == 2,
        timeout=10,
        what="both offers sent",
    )
    wait_for(
        lambda: on_redis.clinic.waitlist_entries().get("wl-dina").unanswered_hours,
        timeout=10,
        what="the low-priority preference calculation",
    )
    eli_offer = offers.for_slot(slot.key)[-1]
    appointment = on_redis.clinic.accept_offer()(eli_offer.id)
    assert appointment.patient.name == "Eli"
    assert (
        on_redis.state(expiry_event_id(eli_offer.id), WaitlistNames.PASS_OFFER_ON)
        is HandlerState.CANCELLED
    ), "accepting cancelled Eli's expiry"


def test_urgent_ai_analysis_runs_from_its_high_priority_queue(on_redis: OnRedis) -> None:
    analyzer = on_redis.clinic.analyzer()
    assert isinstance(analyzer, CannedAnalyzer)
    request = on_redis.clinic.request_ai_analysis()
    request(patient_id="pat-1", doctor_id="doc-ruiz", kind="ecg", urgent=True, request_id="u1")
    request(patient_id="pat-2", doctor_id="doc-ruiz", kind="x-ray", request_id="r1")
    wait_for(lambda: len(analyzer.runs) == 2, timeout=10, what="both analyses")
    assert {(r.request_id, r.urgent) for r in analyzer.runs} == {("u1", True), ("r1", False)}


def test_the_medicine_expiry_tick_runs_on_the_medicine_queue(on_redis: OnRedis) -> None:
    stock = on_redis.clinic.medicine_stock()
    midnight = datetime.combine(
        datetime.now(UTC).date() + timedelta(days=1), datetime.min.time(), UTC
    )
    stock.add(
        Medicine(
            id="med-1",
            name="Amoxicillin",
            clinic_id=CLINIC,
            pharmacist=Contact(name="Pharmacy", email="pharmacy@clinic.example"),
            low_stock_threshold=5,
            batches=(
                Batch(batch_id="A-1", expires_on=midnight.date() + timedelta(days=3), quantity=9),
            ),
        )
    )
    recurring = on_redis.container.recurring()  # a scheduler process's view
    assert recurring.run_due(now=midnight + timedelta(seconds=30)) >= 1
    wait_for(
        lambda: on_redis.templates("medicine_expiring") == ["pharmacy@clinic.example"],
        timeout=10,
        what="the expiry alert",
    )

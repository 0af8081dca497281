"""``hexbus demo --store postgres``: the clinic on PostgreSQL and Redis, through the outbox.

Where the plain demo runs on the in-memory bus and virtual time, this one runs the clinic as
production would: its repositories in PostgreSQL, its use cases in a unit of work whose events
go to the ``hexbus_outbox`` table in the same transaction, a relay publishing them to the
Dramatiq/Redis bus, and a worker running the handlers (in this process, on real time). It shows
the outbox rows a booking commits, the relay taking them, the handlers they reach, the payment
confirmation through the inbox, and a rolled-back use case leaving nothing behind.

PostgreSQL: ``DATABASE_URL`` when set, else a private cluster it starts with ``initdb`` and
``pg_ctl`` (Debian's ``postgresql`` package) in a temporary directory, removed at the end.
Redis: ``REDIS_URL`` when set, else a private ``redis-server`` on a free port. Either way it
uses a key namespace and tables of its own (``demo``-prefixed namespace; the tables are the
clinic's, created by its migrations).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import attrs
from rich.console import Console
from rich.table import Table

from ...adapters.clocks import SystemClock
from ...adapters.dramatiq.worker import handler_queues
from ...adapters.postgres.engine import sqlalchemy
from ...container import Container, create_container
from .adapters.notifiers import RecordingNotifier, mask_recipient
from .container import ClinicContainer, build_clinic
from .domain.booking.appointment import AppointmentStatus
from .domain.booking.events import Contact, InvoiceIssued, InvoiceLine
from .domain.booking.invoice import Invoice

PATIENT = Contact(name="Ana Lopez", email="ana@example.com", phone="+34600123456")
DOCTOR = Contact(name="Dr. Ruiz", email="ruiz@clinic.example")


@contextlib.contextmanager
def _servers(console: Console) -> Iterator[tuple[str, str]]:
    """(DATABASE_URL, REDIS_URL): the environment's, or private servers started here."""
    with contextlib.ExitStack() as stack:
        database_url = os.environ.get("DATABASE_URL", "")
        redis_url = os.environ.get("REDIS_URL", "")
        if not database_url:
            from ...testing.postgres_server import PostgresServer  # noqa: PLC0415

            console.print("starting a private PostgreSQL cluster (initdb, pg_ctl) ...")
            database_url = stack.enter_context(PostgresServer()).url
        if not redis_url:
            from ...testing.redis_server import RedisServer  # noqa: PLC0415

            console.print("starting a private redis-server ...")
            redis_url = stack.enter_context(RedisServer()).url
        yield database_url, redis_url


def _outbox(container: Container) -> list[tuple[str, str, str]]:
    with container.database_engine().connect() as connection:
        rows = connection.execute(
            sqlalchemy.text(
                "SELECT id, event_type, COALESCE(to_char(due_at, 'YYYY-MM-DD HH24:MI'), 'now') "
                "FROM hexbus_outbox ORDER BY id"
            )
        ).all()
    return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]


class _Demo:
    def __init__(self, console: Console, container: Container, clinic: ClinicContainer,
                 notifier: RecordingNotifier) -> None:  # fmt: skip
        self.console = console
        self.container = container
        self.clinic = clinic
        self.notifier = notifier
        self.problems: list[str] = []

    def check(self, ok: bool, what: str) -> None:
        mark = "[green]ok[/]" if ok else "[red]PROBLEM[/]"
        self.console.print(f"  {mark} {what}")
        if not ok:
            self.problems.append(what)

    def show_outbox(self, title: str) -> int:
        rows = _outbox(self.container)
        table = Table("id", "event type", "due", title=title)
        for row in rows:
            table.add_row(*row)
        self.console.print(table if rows else f"  {title}: empty")
        return len(rows)

    def wait(self, condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                self.check(True, what)
                return
            time.sleep(0.05)
        self.check(False, f"{what} (not within {timeout:g}s)")


def run_postgres_demo(console: Console) -> int:
    """Run the walk-through; 0 when every step behaved as ADR 0020 and 0021 say."""
    console.rule("[bold]hexbus demo: the clinic on PostgreSQL and Redis, through the outbox")
    with _servers(console) as (database_url, redis_url):
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "USE_QUEUE_EVENT_BUS": "true",
            "HEXBUS_NAMESPACE": f"demo{uuid.uuid4().hex[:8]}",
            "HEXBUS_METRICS": "false",
            "HEXBUS_OUTBOX_POLL_INTERVAL": "0.2",
        }
        container = create_container(env, clock=SystemClock())
        notifier = RecordingNotifier()
        console.print("applying migrations (hexbus's outbox and inbox, the clinic's tables) ...")
        clinic = build_clinic(container, notifier=notifier)
        demo = _Demo(console, container, clinic, notifier)
        worker = container.worker_runtime(queues=handler_queues(container.processor()), threads=4)
        worker.start()
        stop = threading.Event()
        try:
            _walk(demo, stop)
        finally:
            stop.set()
            worker.stop(timedelta(seconds=10))
            container.database_engine().dispose()
    if demo.problems:
        console.print(f"[bold red]{len(demo.problems)} problem(s):[/] {'; '.join(demo.problems)}")
        return 1
    console.print("[bold green]every step behaved: state and events committed together[/]")
    return 0


def _walk(demo: _Demo, stop: threading.Event) -> None:
    console, clinic, container = demo.console, demo.clinic, demo.container
    console.rule("1. booking: the appointment and its events commit together")
    appointment = clinic.book_appointment()(
        patient_id="p-1", patient=PATIENT, doctor_id="d-1", doctor=DOCTOR, clinic_id="c-1",
        starts_at=datetime.now(UTC) + timedelta(days=2), price=Decimal("60.00"), currency="EUR",
    )  # fmt: skip
    rows = demo.show_outbox("outbox after the booking commits (no relay running yet)")
    demo.check(rows >= 3, f"{rows} outbox rows: the booking, its reminders and its deadline")

    console.rule(
        "2. the relay publishes committed rows to Redis (LISTEN/NOTIFY, FOR UPDATE SKIP LOCKED)"
    )
    relay = container.outbox_relay()
    published: list[int] = []

    def progress(totals: object) -> None:
        published.append(getattr(totals, "published", 0))

    thread = threading.Thread(
        target=relay.run, args=(stop,), kwargs={"progress": progress}, daemon=True
    )
    thread.start()
    demo.wait(lambda: not _outbox(container), "the relay emptied the outbox")
    console.print(f"  relay published {max(published, default=0)} event(s)")

    console.rule("3. the worker runs the handlers the events reached")
    demo.wait(
        lambda: (
            len(demo.notifier.to(PATIENT.email or "")) >= 1
            and len(demo.notifier.to(DOCTOR.email or "")) >= 1
        ),
        "the patient's confirmation and the doctor's notice were sent",
    )
    for sent in demo.notifier.sent:
        console.print(f"  sent {sent.channel.value} to {mask_recipient(sent.to)}: {sent.subject}")

    console.rule("4. payment: confirmed through the inbox, AppointmentConfirmed through the outbox")
    clinic.handle_payment_webhook()(
        transaction_id="tx-demo-1", appointment_id=appointment.id, amount=Decimal("60.00"),
        currency="EUR", provider="stripe",
    )  # fmt: skip
    appointments = clinic.appointments()
    demo.wait(
        lambda: appointments.get(appointment.id).status is AppointmentStatus.CONFIRMED,
        "the appointment went from PENDING to CONFIRMED",
    )
    with container.database_engine().connect() as connection:
        claims = connection.execute(
            sqlalchemy.text("SELECT handler FROM hexbus_inbox ORDER BY processed_at")
        ).scalars().all()  # fmt: skip
    demo.check("booking.confirm_appointment" in claims, f"inbox claims: {', '.join(claims)}")

    console.rule("5. an invoice: stored with its event; the notification through the inbox")
    invoice = clinic.issue_invoice()(
        patient_id="p-1", patient=PATIENT, currency="EUR", due_on=date.today() + timedelta(days=30),
        lines=[InvoiceLine(description="Consultation", quantity=1, unit_price=Decimal("60"))],
        appointment_id=appointment.id,
    )  # fmt: skip
    demo.wait(
        lambda: any(invoice.id in n.body or invoice.id in n.subject for n in demo.notifier.sent),
        f"invoice {invoice.id} was stored, relayed and its notification sent",
    )

    stop.set()  # the relay stops, so anything committed from here would stay in the outbox
    thread.join(timeout=5)
    console.rule("6. a use case that fails: nothing stored, nothing published")
    uow = container.unit_of_work()
    before = len(_outbox(container))
    with contextlib.suppress(RuntimeError), uow:
        clinic.invoices().add(attrs.evolve(invoice, id="inv-rolled-back"))
        uow.publish(attrs.evolve(invoice_event(invoice), invoice_id="inv-rolled-back"))
        raise RuntimeError("the use case failed after storing and publishing")
    demo.check(
        len(_outbox(container)) == before and not _exists(clinic, "inv-rolled-back"),
        "the rolled-back invoice is not stored and nothing reached the outbox",
    )


def invoice_event(invoice: Invoice) -> InvoiceIssued:
    """The :class:`InvoiceIssued` of ``invoice`` (a fresh event id)."""
    return InvoiceIssued(
        occurred_at=invoice.issued_at, invoice_id=invoice.id, patient_id=invoice.patient_id,
        patient=invoice.patient, appointment_id=invoice.appointment_id, lines=invoice.lines,
        currency=invoice.currency, due_on=invoice.due_on,
    )  # fmt: skip


def _exists(clinic: ClinicContainer, invoice_id: str) -> bool:
    try:
        clinic.invoices().get(invoice_id)
    except LookupError:
        return False
    return True

"""``hexbus demo``: the reference booking domain, run on the in-memory bus, narrated.

It builds the container exactly as every process does (``create_container``), overriding only
the clock (virtual, so minutes of retry backoff pass instantly) and the notifier (a recording
one behind a flaky one, so outages can be staged), then walks through the reference flows and
prints each event and handler attempt as the bus reports them. Nothing is mocked: what you
see is the product's own use cases, handlers, retries and dead letters. No server is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ...application.booking import Names
from ...container import create_container
from ...domain.booking.appointment import AppointmentStatus
from ...domain.booking.events import Contact, InvoiceLine
from ...ports.event_bus import PublishResult
from ...ports.notifier import Channel
from ..clocks import VirtualClock
from ..in_memory.event_bus import InMemoryEventBus
from ..in_memory.repositories import InMemoryAppointmentRepository
from ..notifiers import FlakyNotifier, RecordingNotifier, mask_recipient
from .trace import TraceObserver, short_id

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CLINIC = "clinic-madrid"
INDENT = " " * 14

ANA = Contact(name="Ana Lopez", email="ana.lopez@example.com", phone="+34 600 123 456")
BEN = Contact(name="Ben Okafor", email="ben.okafor@example.com")
CARLA = Contact(name="Carla Diaz", phone="+34 611 987 654")
DR_RUIZ = Contact(name="Dr. Marta Ruiz", email="m.ruiz@clinic.example")
DR_SAID = Contact(name="Dr. Omar Said", email="o.said@clinic.invalid")


class Demo:
    """The demo's state: the container's pieces, the trace, and what has been shown so far."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.clock = VirtualClock(START)
        self.recording = RecordingNotifier()
        self.notifier = FlakyNotifier(self.recording)
        self.container = create_container(env={}, clock=self.clock, notifier=self.notifier)
        self.bus: InMemoryEventBus = self.container.in_memory_bus()
        self.appointments: InMemoryAppointmentRepository = self.container.appointments()
        self.trace = TraceObserver(console, self.clock)
        self.bus.observer.add(self.trace)
        self.problems: list[str] = []
        self._shown = 0
        self._step = 0

    def step(self, title: str, story: str) -> None:
        """Start a numbered section, after a few virtual minutes."""
        if self._step:
            self.bus.advance(timedelta(minutes=5))
        self._step += 1
        self.console.print()
        self.console.rule(f"[bold]{self._step}. {title}", align="left")
        self.console.print(f"[italic]{story}[/]")

    def say(self, text: str) -> None:
        """A remark of the narrator, indented under the trace."""
        self.console.print(f"{INDENT}{text}", highlight=False)

    def show_sent(self) -> None:
        """The notifications delivered since last asked: channel, masked recipient, template."""
        sent = self.recording.sent[self._shown :]
        self._shown += len(sent)
        for notification in sent:
            template = notification.key.partition(":")[2]
            self.say(
                f"[blue]sent[/] {notification.channel.value:<8} "
                f"{mask_recipient(notification.to):<20} [dim]{template}[/]"
            )

    def expect(self, ok: bool, what: str) -> None:
        """Note a broken promise (the demo then exits 1, so CI notices)."""
        if not ok:
            self.problems.append(what)
            self.console.print(f"[bold red]unexpected:[/] {what}")

    def book(self, appointment_id: str, patient_id: str, patient: Contact, doctor: Contact) -> None:
        """Book ``patient`` with ``doctor`` for tomorrow at 10:00."""
        self.container.book_appointment()(
            appointment_id=appointment_id,
            patient_id=patient_id,
            patient=patient,
            doctor_id=f"doc-{doctor.name.split()[-1].lower()}",
            doctor=doctor,
            clinic_id=CLINIC,
            starts_at=START + timedelta(days=1, hours=1),
            price=Decimal("60.00"),
            currency="EUR",
        )

    def invoice(self, invoice_id: str, patient_id: str, patient: Contact, line: str) -> None:
        """Issue a one-line invoice."""
        self.container.issue_invoice()(
            invoice_id=invoice_id,
            patient_id=patient_id,
            patient=patient,
            lines=[InvoiceLine(description=line, quantity=1, unit_price=Decimal("60.00"))],
            currency="EUR",
            due_on=date(2026, 3, 31),
        )


def book_an_appointment(demo: Demo) -> None:
    """AppointmentCreated and its three handlers."""
    demo.step(
        "Book an appointment",
        "AppointmentCreated: the patient gets a confirmation (email, and WhatsApp when they "
        "gave a phone), the doctor is told.",
    )
    demo.book("apt-1001", "pat-ana", ANA, DR_RUIZ)
    demo.show_sent()


def pay_twice(demo: Demo) -> None:
    """The payment webhook arrives twice; the second is a duplicate."""
    demo.step(
        "A payment webhook, delivered twice",
        "The transaction id derives the event id, so the provider's second delivery is a "
        "duplicate: one receipt, one confirmation.",
    )
    webhook = demo.container.handle_payment_webhook()

    def deliver() -> PublishResult:
        return webhook(
            transaction_id="txn_8842",
            appointment_id="apt-1001",
            amount=Decimal("60.00"),
            currency="EUR",
            provider="stripe",
        )

    first = deliver()
    demo.bus.advance(timedelta(seconds=30))  # the provider did not hear back in time
    second = deliver()
    demo.show_sent()
    status = demo.appointments.get("apt-1001").status
    demo.say(
        f"webhook 1: [green]{first.outcome.value}[/]; webhook 2: [yellow]"
        f"{second.outcome.value}, ignored[/]"
    )
    demo.say(f"appointment apt-1001 is [bold green]{status.name}[/]")
    demo.expect(second.duplicate and first.event_id == second.event_id, "second webhook ran")
    demo.expect(status is AppointmentStatus.CONFIRMED, "apt-1001 was not confirmed")


def issue_an_invoice(demo: Demo) -> None:
    """InvoiceIssued and its notification."""
    demo.step("Issue an invoice", "InvoiceIssued: the patient is notified.")
    demo.invoice("inv-2001", "pat-ana", ANA, "Consultation")
    demo.show_sent()


def cancel_another(demo: Demo) -> None:
    """AppointmentCancelled, told to patient and doctor by two handlers."""
    demo.step(
        "Book and cancel another appointment",
        "AppointmentCancelled: patient and doctor are told, by two handlers that cannot hold "
        "each other back.",
    )
    demo.book("apt-1002", "pat-ben", BEN, DR_RUIZ)
    demo.show_sent()
    demo.container.cancel_appointment()("apt-1002", reason="patient is travelling", by="patient")
    demo.show_sent()


def recover_after_two_failures(demo: Demo) -> None:
    """Retries with backoff, then success."""
    demo.step(
        "The email provider times out twice, then recovers",
        "The handler is retried with exponential backoff (10 s, 20 s, ... with jitter) and "
        "succeeds on its third attempt; the patient gets one message.",
    )
    demo.notifier.fail_next(2)
    demo.invoice("inv-2002", "pat-ben", BEN, "Follow-up consultation")
    demo.show_sent()
    demo.expect(len(demo.recording.with_template("invoice_issued")) == 2, "invoice not sent")


def fail_for_good(demo: Demo) -> None:
    """Two dead letters: retries exhausted, and a non-retryable error."""
    demo.step(
        "SMS is down, and a doctor's address is wrong",
        "The SMS confirmation exhausts its retries; the doctor's notification fails with "
        "InvalidRecipient, which is never retried. Both become dead letters; WhatsApp, a "
        "handler of its own, still works.",
    )
    demo.notifier.take_down(Channel.SMS)
    demo.notifier.reject("o.said@clinic.invalid")
    demo.book("apt-1003", "pat-carla", CARLA, DR_SAID)
    demo.show_sent()


def retry_a_dead_letter(demo: Demo) -> None:
    """List the dead letters, fix SMS, retry the SMS one."""
    demo.step(
        "Dead letters: list them, fix SMS, retry one",
        "A retried dead letter goes back to the one handler that failed; the event's other "
        "handlers do not run again.",
    )
    dead_letters = demo.bus.dead_letters
    for item in reversed(dead_letters.list().items):
        demo.say(
            f"[magenta]{short_id(item.id)}[/] {item.handler} [dim]{item.reason.value}, "
            f"{item.attempts} attempt(s)[/]"
        )
        demo.say(f"         [dim]{escape(item.error)}[/]")
    demo.notifier.restore(Channel.SMS)
    demo.say("[bold]SMS provider restored[/]: retrying the SMS dead letter")
    sms = next(
        item
        for item in dead_letters.list().items
        if item.handler == Names.SEND_PATIENT_CONFIRMATION
    )
    dead_letters.retry(sms.id)
    demo.show_sent()
    demo.say(
        f"{dead_letters.count()} dead letter left: correct the doctor's address, then retry it"
    )
    demo.expect(dead_letters.count() == 1, "expected one dead letter left")


FLOWS: tuple[Callable[[Demo], None], ...] = (
    book_an_appointment,
    pay_twice,
    issue_an_invoice,
    cancel_another,
    recover_after_two_failures,
    fail_for_good,
    retry_a_dead_letter,
)


def run_demo(console: Console) -> int:
    """Run the narrated walk-through; 0 when every flow behaved as the contract says."""
    demo = Demo(console)
    console.rule("[bold]hexbus demo: the reference booking domain on the in-memory bus")
    console.print(
        f"Virtual clock from {START:%a %d %b %Y %H:%M} UTC. Notifications are recorded, not "
        "sent; recipients are masked."
    )
    for flow in FLOWS:
        flow(demo)
    summarize(demo)
    if demo.problems:
        console.print(f"[bold red]{len(demo.problems)} problem(s):[/] {'; '.join(demo.problems)}")
        return 1
    return 0


def summarize(demo: Demo) -> None:
    """The closing tables: what the bus did, and where each appointment ended up."""
    trace = demo.trace
    demo.console.print()
    table = Table("summary", "count")
    rows = [
        ("events published", trace.published_count),
        ("duplicates ignored", trace.duplicates),
        ("handler runs (attempts)", trace.runs),
        ("  succeeded", trace.succeeded),
        ("  failed", trace.failed_attempts),
        ("retries", trace.retries),
        ("dead letters", trace.dead_letters),
        ("  still open", demo.bus.dead_letters.count()),
        ("notifications sent", len(demo.recording)),
    ]
    for label, value in rows:
        table.add_row(label, str(value))
    demo.console.print(table)
    states = Table("appointment", "patient", "status")
    for appointment in demo.appointments.all():
        states.add_row(appointment.id, appointment.patient.name, appointment.status.name)
    demo.console.print(states)

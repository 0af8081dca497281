"""``hexbus demo``: the clinic example, run on the in-memory bus, narrated.

It builds hexbus's container exactly as every process does (``create_container``), with a
virtual clock (so minutes of retry backoff pass instantly), and wires the clinic onto it with
:func:`~hexbus.examples.clinic.build_clinic`, giving it a recording notifier behind a flaky one
(so outages can be staged). Then it walks through the clinic's flows and prints each event and
handler attempt as the bus reports them. Nothing is mocked: what you see is the clinic's own
use cases and handlers, and hexbus's retries, dead letters, timers and recurring jobs. No
server is needed: a day of virtual time passes in a fraction of a second.

``hexbus demo`` loads this module when it runs (the library imports no example); so does
``python -m hexbus.examples.clinic.demo``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ...adapters.clocks import VirtualClock
from ...adapters.in_memory.event_bus import InMemoryEventBus
from ...adapters.observability.alerters import RecordingAlerter
from ...container import create_container
from ...domain.events import DomainEvent
from ...ports.event_bus import PublishResult
from .adapters.notifiers import FlakyNotifier, RecordingNotifier, mask_recipient
from .adapters.repositories import (
    InMemoryAppointmentRepository,
    InMemoryMedicineRepository,
    InMemorySlotOfferRepository,
)
from .application.booking import Names
from .container import build_clinic
from .domain.booking.appointment import AppointmentStatus
from .domain.booking.events import (
    AppointmentPaymentDeadlinePassed,
    AppointmentReminderDue,
    Contact,
    InvoiceLine,
    NoShowCheckDue,
)
from .domain.medicine.events import LowStockCheckDue, MedicineExpiryCheckDue
from .domain.medicine.stock import Batch, Medicine
from .domain.reporting.events import WeeklyReportDue
from .domain.waitlist.offer import OfferStatus, Slot
from .ports.notifier import Channel
from .trace import TraceObserver, short_id

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CLINIC = "clinic-madrid"
INDENT = " " * 14

ANA = Contact(name="Ana Lopez", email="ana.lopez@example.com", phone="+34 600 123 456")
BEN = Contact(name="Ben Okafor", email="ben.okafor@example.com")
CARLA = Contact(name="Carla Diaz", phone="+34 611 987 654")
DR_RUIZ = Contact(name="Dr. Marta Ruiz", email="m.ruiz@clinic.example")
DR_SAID = Contact(name="Dr. Omar Said", email="o.said@clinic.invalid")
DINA = Contact(name="Dina Haddad", phone="+34 622 111 222")
ELI = Contact(name="Eli Navarro", email="eli.navarro@example.com", phone="+34 633 444 555")
PHARMACIST = Contact(name="Pharmacy Madrid", email="pharmacy@clinic.example")
TICKS = frozenset(
    e.event_type
    for e in (NoShowCheckDue, MedicineExpiryCheckDue, LowStockCheckDue, WeeklyReportDue)
)
"""The recurring schedules' tick events."""


class Demo:
    """The demo's state: the containers' pieces, the trace, and what has been shown so far."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.clock = VirtualClock(START)
        self.recording = RecordingNotifier()
        self.notifier = FlakyNotifier(self.recording)
        # Alerts are recorded, not logged: the trace already shows each dead letter.
        self.container = create_container(env={}, clock=self.clock, alerter=RecordingAlerter())
        self.clinic = build_clinic(self.container, notifier=self.notifier)
        self.bus: InMemoryEventBus = self.container.in_memory_bus()
        self.appointments: InMemoryAppointmentRepository = self.clinic.appointments()
        self.offers: InMemorySlotOfferRepository = self.clinic.slot_offers()
        self.stock: InMemoryMedicineRepository = self.clinic.medicine_stock()
        # The no-show check ticks every 30 minutes: counted, not printed, or a night of
        # virtual time would be a page of ticks.
        self.trace = TraceObserver(console, self.clock, quiet={NoShowCheckDue.event_type})
        self.bus.observer.add(self.trace)
        self.problems: list[str] = []
        self._shown = 0
        self._step = 0

    def step(self, title: str, story: str, gap: timedelta = timedelta(minutes=5)) -> None:
        """Start a numbered section, after ``gap`` of virtual time (a few minutes)."""
        if self._step and gap:
            self.bus.advance(gap)
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

    def advance_to(self, moment: datetime) -> None:
        """Let virtual time run to ``moment``, firing whatever falls due on the way."""
        self.say(f"[dim]... virtual time runs to {moment:%a %d %b %H:%M}[/]")
        if moment > self.clock.now():
            self.bus.advance(moment - self.clock.now())

    def timer(
        self, event_class: type[DomainEvent], appointment_id: str, **fields: object
    ) -> datetime:
        """When the pending ``event_class`` timer of ``appointment_id`` is due."""
        for due, event in self.bus.scheduled:
            if (
                type(event) is event_class
                and getattr(event, "appointment_id", None) == appointment_id
                and all(getattr(event, k) == v for k, v in fields.items())
            ):
                return due
        raise LookupError(f"no pending {event_class.__name__} for {appointment_id}")

    def show_timers(self) -> None:
        """The timers still pending on the bus, soonest first."""
        self.say("[bold]timers pending[/]:")
        for due, event in self.bus.scheduled:
            about = getattr(event, "appointment_id", None) or getattr(event, "offer_id", "")
            extra = f" {event.hours_before}h" if isinstance(event, AppointmentReminderDue) else ""
            self.say(f"  {due:%a %H:%M:%S}  [cyan]{event.event_type}[/] {about}{extra}")

    def expect(self, ok: bool, what: str) -> None:
        """Note a broken promise (the demo then exits 1, so CI notices)."""
        if not ok:
            self.problems.append(what)
            self.console.print(f"[bold red]unexpected:[/] {what}")

    def book(self, appointment_id: str, patient_id: str, patient: Contact, doctor: Contact) -> None:
        """Book ``patient`` with ``doctor`` for tomorrow at 10:00 (30 minutes to pay)."""
        self.clinic.book_appointment()(
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
        self.clinic.issue_invoice()(
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
        "gave a phone), the doctor is told. Three timers are set: reminders 24 h and 1 h "
        "before, and an auto-cancel in 30 minutes unless it is paid.",
    )
    demo.book("apt-1001", "pat-ana", ANA, DR_RUIZ)
    demo.show_sent()


def pay_twice(demo: Demo) -> None:
    """The payment webhook arrives twice; the second is a duplicate."""
    demo.step(
        "A payment webhook, delivered twice",
        "The transaction id derives the event id, so the provider's second delivery is a "
        "duplicate: one receipt, one confirmation. Paying cancels the auto-cancel.",
    )
    webhook = demo.clinic.handle_payment_webhook()

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
        "Its timers are cancelled (by ids derived from the appointment, nothing stored), then "
        "AppointmentCancelled: patient and doctor are told, by two handlers that cannot hold "
        "each other back.",
    )
    demo.book("apt-1002", "pat-ben", BEN, DR_RUIZ)
    demo.show_sent()
    demo.clinic.cancel_appointment()("apt-1002", reason="patient is travelling", by="patient")
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


def fix_the_mailbox(demo: Demo) -> None:
    """The last dead letter, retried once the address works."""
    demo.step(
        "Dr. Said's mailbox works again",
        "The clinic fixed the address; the last dead letter is retried and the doctor is told.",
    )
    demo.notifier.accept(DR_SAID.email or "")
    (last,) = demo.bus.dead_letters.list().items
    demo.bus.dead_letters.retry(last.id)
    demo.show_sent()
    demo.expect(demo.bus.dead_letters.count() == 0, "a dead letter is still open")


def auto_cancel_the_unpaid(demo: Demo) -> None:
    """The payment deadline fires for apt-1003 only."""
    demo.step(
        "Thirty minutes unpaid: the system cancels apt-1003",
        "Each booking set three timers: reminders 24 h and 1 h before, and an auto-cancel 30 "
        "minutes after booking. Paying cancelled apt-1001's auto-cancel; cancelling apt-1002 "
        "cancelled all three of its timers. apt-1003 was never paid.",
    )
    demo.show_timers()
    pending = {
        getattr(event, "appointment_id", None)
        for _, event in demo.bus.scheduled
        if isinstance(event, AppointmentPaymentDeadlinePassed)
    }
    demo.expect(pending == {"apt-1003"}, f"auto-cancels pending for {pending}, not apt-1003")
    demo.expect(
        not any(getattr(e, "appointment_id", None) == "apt-1002" for _, e in demo.bus.scheduled),
        "apt-1002 was cancelled but still has timers",
    )
    demo.advance_to(demo.timer(AppointmentPaymentDeadlinePassed, "apt-1003"))
    demo.show_sent()
    appointment = demo.appointments.get("apt-1003")
    demo.say(
        f"appointment apt-1003 is [bold red]{appointment.status.name}[/] by the "
        f"{appointment.cancelled_by} ({appointment.cancellation_reason})"
    )
    demo.expect(
        appointment.status is AppointmentStatus.CANCELLED and appointment.cancelled_by == "system",
        "apt-1003 was not cancelled by the system",
    )
    demo.expect(
        not any(getattr(e, "appointment_id", None) == "apt-1003" for _, e in demo.bus.scheduled),
        "apt-1003 still has timers",
    )


def first_reminder(demo: Demo) -> None:
    """The 24-hour reminder fires for the one appointment that still happens."""
    demo.step(
        "24 hours before: the first reminder",
        "Only apt-1001 still happens: the reminders of apt-1002 and apt-1003 were cancelled "
        "with them and never fire.",
        gap=timedelta(0),
    )
    demo.advance_to(demo.timer(AppointmentReminderDue, "apt-1001", hours_before=24))
    demo.show_sent()
    reminders = demo.recording.with_template("appointment_reminder_24h")
    demo.expect([n.to for n in reminders] == [ANA.email], f"24 h reminders went to {reminders}")


def waitlist_offer_expires(demo: Demo) -> None:
    """A freed slot offered in turn: the first patient lets it expire, the second takes it."""
    demo.step(
        "The freed slot goes to the waitlist",
        "apt-1003's slot is offered to the first patient waiting, by WhatsApp (10 a minute per "
        "clinic). Unanswered after 15 minutes, the offer expires and passes to the next; a "
        "low-priority handler notes the hour the first patient let pass.",
    )
    join = demo.clinic.join_waitlist()
    join(patient_id="pat-dina", patient=DINA, clinic_id=CLINIC, doctor_id="doc-said")
    join(patient_id="pat-eli", patient=ELI, clinic_id=CLINIC, doctor_id="doc-said")
    freed = demo.appointments.get("apt-1003")
    slot = Slot(
        clinic_id=CLINIC,
        doctor_id=freed.doctor_id,
        doctor=freed.doctor,
        starts_at=freed.starts_at,
        price=freed.price,
        currency=freed.currency,
    )
    first = demo.clinic.offer_slot()(slot)
    demo.show_sent()
    demo.expect(first is not None and first.patient == DINA, "the slot was not offered to Dina")
    assert first is not None
    demo.advance_to(first.expires_at)
    demo.show_sent()
    offers = demo.offers.for_slot(slot.key)
    demo.expect(
        [(o.patient.name, o.status) for o in offers]
        == [(DINA.name, OfferStatus.EXPIRED), (ELI.name, OfferStatus.OPEN)],
        "the expired offer did not pass to Eli",
    )
    demo.bus.advance(timedelta(minutes=3))
    demo.say("[bold]Eli accepts[/] three minutes later, and pays")
    appointment = demo.clinic.accept_offer()(offers[-1].id)
    demo.show_sent()
    demo.clinic.handle_payment_webhook()(
        transaction_id="txn_9051",
        appointment_id=appointment.id,
        amount=appointment.price,
        currency=appointment.currency,
        provider="stripe",
    )
    demo.show_sent()
    status = demo.appointments.get(appointment.id).status
    demo.say(f"appointment {appointment.id} ({ELI.name}) is [bold green]{status.name}[/]")
    demo.expect(status is AppointmentStatus.CONFIRMED, "Eli's appointment was not confirmed")


def medicine_jobs_overnight(demo: Demo) -> None:
    """The recurring jobs: their next fire times, then the night's medicine checks."""
    demo.step(
        "Overnight: the recurring jobs",
        "Cron schedules publish a tick event each time they fire (its id derived from the "
        "schedule and the time, so any number of schedulers fire it once): expiry at 00:00 "
        "(batches within 30 and 7 days), low stock at 06:00.",
    )
    today = demo.clock.now().date()
    demo.stock.add(
        Medicine(
            id="med-amoxicillin",
            name="Amoxicillin 500 mg",
            clinic_id=CLINIC,
            pharmacist=PHARMACIST,
            low_stock_threshold=20,
            batches=(
                Batch(batch_id="A-17", expires_on=today + timedelta(days=5), quantity=40),
                Batch(batch_id="A-18", expires_on=today + timedelta(days=90), quantity=60),
            ),
        )
    )
    demo.stock.add(
        Medicine(
            id="med-insulin",
            name="Insulin glargine",
            clinic_id=CLINIC,
            pharmacist=PHARMACIST,
            low_stock_threshold=10,
            batches=(Batch(batch_id="I-3", expires_on=today + timedelta(days=21), quantity=6),),
        )
    )
    recurring = demo.container.recurring()
    table = Table("schedule", "rule", "next fire (UTC)", "what")
    for schedule in recurring.schedules:
        table.add_row(
            schedule.name,
            schedule.rule,
            f"{recurring.next_fire(schedule):%a %d %b %H:%M}",
            schedule.description,
        )
    demo.console.print(table)
    midnight = datetime.combine(today + timedelta(days=1), datetime.min.time(), UTC)
    demo.advance_to(midnight)
    demo.show_sent()
    expiring = demo.recording.with_template("medicine_expiring")
    demo.expect(len(expiring) == 2, f"expected 2 expiry alerts, got {len(expiring)}")
    demo.advance_to(midnight + timedelta(hours=6))
    demo.show_sent()
    low = demo.recording.with_template("medicine_stock_low")
    demo.expect(len(low) == 1, f"expected 1 low-stock alert, got {len(low)}")
    ticks = demo.trace.quieted[NoShowCheckDue.event_type]
    demo.say(f"[dim]the no-show check has run {ticks} times so far (every 30 min, not shown)[/]")


def second_reminders(demo: Demo) -> None:
    """The 1-hour reminders of the two appointments that happen."""
    demo.step(
        "One hour before: the second reminders",
        "apt-1001 and the waitlist's booking start at 10:00: each patient gets the 1 h reminder.",
        gap=timedelta(0),
    )
    demo.advance_to(demo.timer(AppointmentReminderDue, "apt-1001", hours_before=1))
    demo.show_sent()
    reminders = sorted(n.to for n in demo.recording.with_template("appointment_reminder_1h"))
    demo.expect(
        reminders == sorted([ANA.email or "", ELI.email or ""]),
        f"1 h reminders went to {reminders}",
    )


FLOWS: tuple[Callable[[Demo], None], ...] = (
    book_an_appointment,
    pay_twice,
    issue_an_invoice,
    cancel_another,
    recover_after_two_failures,
    fail_for_good,
    retry_a_dead_letter,
    fix_the_mailbox,
    auto_cancel_the_unpaid,
    first_reminder,
    waitlist_offer_expires,
    medicine_jobs_overnight,
    second_reminders,
)


def run_demo(console: Console) -> int:
    """Run the narrated walk-through; 0 when every flow behaved as the contract says."""
    demo = Demo(console)
    console.rule("[bold]hexbus demo: the clinic example on the in-memory bus")
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
        ("  scheduled for later", trace.scheduled),
        ("  recurring ticks", sum(1 for e in demo.bus.published if e.event_type in TICKS)),
        ("scheduled events cancelled", trace.cancelled_count),
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


def main() -> None:
    """``python -m hexbus.examples.clinic.demo``: what ``hexbus demo`` runs."""
    console = Console()
    # Piped (CI, a file), rich would wrap at 80 columns; the trace reads better wider.
    raise SystemExit(run_demo(console if console.is_terminal else Console(width=110)))


if __name__ == "__main__":
    main()

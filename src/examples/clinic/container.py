"""The clinic's composition root: its own objects, wired onto a hexbus container.

hexbus's container (:func:`hexbus.container.create_container`) builds the bus, the scheduler,
the clock and the handler registry from the environment, and nothing of any application.
:func:`register` is the clinic's one entry into it, the function every process names with
``--app hexbus.examples.clinic:register``: it builds the clinic's own container
(:class:`ClinicContainer`: repositories, notifier, analyzer, use cases), registers the
clinic's handlers on ``container.processor()``, adds its recurring schedules to
``container.recurring()`` and declares how many handlers each of its queues runs at once.
None of it reaches Redis: a worker or web process on the queue bus is built without it. With
``DATABASE_URL`` the repositories live in PostgreSQL, in the unit of work's transaction with
hexbus's outbox, and registering applies the clinic's migrations (ADR 0020).

Tests and the demo call :func:`build_clinic` instead, to swap a piece (a recording notifier,
their own repositories) and to get the use cases back. The clock is hexbus's: give
``create_container(clock=VirtualClock())`` and the clinic, the bus's retries and the timers
all run on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from dependency_injector import containers, providers

from ...application.processor import DomainEventsProcessor
from ...container import Container
from ...ports.async_event_bus import AsyncEventBus, AsyncEventScheduler
from ...ports.clock import Clock
from ...ports.event_bus import EventBus, EventScheduler
from ...ports.unit_of_work import Inbox, UnitOfWork
from .adapters.analyzer import CannedAnalyzer
from .adapters.notifiers import LoggingNotifier
from .adapters.notifiers.http_sms import LoggingSmsNotifier
from .adapters.repositories import (
    InMemoryAppointmentRepository,
    InMemoryInvoiceRepository,
    InMemoryMedicineRepository,
    InMemorySlotOfferRepository,
    InMemoryWaitlistRepository,
)
from .application.analysis import RequestAiAnalysis, register_analysis_handlers
from .application.booking import (
    BookAppointment,
    CancelAppointment,
    CheckInPatient,
    HandlePaymentWebhook,
    IssueInvoice,
    register_booking_handlers,
    register_booking_schedules,
)
from .application.booking.async_payments import ReceivePayment
from .application.booking.text_receipts import register_text_receipts
from .application.medicine import register_medicine_handlers, register_medicine_schedules
from .application.reporting import register_report_handlers, register_report_schedules
from .application.waitlist import AcceptOffer, JoinWaitlist, OfferSlot, register_waitlist_handlers
from .ports.analyzer import Analyzer
from .ports.async_notifier import AsyncNotifier
from .ports.notifier import Notifier
from .ports.repositories import (
    AppointmentRepository,
    InvoiceRepository,
    MedicineRepository,
    SlotOfferRepository,
    WaitlistRepository,
)

QUEUE_CONCURRENCY: Final[Mapping[str, int]] = MappingProxyType(
    {
        "payment": 5,
        "notification": 10,
        "appointment": 5,
        "appointment.low": 1,
        "medicine": 3,
        "ai-processing": 2,
        "ai-processing.high": 1,
        "report": 1,
    }
)
"""How many handlers each of the clinic's queues runs at once: messages to people many at a
time (the providers are slow, not busy), the heavy AI analyses two (urgent ones one more, on
their own), the weekly report one. ``payment`` is where work on the provider's side (refunds,
reconciliation) would run."""


# The clinic's PostgreSQL repositories need the 'postgres' extra: imported only when
# DATABASE_URL selects them (hexbus's container does the same for its outbox).
def _postgres(name: str) -> Any:
    from .adapters.postgres import repositories  # noqa: PLC0415

    return getattr(repositories, name)


def _postgres_repository(name: str, unit_of_work: Any) -> Any:
    return _postgres(name)(unit_of_work)


def _setup_database(engine: Any) -> bool:
    from .adapters.postgres.schema import setup_database  # noqa: PLC0415

    setup_database(engine)
    return True


def _repository(in_memory: type, postgres: str, store_kind: Any, unit_of_work: Any) -> Any:
    return providers.Selector(
        store_kind,
        in_memory=providers.Singleton(in_memory),
        postgres=providers.Singleton(_postgres_repository, postgres, unit_of_work),
    )


class ClinicContainer(containers.DeclarativeContainer):
    """The clinic's providers. :func:`build_clinic` connects the four hexbus ones it needs.

    A test swaps a piece with ``clinic.<provider>.override(providers.Object(fake))`` before
    the handlers are registered, or passes it to :func:`build_clinic`.
    """

    # --- from the hexbus container ----------------------------------------------------------
    event_bus: providers.Dependency[EventBus] = providers.Dependency()
    scheduler: providers.Dependency[EventScheduler] = providers.Dependency()
    clock: providers.Dependency[Clock] = providers.Dependency()
    processor = providers.Dependency(instance_of=DomainEventsProcessor)
    # For the async web process: the same bus, awaited (hexbus ADR 0022).
    async_event_bus: providers.Dependency[AsyncEventBus] = providers.Dependency()
    async_scheduler: providers.Dependency[AsyncEventScheduler] = providers.Dependency()
    unit_of_work: providers.Dependency[UnitOfWork] = providers.Dependency()
    inbox: providers.Dependency[Inbox] = providers.Dependency()
    store_kind: providers.Dependency[str] = providers.Dependency()
    database_engine: providers.Dependency[Any] = providers.Dependency()

    # --- the clinic's adapters: repositories in memory (on PostgreSQL with DATABASE_URL, in
    # the unit of work's transaction), a notifier that only logs, a canned analyzer ---------
    appointments = _repository(
        InMemoryAppointmentRepository, "PostgresAppointmentRepository", store_kind, unit_of_work
    )
    invoices = _repository(
        InMemoryInvoiceRepository, "PostgresInvoiceRepository", store_kind, unit_of_work
    )
    waitlist_entries = _repository(
        InMemoryWaitlistRepository, "PostgresWaitlistRepository", store_kind, unit_of_work
    )
    slot_offers = _repository(
        InMemorySlotOfferRepository, "PostgresSlotOfferRepository", store_kind, unit_of_work
    )
    medicine_stock = _repository(
        InMemoryMedicineRepository, "PostgresMedicineRepository", store_kind, unit_of_work
    )
    # Applying the schema (hexbus's outbox and inbox, then the clinic's tables) is the clinic's
    # setup on PostgreSQL; in memory there is nothing to set up.
    schema = providers.Selector(
        store_kind,
        in_memory=providers.Object(False),
        postgres=providers.Singleton(_setup_database, database_engine),
    )
    notifier = providers.Singleton(LoggingNotifier)
    sms_notifier = providers.Singleton(LoggingSmsNotifier)  # async: HttpSmsNotifier in production
    analyzer = providers.Singleton(CannedAnalyzer)

    # --- use cases: what the clinic's screens, webhooks and jobs call -------------------------
    book_appointment = providers.Factory(
        BookAppointment,
        appointments=appointments,
        event_bus=event_bus,
        clock=clock,
        unit_of_work=unit_of_work,
    )
    cancel_appointment = providers.Factory(
        CancelAppointment,
        appointments=appointments,
        event_bus=event_bus,
        clock=clock,
        scheduler=scheduler,
        unit_of_work=unit_of_work,
    )
    check_in = providers.Factory(
        CheckInPatient,
        appointments=appointments,
        event_bus=event_bus,
        clock=clock,
        unit_of_work=unit_of_work,
    )
    handle_payment_webhook = providers.Factory(
        HandlePaymentWebhook,
        appointments=appointments,
        event_bus=event_bus,
        clock=clock,
        scheduler=scheduler,
    )
    # The same webhook for the ASGI endpoint (adapters/payment_webhook.py), awaited.
    receive_payment = providers.Factory(
        ReceivePayment,
        appointments=appointments,
        event_bus=async_event_bus,
        clock=clock,
        scheduler=async_scheduler,
    )
    join_waitlist = providers.Factory(JoinWaitlist, entries=waitlist_entries, clock=clock)
    offer_slot = providers.Factory(
        OfferSlot,
        entries=waitlist_entries,
        offers=slot_offers,
        event_bus=event_bus,
        clock=clock,
        unit_of_work=unit_of_work,
    )
    accept_offer = providers.Factory(
        AcceptOffer,
        entries=waitlist_entries,
        offers=slot_offers,
        book=book_appointment,
        event_bus=event_bus,
        clock=clock,
        scheduler=scheduler,
        unit_of_work=unit_of_work,
    )
    request_ai_analysis = providers.Factory(RequestAiAnalysis, event_bus=event_bus, clock=clock)
    issue_invoice = providers.Factory(
        IssueInvoice, invoices=invoices, event_bus=event_bus, clock=clock, unit_of_work=unit_of_work
    )

    # --- handler registration: Singletons, so each context registers once however often it
    # is asked for (its value is the tuple of its handlers' specs) ----------------------------
    booking = providers.Singleton(
        register_booking_handlers,
        processor,
        notifier=notifier,
        appointments=appointments,
        event_bus=event_bus,
        scheduler=scheduler,
        clock=clock,
        unit_of_work=unit_of_work,
        inbox=inbox,
    )
    # The SMS receipt is an ``async def`` handler beside the plain ones of the same event.
    text_receipts = providers.Singleton(
        register_text_receipts, processor, notifier=sms_notifier, appointments=appointments
    )
    waitlist = providers.Singleton(
        register_waitlist_handlers,
        processor,
        notifier=notifier,
        entries=waitlist_entries,
        offers=slot_offers,
        event_bus=event_bus,
        clock=clock,
        unit_of_work=unit_of_work,
    )
    medicine = providers.Singleton(
        register_medicine_handlers,
        processor,
        notifier=notifier,
        stock=medicine_stock,
        event_bus=event_bus,
    )
    analysis = providers.Singleton(
        register_analysis_handlers, processor, analyzer=analyzer, event_bus=event_bus, clock=clock
    )
    reporting = providers.Singleton(
        register_report_handlers, processor, appointments=appointments, event_bus=event_bus
    )


def build_clinic(
    container: Container,
    *,
    notifier: Notifier | None = None,
    sms_notifier: AsyncNotifier | None = None,
    analyzer: Analyzer | None = None,
    appointments: AppointmentRepository | None = None,
    invoices: InvoiceRepository | None = None,
    waitlist_entries: WaitlistRepository | None = None,
    slot_offers: SlotOfferRepository | None = None,
    medicine_stock: MedicineRepository | None = None,
) -> ClinicContainer:
    """Wire the clinic onto ``container`` and return the clinic's own container.

    The given pieces replace the defaults (in-memory repositories, a notifier that only logs,
    an async SMS notifier that only logs, a canned analyzer). Then the clinic's queues are
    declared, its handlers registered on ``container.processor()`` and its schedules added to
    ``container.recurring()``, all without reaching Redis. Call it once per hexbus container:
    a second call raises :class:`hexbus.HandlerRegistrationError` (the handler names are
    taken).
    The given pieces replace the defaults (in-memory repositories, or PostgreSQL ones when
    ``DATABASE_URL`` is set, a notifier that only logs, a canned analyzer). On PostgreSQL the
    schema is applied first (Alembic; safe to repeat). Then the clinic's queues are declared,
    its handlers registered on ``container.processor()`` and its schedules added to
    ``container.recurring()``, all without reaching Redis. Call it once per hexbus
    container: a second call raises :class:`hexbus.HandlerRegistrationError` (the handler
    names are taken).
    """
    clinic = ClinicContainer(
        event_bus=container.event_bus,
        scheduler=container.scheduler,
        clock=container.clock,
        processor=container.processor,
        async_event_bus=container.async_event_bus,
        async_scheduler=container.async_scheduler,
        unit_of_work=container.unit_of_work,
        inbox=container.inbox,
        store_kind=container.store_kind,
        database_engine=container.database_engine,
    )
    replacements: dict[str, object | None] = {
        "notifier": notifier,
        "sms_notifier": sms_notifier,
        "analyzer": analyzer,
        "appointments": appointments,
        "invoices": invoices,
        "waitlist_entries": waitlist_entries,
        "slot_offers": slot_offers,
        "medicine_stock": medicine_stock,
    }
    for name, value in replacements.items():
        if value is not None:
            getattr(clinic, name).override(providers.Object(value))
    clinic.schema()
    processor = container.processor()
    for queue, threads in QUEUE_CONCURRENCY.items():
        processor.declare_queue(queue, concurrency=threads)
    # After the replacements, so the handlers get the replacing notifier and repositories.
    for register_handlers in (
        clinic.booking,
        clinic.text_receipts,
        clinic.waitlist,
        clinic.medicine,
        clinic.analysis,
        clinic.reporting,
    ):
        register_handlers()
    # No-shows every 30 minutes, medicine expiry at 00:00 and low stock at 06:00, the weekly
    # report on Mondays. Adding a schedule touches no state: a scheduler reads it when it runs.
    recurring = container.recurring()
    register_booking_schedules(recurring)
    register_medicine_schedules(recurring)
    register_report_schedules(recurring)
    return clinic


def register(container: Container) -> None:
    """``--app hexbus.examples.clinic:register``: the clinic, with its default adapters."""
    build_clinic(container)

"""The composition root: the one place that builds adapters and injects them.

Everything else receives its collaborators. The adapter behind the :class:`EventBus` port is
one ``Selector`` over ``USE_QUEUE_EVENT_BUS`` (ADR 0004); a test swaps any piece with
``container.<provider>.override(providers.Object(fake))`` and leaves the rest as built.

Build it with :func:`create_container`, which reads and checks the settings and registers the
reference domain's handlers, so a worker process and a web process built the same way agree on
every handler name. The reference domain's recurring schedules come with the ``recurring``
scheduler itself, added once when it is first asked for: a scheduler process and the
in-memory bus ask for it; a worker or web process on Redis never does, so building their
container touches no Redis.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from dependency_injector import containers, providers

from .adapters.clocks import SystemClock
from .adapters.dramatiq.connection import connect
from .adapters.dramatiq.event_bus import DramatiqEventBus
from .adapters.dramatiq.keys import RedisKeys
from .adapters.dramatiq.monitor import RedisQueueMonitor
from .adapters.dramatiq.schedule_state import RedisScheduleState
from .adapters.dramatiq.tracking import Tracking
from .adapters.in_memory.analyzer import CannedAnalyzer
from .adapters.in_memory.event_bus import InMemoryEventBus
from .adapters.in_memory.monitor import InMemoryMonitor
from .adapters.in_memory.repositories import (
    InMemoryAppointmentRepository,
    InMemoryInvoiceRepository,
    InMemoryMedicineRepository,
    InMemorySlotOfferRepository,
    InMemoryWaitlistRepository,
)
from .adapters.in_memory.schedule_state import InMemoryScheduleState
from .adapters.notifiers.logging_notifier import LoggingNotifier
from .adapters.observability.alerters import BackgroundAlerter, LogAlerter, WebhookAlerter
from .adapters.observability.alerting import AlertingObserver
from .adapters.observability.event_log import LoggingObserver
from .adapters.observability.metrics import MetricsObserver
from .adapters.observability.thresholds import ThresholdWatcher
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
from .application.medicine import register_medicine_handlers, register_medicine_schedules
from .application.observers import NullObserver
from .application.processor import DomainEventsProcessor
from .application.recurring import RecurringScheduler
from .application.reporting import register_report_handlers, register_report_schedules
from .application.waitlist import (
    AcceptOffer,
    JoinWaitlist,
    OfferSlot,
    register_waitlist_handlers,
)
from .domain.errors import ConfigurationError
from .domain.serialization import EventSerializer
from .ports.event_bus import EventBus
from .ports.schedules import ScheduleState
from .settings import Settings


def _bus_kind(settings: Settings) -> str:
    return "queue" if settings.use_queue_event_bus else "in_memory"


def _reference_recurring(
    bus: EventBus, state: ScheduleState, now: Callable[[], datetime]
) -> RecurringScheduler:
    """The recurring scheduler, holding the reference domain's schedules: no-shows every 30
    minutes, medicine expiry at 00:00 and low stock at 06:00, the weekly report on Mondays
    (ADR 0010: added here, on first use, so building a container touches no Redis)."""
    recurring = RecurringScheduler(bus, state, now)
    register_booking_schedules(recurring)
    register_medicine_schedules(recurring)
    register_report_schedules(recurring)
    return recurring


def _metrics_kind(settings: Settings) -> str:
    return "on" if settings.observability.metrics else "off"


def _alerter_kind(settings: Settings) -> str:
    return "webhook" if settings.observability.alert_webhook_url else "log"


class Container(containers.DeclarativeContainer):
    """Providers for every port, chosen from :class:`Settings`."""

    settings = providers.Singleton(Settings.from_env)

    clock = providers.Singleton(SystemClock)
    processor = providers.Singleton(DomainEventsProcessor)
    serializer = providers.Singleton(EventSerializer)

    # --- observability: logs, metrics and alerts; every bus and worker tells them each step
    log_observer = providers.Singleton(
        LoggingObserver,
        serializer=serializer,
        log_payloads=settings.provided.observability.log_payloads,
    )
    metrics_observer = providers.Selector(
        providers.Callable(_metrics_kind, settings),
        on=providers.Singleton(MetricsObserver),
        off=providers.Singleton(NullObserver),
    )
    alerter = providers.Selector(
        providers.Callable(_alerter_kind, settings),
        log=providers.Singleton(LogAlerter),
        webhook=providers.Singleton(
            BackgroundAlerter,
            providers.Singleton(WebhookAlerter, settings.provided.observability.alert_webhook_url),
        ),
    )
    alerting_observer = providers.Singleton(
        AlertingObserver,
        alerter,
        clock=clock,
        period=settings.provided.observability.alert_period,
    )
    observers = providers.List(log_observer, metrics_observer, alerting_observer)

    in_memory_bus = providers.Singleton(
        InMemoryEventBus,
        processor=processor,
        clock=clock,
        observers=observers,
        serializer=serializer,
        retention=settings.provided.idempotency_retention,
        dead_letter_retention=settings.provided.dead_letter_retention,
    )
    redis_client = providers.Singleton(
        connect,
        settings.provided.redis.url,
        socket_timeout=settings.provided.redis.socket_timeout,
        connect_timeout=settings.provided.redis.connect_timeout,
    )
    redis_keys = providers.Singleton(RedisKeys, settings.provided.worker.namespace)
    tracking = providers.Singleton(
        Tracking,
        enabled=settings.provided.track_status,
        window=settings.provided.stats_window,
    )
    queue_bus = providers.Singleton(
        DramatiqEventBus,
        processor=processor,
        client=redis_client,
        keys=redis_keys,
        serializer=serializer,
        clock=clock,
        observers=observers,
        retention=settings.provided.idempotency_retention,
        dead_letter_retention=settings.provided.dead_letter_retention,
        publish_timeout=settings.provided.redis.publish_timeout,
        tracking=tracking,
    )

    bus_kind = providers.Callable(_bus_kind, settings)
    event_bus = providers.Selector(bus_kind, in_memory=in_memory_bus, queue=queue_bus)
    scheduler = providers.Selector(bus_kind, in_memory=in_memory_bus, queue=queue_bus)
    schedule_state = providers.Selector(
        bus_kind,
        in_memory=providers.Singleton(InMemoryScheduleState),
        queue=providers.Singleton(RedisScheduleState, redis_client, redis_keys),
    )
    # Its schedules are added when it is first built, which touches the schedule state (Redis
    # on the queue bus): only processes that run schedules ask for it.
    recurring = providers.Singleton(
        _reference_recurring, bus=event_bus, state=schedule_state, now=clock.provided.now
    )
    redis_monitor = providers.Singleton(
        RedisQueueMonitor,
        redis_client,
        redis_keys,
        processor,
        queue_bus.provided.dead_letters,
        tracking=tracking,
        heartbeat_timeout=settings.provided.worker.heartbeat_timeout,
    )
    in_memory_monitor = providers.Singleton(
        InMemoryMonitor,
        processor,
        clock,
        in_memory_bus.provided.dead_letters,
        window=settings.provided.stats_window,
        control=in_memory_bus,
    )
    monitor = providers.Selector(bus_kind, in_memory=in_memory_monitor, queue=redis_monitor)
    # Run by the ``hexbus worker`` supervisor, beside the workers, which always use Redis.
    threshold_watcher = providers.Singleton(
        ThresholdWatcher,
        redis_monitor,
        alerter,
        clock=clock,
        failure_rate=settings.provided.observability.alert_failure_rate,
        min_finished=settings.provided.observability.alert_min_finished,
        backlog=settings.provided.observability.alert_backlog,
        period=settings.provided.observability.alert_period,
        interval=settings.provided.observability.alert_interval,
    )
    queue_control = providers.Selector(bus_kind, in_memory=in_memory_bus, queue=redis_monitor)
    dead_letters = providers.Selector(
        bus_kind,
        in_memory=in_memory_bus.provided.dead_letters,
        queue=queue_bus.provided.dead_letters,
    )

    # --- the reference booking domain ------------------------------------------------------
    # In-memory repositories and a notifier that only logs: the reference domain shows the
    # bus, not a database or an SMS provider. Tests and the demo override ``notifier``.
    appointments = providers.Singleton(InMemoryAppointmentRepository)
    invoices = providers.Singleton(InMemoryInvoiceRepository)
    waitlist_entries = providers.Singleton(InMemoryWaitlistRepository)
    slot_offers = providers.Singleton(InMemorySlotOfferRepository)
    medicine_stock = providers.Singleton(InMemoryMedicineRepository)
    notifier = providers.Singleton(LoggingNotifier)
    analyzer = providers.Singleton(CannedAnalyzer)

    book_appointment = providers.Factory(
        BookAppointment, appointments=appointments, event_bus=event_bus, clock=clock
    )
    cancel_appointment = providers.Factory(
        CancelAppointment,
        appointments=appointments,
        event_bus=event_bus,
        clock=clock,
        scheduler=scheduler,
    )
    check_in = providers.Factory(
        CheckInPatient, appointments=appointments, event_bus=event_bus, clock=clock
    )
    handle_payment_webhook = providers.Factory(
        HandlePaymentWebhook,
        appointments=appointments,
        event_bus=event_bus,
        clock=clock,
        scheduler=scheduler,
    )
    join_waitlist = providers.Factory(JoinWaitlist, entries=waitlist_entries, clock=clock)
    offer_slot = providers.Factory(
        OfferSlot, entries=waitlist_entries, offers=slot_offers, event_bus=event_bus, clock=clock
    )
    accept_offer = providers.Factory(
        AcceptOffer,
        entries=waitlist_entries,
        offers=slot_offers,
        book=book_appointment,
        event_bus=event_bus,
        clock=clock,
        scheduler=scheduler,
    )
    request_ai_analysis = providers.Factory(RequestAiAnalysis, event_bus=event_bus, clock=clock)
    issue_invoice = providers.Factory(
        IssueInvoice, invoices=invoices, event_bus=event_bus, clock=clock
    )
    # A Singleton, so the handlers are registered once however often it is asked for
    # (its value is the tuple of their specs).
    booking = providers.Singleton(
        register_booking_handlers,
        processor,
        notifier=notifier,
        appointments=appointments,
        event_bus=event_bus,
        scheduler=scheduler,
        clock=clock,
    )
    waitlist = providers.Singleton(
        register_waitlist_handlers,
        processor,
        notifier=notifier,
        entries=waitlist_entries,
        offers=slot_offers,
        event_bus=event_bus,
        clock=clock,
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


def create_container(env: Mapping[str, str] | None = None, **overrides: object) -> Container:
    """A container built from ``env`` (default: ``os.environ``), settings checked now.

    ``overrides`` replace providers by name before anything is built, e.g.
    ``create_container(clock=VirtualClock())``.
    """
    container = Container()
    container.settings.override(providers.Object(Settings.from_env(env)))
    for name, value in overrides.items():
        provider = getattr(container, name, None)
        if not isinstance(provider, providers.Provider):
            raise ConfigurationError(name, "is not a provider of hexbus.container.Container")
        provider.override(providers.Object(value))
    # After the overrides, so the handlers get the overriding notifier, clock, repositories.
    for register in (
        container.booking,
        container.waitlist,
        container.medicine,
        container.analysis,
        container.reporting,
    ):
        register()
    if not container.settings().use_queue_event_bus:
        # On the in-memory bus, the reference schedules fire as its clock advances.
        container.in_memory_bus().add_timer(container.recurring())
        container.in_memory_bus().observer.add(container.in_memory_monitor())
    return container

"""The composition root: the one place that builds adapters and injects them.

Everything else receives its collaborators. The adapter behind the :class:`EventBus` port is
one ``Selector`` over ``USE_QUEUE_EVENT_BUS`` (ADR 0004); a test swaps any piece with
``container.<provider>.override(providers.Object(fake))`` and leaves the rest as built.

Build it with :func:`create_container`, which reads and checks the settings and registers the
reference domain's handlers, so a worker process and a web process built the same way agree on
every handler name.
"""

from __future__ import annotations

from collections.abc import Mapping

from dependency_injector import containers, providers

from .adapters.clocks import SystemClock
from .adapters.dramatiq.connection import connect
from .adapters.dramatiq.event_bus import DramatiqEventBus
from .adapters.dramatiq.keys import RedisKeys
from .adapters.dramatiq.monitor import RedisQueueMonitor
from .adapters.dramatiq.schedule_state import RedisScheduleState
from .adapters.dramatiq.tracking import Tracking
from .adapters.in_memory.event_bus import InMemoryEventBus
from .adapters.in_memory.monitor import InMemoryMonitor
from .adapters.in_memory.repositories import (
    InMemoryAppointmentRepository,
    InMemoryInvoiceRepository,
)
from .adapters.in_memory.schedule_state import InMemoryScheduleState
from .adapters.notifiers.logging_notifier import LoggingNotifier
from .application.booking import (
    BookAppointment,
    CancelAppointment,
    HandlePaymentWebhook,
    IssueInvoice,
    register_booking_handlers,
)
from .application.processor import DomainEventsProcessor
from .application.recurring import RecurringScheduler
from .domain.errors import ConfigurationError
from .domain.serialization import EventSerializer
from .settings import Settings


def _bus_kind(settings: Settings) -> str:
    return "queue" if settings.use_queue_event_bus else "in_memory"


class Container(containers.DeclarativeContainer):
    """Providers for every port, chosen from :class:`Settings`."""

    settings = providers.Singleton(Settings.from_env)

    clock = providers.Singleton(SystemClock)
    processor = providers.Singleton(DomainEventsProcessor)
    serializer = providers.Singleton(EventSerializer)
    observers = providers.List()

    in_memory_bus = providers.Singleton(
        InMemoryEventBus,
        processor=processor,
        clock=clock,
        observers=observers,
        serializer=serializer,
        retention=settings.provided.idempotency_retention,
        dead_letter_retention=settings.provided.dead_letter_retention,
    )
    redis_client = providers.Singleton(connect, settings.provided.redis.url)
    redis_keys = providers.Singleton(RedisKeys, settings.provided.namespace)
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
    recurring = providers.Singleton(
        RecurringScheduler, bus=event_bus, state=schedule_state, now=clock.provided.now
    )
    redis_monitor = providers.Singleton(
        RedisQueueMonitor,
        redis_client,
        redis_keys,
        processor,
        queue_bus.provided.dead_letters,
        tracking=tracking,
        heartbeat_timeout=settings.provided.heartbeat_timeout,
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
    notifier = providers.Singleton(LoggingNotifier)

    book_appointment = providers.Factory(
        BookAppointment, appointments=appointments, event_bus=event_bus, clock=clock
    )
    cancel_appointment = providers.Factory(
        CancelAppointment, appointments=appointments, event_bus=event_bus, clock=clock
    )
    handle_payment_webhook = providers.Factory(
        HandlePaymentWebhook, appointments=appointments, event_bus=event_bus, clock=clock
    )
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
        clock=clock,
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
    container.booking()  # after the overrides, so the handlers get the overriding notifier
    if not container.settings().use_queue_event_bus:
        # On the in-memory bus, recurring schedules fire as its clock advances.
        container.in_memory_bus().add_timer(container.recurring())
        container.in_memory_bus().observer.add(container.in_memory_monitor())
    return container

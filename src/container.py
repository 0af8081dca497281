"""The composition root: the one place that builds adapters and injects them.

Everything else receives its collaborators. The adapter behind the :class:`EventBus` port is
one ``Selector`` over ``USE_QUEUE_EVENT_BUS`` (ADR 0004), and so is the one behind
:class:`AsyncEventBus` (``async_event_bus``, ADR 0022); a test swaps any piece with
``container.<provider>.override(providers.Object(fake))`` and leaves the rest as built.

Build it with :func:`create_container`, which reads and checks the settings. It registers no
handler and no schedule: the application does, with a function given the container (the
``--app module:function`` of the CLI) that registers its handlers on ``processor()``, adds its
schedules to ``recurring()`` and declares its queues' concurrency. Workers must call it (they
run the handlers and declare their routes in Redis, ADR 0015); a process that only publishes
to Redis need not, since it fans out from the routes the workers declared: it needs the event
classes imported, no more. Operators' commands call it to show handler options. Adding
a schedule touches no Redis (the scheduler reads its state when it first runs), so a worker or
web process is built without reaching Redis.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from dependency_injector import containers, providers

from .adapters.clocks import SystemClock
from .adapters.dramatiq.async_event_bus import AsyncDramatiqEventBus
from .adapters.dramatiq.browser import RedisEventBrowser
from .adapters.dramatiq.connection import connect, connect_async
from .adapters.dramatiq.event_bus import DramatiqEventBus
from .adapters.dramatiq.keys import RedisKeys
from .adapters.dramatiq.maintenance import MaintenanceTimings
from .adapters.dramatiq.monitor import RedisQueueMonitor
from .adapters.dramatiq.routes import RedisRoutes
from .adapters.dramatiq.schedule_state import RedisScheduleState
from .adapters.dramatiq.tracking import Tracking
from .adapters.dramatiq.worker import WorkerRuntime
from .adapters.encryption.keys import Keyring
from .adapters.encryption.serializer import EncryptingSerializer
from .adapters.event_loop import EventLoopThread
from .adapters.in_memory.async_event_bus import AsyncInMemoryEventBus
from .adapters.in_memory.browser import InMemoryEventBrowser
from .adapters.in_memory.coroutines import InMemoryCoroutines
from .adapters.in_memory.event_bus import InMemoryEventBus
from .adapters.in_memory.monitor import InMemoryMonitor
from .adapters.in_memory.routes import InMemoryRoutes
from .adapters.in_memory.schedule_state import InMemoryScheduleState
from .adapters.in_memory.unit_of_work import InMemoryInbox, InMemoryUnitOfWork
from .adapters.observability.alerters import BackgroundAlerter, LogAlerter, WebhookAlerter
from .adapters.observability.alerting import AlertingObserver
from .adapters.observability.event_log import LoggingObserver
from .adapters.observability.metrics import MetricsObserver
from .adapters.observability.thresholds import ThresholdWatcher
from .application.observers import NullObserver
from .application.processor import DomainEventsProcessor
from .application.recurring import RecurringScheduler
from .domain.errors import ConfigurationError, MissingExtra
from .domain.serialization import EventSerializer
from .ports.alerts import Alerter
from .ports.clock import Clock
from .ports.event_bus import EventBus
from .settings import Settings


def _bus_kind(settings: Settings) -> str:
    return "queue" if settings.use_queue_event_bus else "in_memory"


def _metrics_kind(settings: Settings) -> str:
    return "on" if settings.observability.metrics else "off"


def _encryption_kind(settings: Settings) -> str:
    return "on" if settings.encryption.enabled else "off"


def _otel_kind(settings: Settings) -> str:
    return "on" if settings.observability.otel else "off"


def _tracing(name: str) -> Any:
    """A name of the tracing module, imported only when HEXBUS_OTEL=true (ADR 0025)."""
    try:
        module = importlib.import_module(".adapters.observability.tracing", __package__)
    except ImportError as error:
        raise MissingExtra(
            "HEXBUS_OTEL=true (hexbus.adapters.observability.tracing)", "otel"
        ) from error
    return getattr(module, name)


def _trace_carrier() -> Any:
    return _tracing("TraceCarrier")()


def _tracing_serializer(inner: EventSerializer, carrier: Any) -> EventSerializer:
    serializer: EventSerializer = _tracing("TracingSerializer")(inner, carrier)
    return serializer


def _tracing_observer(carrier: Any) -> Any:
    return _tracing("TracingObserver")(carrier)


def _traced_bus(bus: Any, carrier: Any) -> Any:
    return _tracing("TracedEventBus")(bus, carrier)


def _alerter_kind(settings: Settings) -> str:
    return "webhook" if settings.observability.alert_webhook_url else "log"


def _store_kind(settings: Settings) -> str:
    return "postgres" if settings.postgres.enabled else "in_memory"


# The PostgreSQL store comes with the 'postgres' extra: its modules are imported only when
# DATABASE_URL selects it, and raise MissingExtra with the install hint without it.
def _database_engine(settings: Settings) -> Any:
    from .adapters.postgres.engine import create_engine  # noqa: PLC0415

    return create_engine(settings.postgres.database_url)


def _postgres_unit_of_work(engine: Any, serializer: EventSerializer, clock: Clock) -> Any:
    from .adapters.postgres.unit_of_work import PostgresUnitOfWork  # noqa: PLC0415

    return PostgresUnitOfWork(engine, serializer, clock)


def _postgres_inbox(unit_of_work: Any) -> Any:
    from .adapters.postgres.unit_of_work import PostgresInbox  # noqa: PLC0415

    return PostgresInbox(unit_of_work)


def _outbox_store(engine: Any, settings: Settings) -> Any:
    from .adapters.postgres.outbox import OutboxStore  # noqa: PLC0415

    return OutboxStore(engine, max_backoff=settings.postgres.outbox_max_backoff)


def _outbox_relay(
    *,
    engine: Any,
    bus: EventBus,
    serializer: EventSerializer,
    store: Any,
    settings: Settings,
    alerter: Alerter,
    clock: Clock,
) -> Any:
    from .adapters.postgres.relay import OutboxRelay  # noqa: PLC0415

    return OutboxRelay(
        engine,
        bus,
        serializer,
        store=store,
        batch=settings.postgres.outbox_batch,
        poll_interval=settings.postgres.outbox_poll_interval,
        alerter=alerter,
        alert_age=settings.postgres.outbox_alert_age,
        alert_period=settings.observability.alert_period,
        clock=clock,
    )


class Container(containers.DeclarativeContainer):
    """Providers for every port, chosen from :class:`Settings`."""

    settings = providers.Singleton(Settings.from_env)

    clock = providers.Singleton(SystemClock)
    processor = providers.Singleton(DomainEventsProcessor)
    # With HEXBUS_ENCRYPTION_KEYS (or DATA_ENCRYPTION_KEY), payloads are sealed by the one
    # serializer every bus and worker is given, so publisher and worker agree (ADR 0016).
    keyring = providers.Singleton(Keyring.from_texts, settings.provided.encryption.keys)
    sealing_serializer = providers.Selector(
        providers.Callable(_encryption_kind, settings),
        off=providers.Singleton(EventSerializer),
        on=providers.Singleton(EncryptingSerializer, keyring),
    )
    # With HEXBUS_OTEL=true the envelope also carries the W3C trace context (ADR 0025).
    otel_kind = providers.Callable(_otel_kind, settings)
    trace_carrier = providers.Singleton(_trace_carrier)
    serializer = providers.Selector(
        otel_kind,
        off=sealing_serializer,
        on=providers.Singleton(_tracing_serializer, sealing_serializer, trace_carrier),
    )

    # --- observability: logs, metrics and alerts; every bus and worker tells them each step
    log_observer = providers.Singleton(
        LoggingObserver,
        serializer=serializer,
        log_payloads=settings.provided.observability.log_payloads,
        clock=clock,
        unrouted_period=settings.provided.observability.alert_period,
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
    tracing_observer = providers.Selector(
        otel_kind,
        off=providers.Singleton(NullObserver),
        on=providers.Singleton(_tracing_observer, trace_carrier),
    )
    observers = providers.List(log_observer, metrics_observer, alerting_observer, tracing_observer)

    # The one loop of this process's ``async def`` handlers (ADR 0023), started on first use.
    event_loop = providers.Singleton(
        EventLoopThread,
        debug=settings.provided.event_loop.debug,
        slow_callback=settings.provided.event_loop.slow_callback,
    )
    in_memory_bus = providers.Singleton(
        InMemoryEventBus,
        processor=processor,
        clock=clock,
        observers=observers,
        serializer=serializer,
        retention=settings.provided.idempotency_retention,
        dead_letter_retention=settings.provided.dead_letter_retention,
        unrouted=settings.provided.unrouted_policy,
        coroutines=providers.Singleton(InMemoryCoroutines, event_loop),
    )
    # The same bus, awaited: sync and async code of one app share its state (ADR 0022).
    async_in_memory_bus = providers.Singleton(AsyncInMemoryEventBus, in_memory_bus)
    redis_client = providers.Singleton(
        connect,
        settings.provided.redis.url,
        socket_timeout=settings.provided.redis.socket_timeout,
        connect_timeout=settings.provided.redis.connect_timeout,
    )
    redis_keys = providers.Singleton(RedisKeys, settings.provided.worker.namespace)
    # The subscriptions, held by Redis: workers declare them, publishers fan out from them,
    # operators list and prune them (ADR 0015).
    redis_routes = providers.Singleton(
        RedisRoutes,
        redis_client,
        redis_keys,
        clock=clock,
        heartbeat_timeout=settings.provided.worker.heartbeat_timeout,
        grace=settings.provided.worker.route_grace,
        unrouted=settings.provided.unrouted_policy,
    )
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
        unrouted=settings.provided.unrouted_policy,
        routes=redis_routes,
    )

    # The async twin, on redis.asyncio: the same scripts, keys, retries and deadline (ADR
    # 0022). Its client belongs to the event loop that first uses it: one per process's loop.
    async_queue_bus = providers.Singleton(
        AsyncDramatiqEventBus,
        client=providers.Singleton(
            connect_async,
            settings.provided.redis.url,
            socket_timeout=settings.provided.redis.socket_timeout,
            connect_timeout=settings.provided.redis.connect_timeout,
        ),
        registry=processor.provided.registry,
        keys=redis_keys,
        serializer=serializer,
        clock=clock,
        observers=observers,
        retention=settings.provided.idempotency_retention,
        publish_timeout=settings.provided.redis.publish_timeout,
        tracking=tracking,
        unrouted=settings.provided.unrouted_policy,
    )

    bus_kind = providers.Callable(_bus_kind, settings)
    untraced_event_bus = providers.Selector(bus_kind, in_memory=in_memory_bus, queue=queue_bus)
    # A span per publish when HEXBUS_OTEL=true; the bus itself otherwise.
    event_bus = providers.Selector(
        otel_kind,
        off=untraced_event_bus,
        on=providers.Singleton(_traced_bus, untraced_event_bus, trace_carrier),
    )
    scheduler = providers.Selector(bus_kind, in_memory=in_memory_bus, queue=queue_bus)
    async_event_bus = providers.Selector(
        bus_kind, in_memory=async_in_memory_bus, queue=async_queue_bus
    )
    async_scheduler = providers.Selector(
        bus_kind, in_memory=async_in_memory_bus, queue=async_queue_bus
    )
    schedule_state = providers.Selector(
        bus_kind,
        in_memory=providers.Singleton(InMemoryScheduleState),
        queue=providers.Singleton(RedisScheduleState, redis_client, redis_keys),
    )
    # Empty: the application adds its schedules. Adding one touches no state (no Redis);
    # only running them (``hexbus scheduler``, the in-memory bus's clock) reads it.
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
        heartbeat_timeout=settings.provided.worker.heartbeat_timeout,
        clock=clock,
        routes=redis_routes,
    )
    # One worker process's runtime (always Redis): callers give only what differs per process,
    # ``container.worker_runtime(queues=[...], threads=4)``; each call is a new process identity.
    worker_runtime = providers.Factory(
        WorkerRuntime,
        processor=processor,
        client=redis_client,
        keys=redis_keys,
        serializer=serializer,
        clock=clock,
        observers=observers,
        retention=settings.provided.idempotency_retention,
        dead_letter_retention=settings.provided.dead_letter_retention,
        timings=providers.Factory(
            MaintenanceTimings,
            heartbeat_timeout=settings.provided.worker.heartbeat_timeout,
            status_ttl=tracking.provided.status_ttl,
            route_grace=settings.provided.worker.route_grace,
            unrouted_retention=settings.provided.unrouted_retention,
        ),
        tracking=tracking,
        max_worker_deaths=settings.provided.worker.max_worker_deaths,
        event_loop=event_loop,
    )
    in_memory_monitor = providers.Singleton(
        InMemoryMonitor,
        processor,
        clock,
        in_memory_bus.provided.dead_letters,
        window=settings.provided.stats_window,
        control=in_memory_bus,
        unrouted=in_memory_bus.provided.unrouted_stats,
    )
    monitor = providers.Selector(bus_kind, in_memory=in_memory_monitor, queue=redis_monitor)
    # Operators' listings by queue and state, and the live workers (ADR 0024).
    browser = providers.Selector(
        bus_kind,
        in_memory=providers.Singleton(
            InMemoryEventBrowser,
            in_memory_monitor,
            in_memory_bus.provided.dead_letters,
            serializer,
        ),
        queue=providers.Singleton(
            RedisEventBrowser,
            redis_client,
            redis_keys,
            redis_routes,
            heartbeat_timeout=settings.provided.worker.heartbeat_timeout,
        ),
    )
    routes = providers.Selector(
        bus_kind,
        in_memory=providers.Singleton(InMemoryRoutes, processor, clock),
        queue=redis_routes,
    )
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

    # --- the store behind units of work: in memory unless DATABASE_URL names PostgreSQL,
    # whose outbox a relay publishes to the event bus (ADR 0020)
    store_kind = providers.Callable(_store_kind, settings)
    database_engine = providers.Singleton(_database_engine, settings)
    unit_of_work = providers.Selector(
        store_kind,
        in_memory=providers.Singleton(InMemoryUnitOfWork, event_bus),
        postgres=providers.Singleton(_postgres_unit_of_work, database_engine, serializer, clock),
    )
    inbox = providers.Selector(
        store_kind,
        in_memory=providers.Singleton(InMemoryInbox, unit_of_work),
        postgres=providers.Singleton(_postgres_inbox, unit_of_work),
    )
    outbox_monitor = providers.Singleton(_outbox_store, database_engine, settings)
    outbox_relay = providers.Singleton(
        _outbox_relay,
        engine=database_engine,
        bus=event_bus,
        serializer=serializer,
        store=outbox_monitor,
        settings=settings,
        alerter=alerter,
        clock=clock,
    )
    dead_letters = providers.Selector(
        bus_kind,
        in_memory=in_memory_bus.provided.dead_letters,
        queue=queue_bus.provided.dead_letters,
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
    if not container.settings().use_queue_event_bus:
        # On the in-memory bus, schedules fire as its clock advances: the bus asks the
        # recurring scheduler at every step, so schedules the application adds later fire too.
        container.in_memory_bus().add_timer(container.recurring())
        container.in_memory_bus().observer.add(container.in_memory_monitor())
    return container

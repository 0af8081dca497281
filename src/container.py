"""The composition root: the one place that builds adapters and injects them.

Everything else receives its collaborators. The adapter behind the :class:`EventBus` port is
one ``Selector`` over ``USE_QUEUE_EVENT_BUS`` (ADR 0004); a test swaps any piece with
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

from collections.abc import Mapping

from dependency_injector import containers, providers

from .adapters.clocks import SystemClock
from .adapters.dramatiq.connection import connect
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
from .adapters.in_memory.event_bus import InMemoryEventBus
from .adapters.in_memory.monitor import InMemoryMonitor
from .adapters.in_memory.routes import InMemoryRoutes
from .adapters.in_memory.schedule_state import InMemoryScheduleState
from .adapters.observability.alerters import BackgroundAlerter, LogAlerter, WebhookAlerter
from .adapters.observability.alerting import AlertingObserver
from .adapters.observability.event_log import LoggingObserver
from .adapters.observability.metrics import MetricsObserver
from .adapters.observability.thresholds import ThresholdWatcher
from .application.observers import NullObserver
from .application.processor import DomainEventsProcessor
from .application.recurring import RecurringScheduler
from .domain.errors import ConfigurationError
from .domain.serialization import EventSerializer
from .settings import Settings


def _bus_kind(settings: Settings) -> str:
    return "queue" if settings.use_queue_event_bus else "in_memory"


def _metrics_kind(settings: Settings) -> str:
    return "on" if settings.observability.metrics else "off"


def _encryption_kind(settings: Settings) -> str:
    return "on" if settings.encryption.enabled else "off"


def _alerter_kind(settings: Settings) -> str:
    return "webhook" if settings.observability.alert_webhook_url else "log"


class Container(containers.DeclarativeContainer):
    """Providers for every port, chosen from :class:`Settings`."""

    settings = providers.Singleton(Settings.from_env)

    clock = providers.Singleton(SystemClock)
    processor = providers.Singleton(DomainEventsProcessor)
    # With HEXBUS_ENCRYPTION_KEYS (or DATA_ENCRYPTION_KEY), payloads are sealed by the one
    # serializer every bus and worker is given, so publisher and worker agree (ADR 0016).
    keyring = providers.Singleton(Keyring.from_texts, settings.provided.encryption.keys)
    serializer = providers.Selector(
        providers.Callable(_encryption_kind, settings),
        off=providers.Singleton(EventSerializer),
        on=providers.Singleton(EncryptingSerializer, keyring),
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
    observers = providers.List(log_observer, metrics_observer, alerting_observer)

    in_memory_bus = providers.Singleton(
        InMemoryEventBus,
        processor=processor,
        clock=clock,
        observers=observers,
        serializer=serializer,
        retention=settings.provided.idempotency_retention,
        dead_letter_retention=settings.provided.dead_letter_retention,
        unrouted=settings.provided.unrouted_policy,
    )
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

    bus_kind = providers.Callable(_bus_kind, settings)
    event_bus = providers.Selector(bus_kind, in_memory=in_memory_bus, queue=queue_bus)
    scheduler = providers.Selector(bus_kind, in_memory=in_memory_bus, queue=queue_bus)
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

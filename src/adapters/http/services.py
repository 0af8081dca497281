"""The ports the routes use, taken from the container once when the app is built.

Routes receive a :class:`Services` through FastAPI's dependency injection instead of the
container itself, so a route can only reach what an operator's API should reach, and a test
can build an app over the in-memory or the Redis adapter alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import attrs
from fastapi import Depends, Request

from ...application.recurring import RecurringScheduler
from ...domain.serialization import EventSerializer
from ...ports.browsing import EventBrowser
from ...ports.clock import Clock
from ...ports.dead_letters import DeadLetters
from ...ports.event_bus import EventScheduler
from ...ports.monitoring import QueueControl, QueueMonitor
from ...ports.unit_of_work import OutboxMonitor
from ...settings import Settings
from .badges import Thresholds
from .health import HealthProbe
from .roles import Role
from .settings import ApiSettings
from .views import View

if TYPE_CHECKING:
    from ...container import Container


@attrs.frozen(kw_only=True)
class Services:
    """What the HTTP adapter reads and acts on."""

    settings: Settings
    api: ApiSettings
    monitor: QueueMonitor
    control: QueueControl
    dead_letters: DeadLetters
    health: HealthProbe
    serializer: EventSerializer
    browser: EventBrowser
    scheduler: EventScheduler
    recurring: RecurringScheduler
    clock: Clock
    """The bus's clock: "now" for promote and reschedule is the scheduler's now."""
    outbox: OutboxMonitor | None = None
    """The PostgreSQL outbox's backlog, when DATABASE_URL is set."""

    @property
    def thresholds(self) -> Thresholds:
        """The alert thresholds from the settings."""
        return Thresholds(
            failure_rate=self.settings.observability.alert_failure_rate,
            backlog=self.settings.observability.alert_backlog,
        )

    def view(self, role: Role) -> View:
        """What a caller of ``role`` may see of events and errors."""
        return View(role=role, show_errors=self.api.show_errors, serializer=self.serializer)

    @classmethod
    def from_container(cls, container: Container) -> Services:
        """The ports as the container built them; nothing connects yet."""
        settings: Settings = container.settings()
        monitor: QueueMonitor = container.monitor()
        api = settings.group(ApiSettings)
        thresholds = Thresholds(
            failure_rate=settings.observability.alert_failure_rate,
            backlog=settings.observability.alert_backlog,
        )
        if settings.use_queue_event_bus:
            redis_monitor = container.redis_monitor()
            probe = HealthProbe(
                monitor,
                thresholds,
                client=container.redis_client(),
                live_workers=redis_monitor.live_workers,
                ready_max_latency=api.ready_max_latency,
                secrets=settings.secrets(),
            )
        else:
            probe = HealthProbe(monitor, thresholds)
        return cls(
            settings=settings,
            api=api,
            monitor=monitor,
            control=container.queue_control(),
            dead_letters=container.dead_letters(),
            health=probe,
            serializer=container.serializer(),
            outbox=container.outbox_monitor() if settings.postgres.enabled else None,
            browser=container.browser(),
            scheduler=container.scheduler(),
            recurring=container.recurring(),
            clock=container.clock(),
        )


def get_services(request: Request) -> Services:
    """The app's services (a FastAPI dependency)."""
    services = request.app.state.services
    assert isinstance(services, Services)
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
"""Declare a route parameter of this type to receive the services."""

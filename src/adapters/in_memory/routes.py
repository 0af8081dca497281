"""The route table of the in-memory bus: its handler registry, declared by this one process.

There is nothing to declare or prune: publisher and handlers share one process and one
:class:`DomainEventsProcessor`, so a handler's route exists exactly while it is registered
(ADR 0015). ``hexbus routes`` reads it through the same port as on Redis.
"""

from __future__ import annotations

from collections.abc import Collection

from ...application.processor import DomainEventsProcessor
from ...ports.clock import Clock
from ...ports.routes import RouteDeclarer, RouteInfo

THIS_PROCESS = "this process"
"""How a route of the in-memory bus names the worker declaring it."""


class InMemoryRoutes:
    """The :class:`~hexbus.ports.routes.RouteDirectory` of the in-memory bus."""

    def __init__(self, processor: DomainEventsProcessor, clock: Clock) -> None:
        self._processor = processor
        self._since = clock.now()

    def routes(self) -> list[RouteInfo]:
        """Every registered handler, by event type then name."""
        out = []
        for spec in self._processor:
            queue = spec.queue
            if spec.priority.name != "NORMAL":
                queue = f"{spec.queue}.{spec.priority.name.lower()}"
            out.append(
                RouteInfo(
                    handler=spec.name,
                    event_type=spec.event_type,
                    queue=queue,
                    since=self._since,
                    last_declared=None,
                    owner=THIS_PROCESS,
                    declared_by=(
                        RouteDeclarer(
                            worker=THIS_PROCESS,
                            since=self._since,
                            queue=queue,
                            event_type=spec.event_type,
                        ),
                    ),
                )
            )
        return sorted(out, key=lambda r: (r.event_type, r.handler))

    def prune(self, handlers: Collection[str] | None = None) -> list[str]:
        """Nothing to prune: a route lives exactly as long as its handler is registered."""
        return []

"""Operators' view of the subscriptions: which handler gets which event type, on which queue.

On Redis the route table is held by Redis and declared by the workers that serve each handler
(ADR 0015): publishers fan out from it, so a publisher needs the event classes only. On the
in-memory bus the routes are its handler registry. ``hexbus routes`` reads this port.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol

import attrs


@attrs.frozen(kw_only=True)
class RouteDeclarer:
    """A live worker that declares a route, and what it declares it as.

    ``queue`` and ``event_type`` are this worker's; they differ from the route's while an older
    version of the handler still runs beside a newer one (a rolling deploy).
    """

    worker: str
    since: datetime | None
    queue: str
    event_type: str


@attrs.frozen(kw_only=True)
class RouteInfo:
    """One route: events of ``event_type`` go to ``handler`` on ``queue``."""

    handler: str
    event_type: str
    queue: str
    since: datetime | None
    """When the route took its present form (its queue and type)."""
    last_declared: datetime | None
    """When a worker last declared it."""
    owner: str | None
    """The worker whose declaration the route is (the live one that started last)."""
    declared_by: tuple[RouteDeclarer, ...]
    """The live workers declaring it now; empty once none does (it is pruned after the grace)."""

    @property
    def live(self) -> bool:
        """Whether some live worker declares it."""
        return bool(self.declared_by)


class RouteDirectory(Protocol):
    """Lists the route table and prunes the routes no live worker declares."""

    def routes(self) -> list[RouteInfo]:
        """Every route, by event type then handler."""
        ...

    def prune(self, handlers: Collection[str] | None = None) -> list[str]:
        """Remove now the routes of ``handlers`` (default: every route) that no live worker
        declares, without waiting for the grace period; returns the handlers whose routes
        went. Messages already queued for them stay in their queues."""
        ...

"""Two versions of one app, for the route tests: what a deploy changes (ADR 0015).

``v1`` registers handler ``rt.h1`` on queue ``rt-old``; ``v2`` moves ``rt.h1`` to ``rt-new``
and adds ``rt.h2`` there. The handlers note each run in Redis (``{ns}:test:rt``) with the
queue they ran from and their pid, since they run in worker processes. Importing this module
registers the event class and nothing else: it is what a process that only publishes
imports (``tests/integration/publisher.py``).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import attrs

from hexbus import DomainEvent
from hexbus.container import Container

OLD_QUEUE = "rt-old"
NEW_QUEUE = "rt-new"


@attrs.frozen(kw_only=True)
class Shipped(DomainEvent):
    """The event both versions handle."""

    event_type = "it.routes.shipped"
    label: str


def _handler(container: Container, name: str, queue: str) -> Callable[[Shipped], None]:
    client = container.redis_client()
    key = f"{container.settings().worker.namespace}:test:rt"

    def handle(event: Shipped) -> None:
        client.rpush(key, f"{name}|{event.label}|{queue}|{os.getpid()}")

    return handle


def v1(container: Container) -> None:
    """``--app tests.integration.route_apps:v1``: h1 on the old queue."""
    processor = container.processor()
    processor.register_handler(
        Shipped, _handler(container, "rt.h1", OLD_QUEUE), name="rt.h1", queue=OLD_QUEUE
    )


def v2(container: Container) -> None:
    """``--app tests.integration.route_apps:v2``: h1 moved to the new queue, and h2 there."""
    processor = container.processor()
    for name in ("rt.h1", "rt.h2"):
        processor.register_handler(
            Shipped, _handler(container, name, NEW_QUEUE), name=name, queue=NEW_QUEUE
        )

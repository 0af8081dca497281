"""What every contract test shares: the queue, the fast retry policy, the delay, registration.

Kept apart from the test classes so each part of the suite (delivery, failures, scheduling)
reads the same settings, and an adapter's own extra tests can reuse them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ..application.processor import EventTypeRef
from ..domain.errors import HandlerTimeout
from ..ports.dead_letters import DeadLetter
from ..ports.handlers import Handler, HandlerSpec, RetryPolicy
from .events import ContractEvent
from .harness import BusHarness

QUEUE = "contract"
"""The queue every contract handler is registered on."""

FAST_RETRY = RetryPolicy(
    max_retries=2, min_backoff=timedelta(milliseconds=1), max_backoff=timedelta(milliseconds=5)
)
"""Three attempts in all, milliseconds apart, so a real-time adapter is quick too."""

DELAY = timedelta(seconds=1)
"""How long scheduled events wait: long enough that a real-time adapter's settle, which may
take a few tenths of a second, cannot run into the due time by accident."""

RUNTIME_ERROR_TYPE = "builtins.RuntimeError"
"""How a dead letter names RuntimeError (``module.QualifiedName``)."""

TIMEOUT_ERROR_TYPE = f"{HandlerTimeout.__module__}.{HandlerTimeout.__qualname__}"
"""How a dead letter names :class:`HandlerTimeout`."""


def register(
    harness: BusHarness,
    handler: Handler,
    name: str,
    event_type: EventTypeRef = ContractEvent,
    **options: Any,
) -> HandlerSpec:
    """Register ``handler`` on the contract queue, with :data:`FAST_RETRY` unless told."""
    options.setdefault("retry", FAST_RETRY)
    return harness.processor.register_handler(
        event_type, handler, name=name, queue=QUEUE, **options
    )


def unrouted_of(harness: BusHarness, event_type: EventTypeRef) -> tuple[int, int] | None:
    """(counted, still kept) of the events of ``event_type`` accepted with no handler
    subscribed, as the harness's monitor reports them; None when it reports none."""
    name = event_type if isinstance(event_type, str) else event_type.event_type
    for stats in harness.monitor.unrouted():
        if stats.event_type == name:
            return stats.count, stats.kept
    return None


def only_dead_letter(harness: BusHarness) -> DeadLetter:
    """The single dead letter there must be; fails saying how many there are otherwise."""
    page = harness.dead_letters.list()
    assert page.total == 1, f"expected exactly one dead letter, found {page.total}: {page.items}"
    return page.items[0]


__all__ = [
    "DELAY",
    "FAST_RETRY",
    "QUEUE",
    "RUNTIME_ERROR_TYPE",
    "TIMEOUT_ERROR_TYPE",
    "only_dead_letter",
    "register",
    "unrouted_of",
]

"""Hand-written handler fakes: they record what happened so a test can count it exactly.

Fakes rather than mocks (the style guide): a handler is a plain callable, so a small class that
remembers its calls says more than a mock's call list and works the same in a worker thread,
where adapters with workers run handlers. Every fake is thread-safe for that reason.

Handlers are registered by name (``name=...``): a derived name would be the fake's class, the
same for every instance, and handler names must be unique.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
import threading
from collections.abc import Callable
from typing import Any
from uuid import UUID

from ..domain.errors import NonRetryableError
from ..domain.events import DomainEvent


class PermanentError(Exception):
    """An ordinary exception a test declares non-retryable with ``non_retryable=(...)``."""


class RejectedError(NonRetryableError):
    """A :class:`NonRetryableError` subclass: the handler says retrying cannot help."""


class RecordingHandler:
    """Records every event it is called with, then runs ``then`` (if given).

    ``then`` lets a test count the calls of another behaviour, such as a harness's slow
    handler: ``RecordingHandler(then=harness.slow_handler(2.0))``.
    """

    def __init__(self, then: Callable[[Any], object] | None = None) -> None:
        self._then = then
        self._lock = threading.Lock()
        self._events: list[DomainEvent] = []

    def __call__(self, event: DomainEvent) -> object:
        with self._lock:
            self._events.append(event)
        # What ``then`` returns is returned: a coroutine, when it is an ``async def`` handler.
        return self._then(event) if self._then is not None else None

    @property
    def events(self) -> tuple[DomainEvent, ...]:
        """Every event it was called with, in call order (repeats included)."""
        with self._lock:
            return tuple(self._events)

    @property
    def calls(self) -> int:
        """How many times it was called."""
        with self._lock:
            return len(self._events)

    @property
    def event_ids(self) -> list[UUID]:
        """The ids of the events it was called with, in call order."""
        return [event.event_id for event in self.events]

    def times(self, event: DomainEvent) -> int:
        """How many times it was called with this event (matched by ``event_id``)."""
        return sum(1 for seen in self.events if seen.event_id == event.event_id)

    def values(self) -> list[int]:
        """The ``value`` field of each event it got, sorted: delivery order is not part of the
        contract, so tests compare contents."""
        return sorted(int(getattr(event, "value", 0)) for event in self.events)


class FailingHandler(RecordingHandler):
    """Fails its first ``failures`` calls with ``error``, then succeeds.

    Calls are counted across all events (``calls``); the events of the calls that succeeded
    are in ``succeeded``. ``error`` is built with one message argument naming the call
    (``"planned failure on call 3"``), so a test can tell the last error from the first.
    """

    def __init__(self, failures: int, error: type[Exception] = RuntimeError) -> None:
        if failures < 0:
            raise ValueError(f"failures must be >= 0, got {failures}")
        super().__init__()
        self.failures = failures
        self.error = error
        self._succeeded: list[DomainEvent] = []

    def __call__(self, event: DomainEvent) -> None:
        with self._lock:
            self._events.append(event)
            call = len(self._events)
            if call > self.failures:
                self._succeeded.append(event)
                return
        raise self.error(failure_message(call))

    @property
    def succeeded(self) -> tuple[DomainEvent, ...]:
        """The events of the calls that did not fail, in call order."""
        with self._lock:
            return tuple(self._succeeded)


class AlwaysFailingHandler(FailingHandler):
    """Fails every call with ``error``."""

    def __init__(self, error: type[Exception] = RuntimeError) -> None:
        super().__init__(failures=sys.maxsize, error=error)


class NonRetryableHandler(AlwaysFailingHandler):
    """Raises :class:`RejectedError` (a :class:`NonRetryableError`) on every call."""

    def __init__(self) -> None:
        super().__init__(error=RejectedError)


class AsyncHandler:
    """``handler`` as an ``async def`` handler: yields to the loop once, then calls it (and
    awaits what it returns, if awaitable), so its calls, failures and records are the wrapped
    fake's."""

    def __init__(self, handler: Callable[[Any], object]) -> None:
        self.handler = handler

    async def __call__(self, event: DomainEvent) -> object:
        await asyncio.sleep(0)
        outcome = self.handler(event)
        if inspect.isawaitable(outcome):
            outcome = await outcome
        return outcome


def failure_message(call: int) -> str:
    """The message a failing fake raises on its ``call``-th call (1-based)."""
    return f"planned failure on call {call}"


__all__ = [
    "AlwaysFailingHandler",
    "AsyncHandler",
    "FailingHandler",
    "NonRetryableHandler",
    "PermanentError",
    "RecordingHandler",
    "RejectedError",
    "failure_message",
]

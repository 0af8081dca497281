"""The handler registry: which callables run for which event type, under which options.

Adapters never hold handlers of their own; they ask the processor. That is what lets a test
swap the in-memory bus for the Dramatiq one without registering anything twice, and what lets
a worker process rebuild the same registry from the same composition root.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Any, Final, TypeVar, overload

import attrs

from ..domain.errors import HandlerRegistrationError, UnknownHandler
from ..domain.event_types import EventTypeRegistry, event_types
from ..domain.events import DomainEvent
from ..ports.handlers import (
    DEFAULT_QUEUE,
    QUEUE_NAME,
    Handler,
    HandlerSpec,
    Priority,
    RateLimit,
    RetryPolicy,
)

E = TypeVar("E", bound=DomainEvent)
F = TypeVar("F", bound=Callable[..., object])

EventTypeRef = type[DomainEvent] | str

MAX_CONCURRENCY: Final = 256
"""The most handlers one queue may be declared to run at once (per worker group)."""
PRIORITY_SUFFIXES: Final = tuple(f".{p.name.lower()}" for p in Priority if p is not Priority.NORMAL)
"""``.low`` and ``.high``: the queues a handler of that priority runs from (ADR 0005)."""


class DomainEventsProcessor:
    """Registers handlers per event type and answers which ones an event must reach.

    Many handlers may handle one event type; each has a unique, stable name, because the
    name is what success records, dead letters and status are keyed by. Give names
    explicitly for anything that runs in production: a derived name changes when the
    function moves.

    The application also says how many handlers each of its queues should run at once
    (:meth:`declare_queue`); workers read :attr:`queue_concurrency`.
    """

    def __init__(
        self,
        registry: EventTypeRegistry | None = None,
        *,
        default_queue: str = DEFAULT_QUEUE,
        default_retry: RetryPolicy | None = None,
    ) -> None:
        self.registry = registry or event_types
        self.default_queue = default_queue
        self.default_retry = default_retry or RetryPolicy()
        self._by_name: dict[str, HandlerSpec] = {}
        self._by_type: dict[str, tuple[HandlerSpec, ...]] = {}
        self._concurrency: dict[str, int] = {}
        self._listeners: list[Callable[[HandlerSpec], None]] = []

    # --- registering -----------------------------------------------------------------------

    def register_handler(
        self,
        event_type: EventTypeRef,
        handler: Handler,
        *,
        name: str | None = None,
        queue: str | None = None,
        retry: RetryPolicy | None = None,
        max_retries: int | None = None,
        min_backoff: timedelta | None = None,
        max_backoff: timedelta | None = None,
        jitter: float | None = None,
        non_retryable: tuple[type[BaseException], ...] | None = None,
        timeout: timedelta | float | None = None,
        priority: Priority = Priority.NORMAL,
        rate_limit: RateLimit | None = None,
    ) -> HandlerSpec:
        """Register ``handler`` for ``event_type`` and return its spec.

        ``retry`` replaces the default policy; the single options (``max_retries``,
        ``min_backoff``, ...) adjust whichever policy applies. ``timeout`` is a timedelta or
        seconds. Raises :class:`HandlerRegistrationError` for a name already taken, an
        ``event_type`` that is not a concrete event, or a handler that is not callable.
        """
        type_name = self._event_type_name(event_type)
        if not callable(handler):
            raise HandlerRegistrationError(f"handler for {type_name} is not callable: {handler!r}")
        handler_name = name if name is not None else derive_handler_name(handler)
        if handler_name in self._by_name:
            raise HandlerRegistrationError(
                f"a handler named {handler_name!r} is already registered (for "
                f"{self._by_name[handler_name].event_type}); handler names must be unique, "
                "pass name=... to tell them apart"
            )
        policy = _adjust(
            retry or self.default_retry,
            max_retries=max_retries,
            min_backoff=min_backoff,
            max_backoff=max_backoff,
            jitter=jitter,
            non_retryable=non_retryable,
        )
        if isinstance(timeout, bool):
            raise HandlerRegistrationError(f"timeout must be a timedelta or seconds, not {timeout}")
        if isinstance(timeout, int | float):
            timeout = timedelta(seconds=timeout)
        spec = HandlerSpec(
            name=handler_name,
            event_type=type_name,
            handler=handler,
            queue=queue or self.default_queue,
            retry=policy,
            timeout=timeout,
            priority=Priority(priority),
            rate_limit=rate_limit,
        )
        self._by_name[handler_name] = spec
        self._by_type[type_name] = (*self._by_type.get(type_name, ()), spec)
        for listener in tuple(self._listeners):
            listener(spec)
        return spec

    def on_register(self, listener: Callable[[HandlerSpec], None]) -> None:
        """Call ``listener(spec)`` after each handler registered from now on.

        The registry tells, it asks nothing back: the in-memory bus listens, so events it kept
        because nobody subscribed to their type go to the first handlers registered for it
        (ADR 0015). A listener must not register handlers itself.
        """
        self._listeners.append(listener)

    @overload
    def handler(self, event_type: type[E], **options: Any) -> Callable[[F], F]: ...

    @overload
    def handler(self, event_type: str, **options: Any) -> Callable[[F], F]: ...

    def handler(self, event_type: EventTypeRef, **options: Any) -> Callable[[F], F]:
        """Decorator form of :meth:`register_handler`; returns the function unchanged."""

        def decorate(function: F) -> F:
            self.register_handler(event_type, function, **options)
            return function

        return decorate

    def unregister(self, name: str) -> HandlerSpec:
        """Remove a handler (tests and hot reloads); raises :class:`UnknownHandler`."""
        spec = self.get(name)
        del self._by_name[name]
        remaining = tuple(s for s in self._by_type[spec.event_type] if s.name != name)
        if remaining:
            self._by_type[spec.event_type] = remaining
        else:
            del self._by_type[spec.event_type]
        return spec

    def declare_queue(self, queue: str, *, concurrency: int) -> None:
        """Declare how many handlers ``queue`` runs at once (1 to 256 threads).

        ``queue`` is a handler queue (``payment``) or one of its priority queues
        (``payment.high``, ``payment.low``). Declaring it again with the same concurrency is
        harmless; with another, :class:`HandlerRegistrationError`, as are a malformed name and
        a concurrency out of range.
        """
        base = queue if isinstance(queue, str) else ""
        for suffix in PRIORITY_SUFFIXES:
            if base.endswith(suffix):
                base = base.removesuffix(suffix)
                break
        if not QUEUE_NAME.match(base):
            raise HandlerRegistrationError(
                f"queue name {queue!r} must be 1-48 lower-case letters, digits, '_' or '-', "
                f"starting with a letter, optionally followed by {' or '.join(PRIORITY_SUFFIXES)}"
            )
        if (
            isinstance(concurrency, bool)
            or not isinstance(concurrency, int)
            or not 1 <= concurrency <= MAX_CONCURRENCY
        ):
            raise HandlerRegistrationError(
                f"concurrency of queue {queue!r} must be a whole number from 1 to "
                f"{MAX_CONCURRENCY}, got {concurrency!r}"
            )
        declared = self._concurrency.get(queue)
        if declared is not None and declared != concurrency:
            raise HandlerRegistrationError(
                f"queue {queue!r} is already declared with concurrency {declared}, not "
                f"{concurrency}: declare each queue once"
            )
        self._concurrency[queue] = concurrency

    # --- asking ----------------------------------------------------------------------------

    @property
    def queue_concurrency(self) -> Mapping[str, int]:
        """Every declared queue and how many handlers it runs at once (read-only)."""
        return MappingProxyType(self._concurrency)

    def handlers_for(self, event_type: str) -> tuple[HandlerSpec, ...]:
        """The handlers an event of ``event_type`` must reach, in registration order."""
        return self._by_type.get(event_type, ())

    def get(self, name: str) -> HandlerSpec:
        """The handler named ``name``; raises :class:`UnknownHandler`."""
        try:
            return self._by_name[name]
        except KeyError:
            raise UnknownHandler(name) from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[HandlerSpec]:
        return iter(tuple(self._by_name.values()))

    def __len__(self) -> int:
        return len(self._by_name)

    def queues(self) -> tuple[str, ...]:
        """Every queue some handler uses, sorted."""
        return tuple(sorted({spec.queue for spec in self._by_name.values()}))

    def _event_type_name(self, event_type: EventTypeRef) -> str:
        if isinstance(event_type, str):
            self.registry.resolve(event_type)
            return event_type
        if isinstance(event_type, type) and issubclass(event_type, DomainEvent):
            if "event_type" not in event_type.__dict__:
                raise HandlerRegistrationError(
                    f"{event_type.__qualname__} is abstract (it declares no event_type); "
                    "register handlers for concrete events"
                )
            return event_type.event_type
        raise HandlerRegistrationError(
            f"handlers are registered for DomainEvent subclasses or event type names, "
            f"not {event_type!r}"
        )


def derive_handler_name(handler: Handler) -> str:
    """A stable name from where the handler is defined: ``module.Qualified.name``.

    Functions and methods use their own qualified name; ``functools.partial`` the wrapped
    function's; an object with ``__call__`` its class's. Lambdas and nested functions have no
    stable name, so they must be named explicitly.
    """
    target: Any = handler
    while isinstance(target, functools.partial):
        target = target.func
    if not hasattr(target, "__qualname__"):
        target = type(target)
    qualname: str = target.__qualname__
    if "<lambda>" in qualname or "<locals>" in qualname:
        raise HandlerRegistrationError(
            f"cannot derive a stable name for {handler!r}: pass name=... when registering it"
        )
    return f"{target.__module__}.{qualname}"


def _adjust(policy: RetryPolicy, **changes: Any) -> RetryPolicy:
    given = {key: value for key, value in changes.items() if value is not None}
    return attrs.evolve(policy, **given) if given else policy

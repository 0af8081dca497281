"""Observers that do nothing, and a fan-out that shields the bus from a failing observer."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from uuid import UUID

from ..domain.events import DomainEvent
from ..ports.dead_letters import DeadLetter
from ..ports.event_bus import PublishResult
from ..ports.handlers import HandlerSpec
from ..ports.observer import BusObserver

log = logging.getLogger("hexbus.observers")


class NullObserver:
    """A :class:`BusObserver` that ignores everything; subclass it and override what you need."""

    def published(self, event: DomainEvent, result: PublishResult) -> None:
        """Ignored."""

    def handler_started(self, event: DomainEvent, handler: HandlerSpec, attempt: int) -> None:
        """Ignored."""

    def handler_succeeded(
        self, event: DomainEvent, handler: HandlerSpec, attempt: int, duration: timedelta
    ) -> None:
        """Ignored."""

    def handler_skipped(self, event: DomainEvent, handler: HandlerSpec) -> None:
        """Ignored."""

    def handler_failed(
        self,
        event: DomainEvent,
        handler: HandlerSpec,
        attempt: int,
        error: BaseException,
        retry_at: datetime | None,
    ) -> None:
        """Ignored."""

    def handler_progress(
        self, event: DomainEvent, handler: HandlerSpec, attempt: int, percent: float
    ) -> None:
        """Ignored."""

    def handler_logged(
        self, event: DomainEvent, handler: HandlerSpec, attempt: int, line: str
    ) -> None:
        """Ignored."""

    def dead_lettered(self, dead_letter: DeadLetter) -> None:
        """Ignored."""

    def cancelled(self, event_id: UUID) -> None:
        """Ignored."""


class ObserverGroup(NullObserver):
    """Tells every observer, and logs (never raises) when one of them fails.

    An observer is a side channel: a broken metrics exporter must not fail a payment handler.
    """

    def __init__(self, observers: Iterable[BusObserver] = ()) -> None:
        self._observers: list[BusObserver] = list(observers)
        self._listeners: dict[str, list[tuple[BusObserver, Callable[..., object]]]] = {}

    def add(self, observer: BusObserver) -> None:
        """Tell ``observer`` too from now on."""
        self._observers.append(observer)
        self._listeners.clear()

    def __bool__(self) -> bool:
        return bool(self._observers)

    def _tell(self, hook: str, *args: object) -> None:
        listeners = self._listeners.get(hook)
        if listeners is None:
            listeners = self._listeners[hook] = self._listening(hook)
        for observer, told in listeners:
            try:
                told(*args)
            except Exception:
                log.exception("observer %r failed in %s; ignored", observer, hook)

    def _listening(self, hook: str) -> list[tuple[BusObserver, Callable[..., object]]]:
        """The observers that do something on ``hook``, with their method: a worker tells
        several hooks per message, and most observers inherit most of them from
        :class:`NullObserver`, which ignores them. An observer written before a hook existed
        (not a NullObserver subclass) simply does not hear of it."""
        ignored = getattr(NullObserver, hook)
        listening = []
        for observer in self._observers:
            told = getattr(observer, hook, None)
            if told is not None and getattr(told, "__func__", None) is not ignored:
                listening.append((observer, told))
        return listening

    def published(self, event: DomainEvent, result: PublishResult) -> None:
        """Fan out."""
        self._tell("published", event, result)

    def handler_started(self, event: DomainEvent, handler: HandlerSpec, attempt: int) -> None:
        """Fan out."""
        self._tell("handler_started", event, handler, attempt)

    def handler_succeeded(
        self, event: DomainEvent, handler: HandlerSpec, attempt: int, duration: timedelta
    ) -> None:
        """Fan out."""
        self._tell("handler_succeeded", event, handler, attempt, duration)

    def handler_skipped(self, event: DomainEvent, handler: HandlerSpec) -> None:
        """Fan out."""
        self._tell("handler_skipped", event, handler)

    def handler_failed(
        self,
        event: DomainEvent,
        handler: HandlerSpec,
        attempt: int,
        error: BaseException,
        retry_at: datetime | None,
    ) -> None:
        """Fan out."""
        self._tell("handler_failed", event, handler, attempt, error, retry_at)

    def handler_progress(
        self, event: DomainEvent, handler: HandlerSpec, attempt: int, percent: float
    ) -> None:
        """Fan out."""
        self._tell("handler_progress", event, handler, attempt, percent)

    def handler_logged(
        self, event: DomainEvent, handler: HandlerSpec, attempt: int, line: str
    ) -> None:
        """Fan out."""
        self._tell("handler_logged", event, handler, attempt, line)

    def dead_lettered(self, dead_letter: DeadLetter) -> None:
        """Fan out."""
        self._tell("dead_lettered", dead_letter)

    def cancelled(self, event_id: UUID) -> None:
        """Fan out."""
        self._tell("cancelled", event_id)

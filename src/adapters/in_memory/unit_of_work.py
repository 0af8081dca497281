"""The unit of work in process memory: events reach the bus at commit (ADR 0020).

There is no database to roll back here; what the unit of work keeps is its promise about
events: those published inside a block are held and handed to the bus (any :class:`EventBus`,
the in-memory one on virtual time in tests) only when the outermost block exits without an
exception, in order, each with its delay or due time. A rollback drops them. The in-memory
inbox stages its claims the same way, so a handler that fails leaves no claim behind.

Unlike the PostgreSQL outbox, a crash between the commit and the hand-over loses the events
(there is nothing durable to resume from): it keeps the contract's ordering, not its
durability.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Self
from uuid import UUID

import attrs

from ...domain.errors import UnitOfWorkError
from ...domain.events import DomainEvent
from ...ports.event_bus import EventBus
from ...ports.unit_of_work import NOT_OPEN, SPOILED


@attrs.define
class Outgoing:
    """One event waiting for its transaction's commit."""

    event: DomainEvent
    delay: timedelta | None = None
    at: datetime | None = None


@attrs.define
class _Transaction:
    depth: int = 0
    spoiled: bool = False
    outgoing: list[Outgoing] = attrs.field(factory=list)
    on_commit: list[Callable[[], None]] = attrs.field(factory=list)


class InMemoryUnitOfWork:
    """The :class:`~hexbus.UnitOfWork` port over any event bus, with no store of its own."""

    def __init__(self, event_bus: EventBus) -> None:
        self.event_bus = event_bus
        self._local = threading.local()
        self.commits = 0
        self.rollbacks = 0

    def _current(self) -> _Transaction | None:
        transaction: _Transaction | None = getattr(self._local, "transaction", None)
        return transaction

    def _open(self) -> _Transaction:
        transaction = self._current()
        if transaction is None:
            raise UnitOfWorkError(NOT_OPEN)
        return transaction

    @property
    def active(self) -> bool:
        """True while a block is open in this thread."""
        return self._current() is not None

    def __enter__(self) -> Self:
        transaction = self._current()
        if transaction is None:
            transaction = _Transaction()
            self._local.transaction = transaction
        transaction.depth += 1
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        transaction = self._open()
        transaction.depth -= 1
        if exc_type is not None:
            transaction.spoiled = True
        if transaction.depth:
            return
        self._local.transaction = None
        if transaction.spoiled:
            self.rollbacks += 1
            if exc_type is None:
                raise UnitOfWorkError(SPOILED)
            return
        self.commits += 1
        for callback in transaction.on_commit:
            callback()
        for item in transaction.outgoing:
            self.event_bus.publish(item.event, delay=item.delay, at=item.at)

    def publish(
        self, event: DomainEvent, *, delay: timedelta | None = None, at: datetime | None = None
    ) -> None:
        """Hold ``event`` until the commit."""
        if delay is not None and at is not None:
            raise ValueError("give delay or at, not both")
        self._open().outgoing.append(Outgoing(event, delay, at))

    def publish_all(self, events: Iterable[DomainEvent]) -> None:
        """Hold each of ``events``, in order, until the commit."""
        transaction = self._open()
        transaction.outgoing.extend(Outgoing(event) for event in events)

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` when the open transaction commits (never if it rolls back)."""
        self._open().on_commit.append(callback)


class InMemoryInbox:
    """The :class:`~hexbus.Inbox` port in a set, its claims committed with the unit of work."""

    def __init__(self, unit_of_work: InMemoryUnitOfWork) -> None:
        self.unit_of_work = unit_of_work
        self._claimed: set[tuple[UUID, str]] = set()
        self._lock = threading.Lock()

    def claim(self, event_id: UUID, handler: str) -> bool:
        """False when a committed transaction already claimed (event_id, handler)."""
        key = (event_id, handler)
        with self._lock:
            if key in self._claimed:
                return False
        self.unit_of_work.on_commit(lambda: self._commit(key))
        return True

    def _commit(self, key: tuple[UUID, str]) -> None:
        with self._lock:
            self._claimed.add(key)

    def claimed(self, event_id: UUID, handler: str) -> bool:
        """True when (event_id, handler) was claimed by a committed transaction."""
        with self._lock:
            return (event_id, handler) in self._claimed

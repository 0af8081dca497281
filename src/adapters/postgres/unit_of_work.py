"""The unit of work on PostgreSQL: state and outbox rows in one transaction (ADR 0020).

Each thread has its own transaction (a SQLAlchemy ``Connection`` in a ``threading.local``),
so one object serves every use case and handler thread of a process. The application's
repositories join it through :attr:`PostgresUnitOfWork.connection`, opening a block of their
own when none is open (``with uow: uow.connection.execute(...)``), so a repository call outside
a use case is its own small transaction.

``publish`` inserts the outbox row at once, inside the transaction; the commit makes state and
events durable together and notifies ``hexbus_outbox``, on which relays listen (PostgreSQL
delivers a notification only when its transaction commits, so a relay never wakes for a row it
cannot see). A rollback discards both.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self
from uuid import UUID

import attrs

from ...domain.errors import UnitOfWorkError
from ...domain.events import DomainEvent
from ...domain.serialization import EventSerializer
from ...ports.clock import Clock
from ...ports.unit_of_work import NOT_OPEN, SPOILED
from .engine import Engine, pg_insert, sa_errors, sqlalchemy, translated
from .tables import CHANNEL, inbox, outbox


@attrs.define
class _Transaction:
    connection: sqlalchemy.Connection
    transaction: sqlalchemy.RootTransaction
    depth: int = 0
    spoiled: bool = False
    published: int = 0


class PostgresUnitOfWork:
    """The :class:`~hexbus.UnitOfWork` port on PostgreSQL, with a transactional outbox."""

    def __init__(self, engine: Engine, serializer: EventSerializer, clock: Clock) -> None:
        self.engine = engine
        self.serializer = serializer
        self.clock = clock
        self._local = threading.local()

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

    @property
    def connection(self) -> sqlalchemy.Connection:
        """The open transaction's connection: repositories run their statements on it."""
        return self._open().connection

    def __enter__(self) -> Self:
        transaction = self._current()
        if transaction is None:
            with translated(self.engine, "beginning a transaction"):
                connection = self.engine.connect()
                try:
                    transaction = _Transaction(connection, connection.begin())
                except BaseException:
                    connection.close()
                    raise
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
        try:
            if transaction.spoiled:
                # A connection that died is rolled back by the server; the error that spoiled
                # the transaction is the one to report, not the failed rollback's.
                with contextlib.suppress(sa_errors.SQLAlchemyError):
                    transaction.transaction.rollback()
                if exc_type is None:
                    raise UnitOfWorkError(SPOILED)
                return
            with translated(self.engine, "committing"):
                if transaction.published:
                    transaction.connection.execute(
                        sqlalchemy.select(sqlalchemy.func.pg_notify(CHANNEL, ""))
                    )
                transaction.transaction.commit()
        finally:
            transaction.connection.close()

    def publish(
        self, event: DomainEvent, *, delay: timedelta | None = None, at: datetime | None = None
    ) -> None:
        """Write ``event`` to the outbox in the open transaction."""
        if delay is not None and at is not None:
            raise ValueError("give delay or at, not both")
        due = self.clock.now() + delay if delay is not None else at
        self._write([self._row(event, due)])

    def publish_all(self, events: Iterable[DomainEvent]) -> None:
        """Write each of ``events``, in order, to the outbox in the open transaction."""
        self._write([self._row(event, None) for event in events])

    def _row(self, event: DomainEvent, due: datetime | None) -> dict[str, Any]:
        return {
            "event_id": event.event_id,
            "event_type": event.event_type,
            "envelope": self.serializer.dumps(event),
            "due_at": due,
        }

    def _write(self, rows: list[dict[str, Any]]) -> None:
        transaction = self._open()
        if not rows:
            return
        with translated(self.engine, "writing to the outbox"):
            transaction.connection.execute(outbox.insert(), rows)
        transaction.published += len(rows)


class PostgresInbox:
    """The :class:`~hexbus.Inbox` port: ``hexbus_inbox`` rows in the handler's transaction."""

    def __init__(self, unit_of_work: PostgresUnitOfWork) -> None:
        self.unit_of_work = unit_of_work

    def claim(self, event_id: UUID, handler: str) -> bool:
        """Insert (event_id, handler); False when a committed transaction already had.

        Two deliveries at once: the second waits on the first's row lock, then finds it
        committed (False) or rolled back (True, and it runs).
        """
        statement = (
            pg_insert(inbox)
            .values(event_id=event_id, handler=handler)
            .on_conflict_do_nothing()
            .returning(inbox.c.event_id)
        )
        with translated(self.unit_of_work.engine, "claiming an inbox row"):
            inserted = self.unit_of_work.connection.execute(statement).first()
        return inserted is not None

    def claimed(self, event_id: UUID, handler: str) -> bool:
        """True when (event_id, handler) is recorded (committed, or in this transaction)."""
        with self.unit_of_work:
            found = self.unit_of_work.connection.execute(
                sqlalchemy.select(inbox.c.event_id).where(
                    inbox.c.event_id == event_id, inbox.c.handler == handler
                )
            ).first()
        return found is not None

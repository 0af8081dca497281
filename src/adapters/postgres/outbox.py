"""The outbox table as the relay and the operators see it: take, delete, defer, count.

A relay takes rows in id order with ``FOR UPDATE SKIP LOCKED``, so relays running at once
take disjoint batches and never wait for each other; it deletes the rows it published in the
same transaction, so a relay that dies mid-batch leaves its rows locked only until its
connection closes, then whole again for the next relay (which publishes them again: the
event_id makes that a duplicate on the bus). A row that could not be published is deferred:
its ``available_at`` moves out by a backoff doubling per attempt, with jitter, and it stays.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Final

import attrs

from ...ports.unit_of_work import OutboxStats
from ..redaction import redact_text
from .engine import Engine, sqlalchemy, translated

MIN_BACKOFF: Final = 0.5
"""Seconds before the first retry of a row the bus refused; doubled per attempt."""

_TAKE: Final = sqlalchemy.text(
    "SELECT id, envelope, due_at, attempts FROM hexbus_outbox "
    "WHERE available_at <= now() ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED"
)
_DELETE: Final = sqlalchemy.text("DELETE FROM hexbus_outbox WHERE id = ANY(:ids)")
_DEFER: Final = sqlalchemy.text(
    "UPDATE hexbus_outbox SET attempts = attempts + 1, last_error = :error, "
    "available_at = now() + LEAST(:max_backoff, :min_backoff * power(2, attempts)) "
    "* (0.5 + random() / 2) * interval '1 second' WHERE id = ANY(:ids)"
)
_STATS: Final = sqlalchemy.text(
    "SELECT count(*), count(*) FILTER (WHERE attempts > 0), "
    "EXTRACT(EPOCH FROM now() - min(created_at)), COALESCE(max(attempts), 0), "
    "(SELECT last_error FROM hexbus_outbox WHERE last_error IS NOT NULL "
    " ORDER BY available_at DESC LIMIT 1) FROM hexbus_outbox"
)


@attrs.frozen
class OutboxRow:
    """One row a relay holds locked."""

    id: int
    envelope: str
    due_at: object
    attempts: int


class OutboxStore:
    """Statements on ``hexbus_outbox``; also the outbox's
    :class:`~hexbus.ports.unit_of_work.OutboxMonitor`."""

    def __init__(self, engine: Engine, *, max_backoff: timedelta = timedelta(seconds=60)) -> None:
        self.engine = engine
        self.max_backoff = max_backoff

    def take(self, connection: sqlalchemy.Connection, limit: int) -> list[OutboxRow]:
        """Lock up to ``limit`` available rows no other relay holds, oldest first."""
        rows = connection.execute(_TAKE, {"limit": limit}).all()
        return [OutboxRow(int(r[0]), str(r[1]), r[2], int(r[3])) for r in rows]

    def delete(self, connection: sqlalchemy.Connection, ids: Sequence[int]) -> None:
        """Remove rows that were published."""
        if ids:
            connection.execute(_DELETE, {"ids": list(ids)})

    def defer(self, connection: sqlalchemy.Connection, ids: Sequence[int], error: str) -> None:
        """Keep rows that could not be published, to be retried after their backoff."""
        if ids:
            connection.execute(
                _DEFER,
                {
                    "ids": list(ids),
                    "error": redact_text(error)[:2000],
                    "min_backoff": MIN_BACKOFF,
                    "max_backoff": self.max_backoff.total_seconds(),
                },
            )

    def stats(self) -> OutboxStats:
        """The backlog now (one aggregate over the table)."""
        with translated(self.engine, "reading the outbox"), self.engine.connect() as connection:
            rows, retrying, oldest, max_attempts, last_error = connection.execute(_STATS).one()
        return OutboxStats(
            rows=int(rows),
            retrying=int(retrying),
            oldest_age=None if oldest is None else timedelta(seconds=float(oldest)),
            max_attempts=int(max_attempts),
            last_error=last_error,
        )

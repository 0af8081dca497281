"""The outbox relay: committed outbox rows to the bus, in batches, never losing one.

Each batch is one transaction: lock up to ``batch`` available rows (``FOR UPDATE SKIP
LOCKED``: relays running at once take disjoint rows), decode them with the process's
serializer, publish the due ones with one ``publish_all`` and those with a future due time with
``publish(at=...)``, then delete them and commit. A relay killed anywhere before the commit
leaves the rows for the next one, which publishes them again: the event_id makes that a
duplicate, so each handler still runs once. A bus that refuses or cannot be reached
(``EventBusUnavailable``) leaves the rows in place, deferred by a growing backoff, with the
error recorded for ``hexbus outbox stats``. A row this process cannot decode (an event type
it does not import) is deferred the same way, never deleted.

Between batches the relay waits on LISTEN ``hexbus_outbox`` (a commit with outbox rows
notifies it), and looks anyway every ``poll_interval``: for rows whose retry is due, and in
case a notification was missed (the listening connection dropped).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import attrs

from ...domain.errors import EventError, HexbusError
from ...domain.events import DomainEvent
from ...domain.serialization import EventSerializer
from ...ports.alerts import Alert, Alerter, AlertKind, Severity
from ...ports.clock import Clock
from ...ports.event_bus import EventBus, PublishResult
from ..clocks import SystemClock
from ..redaction import redact_text
from .engine import Engine, libpq_url, psycopg, sa_errors, translated
from .outbox import OutboxRow, OutboxStore
from .tables import CHANNEL

log = logging.getLogger("hexbus.outbox")


@attrs.define
class RelayTotals:
    """What a relay did so far (``hexbus outbox relay`` prints it when it stops)."""

    batches: int = 0
    published: int = 0
    """Rows the bus accepted (new events, or scheduled ones)."""
    duplicates: int = 0
    """Rows the bus already knew (published again after a relay crash)."""
    deferred: int = 0
    """Row publish attempts that failed; those rows wait for a retry."""
    last_error: str | None = None

    def add(self, other: RelayTotals) -> None:
        """Add a batch's counts to these."""
        self.batches += other.batches
        self.published += other.published
        self.duplicates += other.duplicates
        self.deferred += other.deferred
        self.last_error = other.last_error or self.last_error

    def as_dict(self) -> dict[str, object]:
        """The totals as JSON-ready values."""
        return attrs.asdict(self)


class OutboxRelay:
    """Publishes committed outbox rows to ``bus``; :meth:`relay_batch`, :meth:`drain`,
    :meth:`run`."""

    def __init__(
        self,
        engine: Engine,
        bus: EventBus,
        serializer: EventSerializer,
        *,
        store: OutboxStore | None = None,
        batch: int = 500,
        poll_interval: timedelta = timedelta(seconds=1),
        alerter: Alerter | None = None,
        alert_age: timedelta = timedelta(seconds=60),
        alert_period: timedelta = timedelta(minutes=5),
        clock: Clock | None = None,
    ) -> None:
        self.engine = engine
        self.bus = bus
        self.serializer = serializer
        self.store = store or OutboxStore(engine)
        self.batch = batch
        self.poll_interval = poll_interval
        self.alerter = alerter
        self.alert_age = alert_age
        self.alert_period = alert_period
        self.clock: Clock = clock or SystemClock()
        """Decides whether a row's due time has come (the bus's clock: virtual in tests)."""
        self._last_alert: float | None = None
        self._last_check = 0.0

    # --- one batch ---------------------------------------------------------------------------

    def relay_batch(self) -> RelayTotals:
        """Publish one batch of available rows; ``batches`` is 0 when there were none."""
        done = RelayTotals()
        with translated(self.engine, "relaying the outbox"), self.engine.begin() as connection:
            rows = self.store.take(connection, self.batch)
            if not rows:
                return done
            done.batches = 1
            decoded, undecodable = self._decode(rows)
            for row, error in undecodable:
                self.store.defer(connection, [row.id], error)
                done.deferred += 1
                done.last_error = error
            try:
                results = self._publish(decoded)
            except Exception as exc:  # the bus down, or anything else: the rows stay
                error = f"{type(exc).__name__}: {exc}"
                self.store.defer(connection, [row.id for row, _ in decoded], error)
                done.deferred += len(decoded)
                done.last_error = redact_text(error)
                return done
            self.store.delete(connection, [row.id for row, _ in decoded])
        done.published = sum(1 for result in results if result.accepted)
        done.duplicates = len(results) - done.published
        return done

    def _decode(
        self, rows: list[OutboxRow]
    ) -> tuple[list[tuple[OutboxRow, DomainEvent]], list[tuple[OutboxRow, str]]]:
        decoded: list[tuple[OutboxRow, DomainEvent]] = []
        undecodable: list[tuple[OutboxRow, str]] = []
        for row in rows:
            try:
                decoded.append((row, self.serializer.loads(row.envelope)))
            except EventError as exc:
                undecodable.append((row, f"{type(exc).__name__}: {exc}"))
        return decoded, undecodable

    def _publish(self, decoded: list[tuple[OutboxRow, DomainEvent]]) -> list[PublishResult]:
        now = self.clock.now()
        due = [event for row, event in decoded if not _later(row, now)]
        results = list(self.bus.publish_all(due)) if due else []
        for row, event in decoded:
            if _later(row, now):
                assert isinstance(row.due_at, datetime)
                results.append(self.bus.publish(event, at=row.due_at))
        return results

    # --- loops -------------------------------------------------------------------------------

    def drain(
        self,
        *,
        progress: Callable[[RelayTotals], None] | None = None,
        stop: threading.Event | None = None,
    ) -> RelayTotals:
        """Relay batches until no row is available now (deferred rows wait for their time),
        or until ``stop`` is set (checked between batches)."""
        totals = RelayTotals()
        while stop is None or not stop.is_set():
            done = self.relay_batch()
            totals.add(done)
            if progress is not None and done.batches:
                progress(totals)
            if not done.batches or done.deferred:
                return totals
        return totals

    def run(
        self,
        stop: threading.Event,
        *,
        progress: Callable[[RelayTotals], None] | None = None,
    ) -> RelayTotals:
        """Relay until ``stop`` is set: drain, wait for a notification or the poll interval,
        again. A database or bus outage is logged and waited out, never fatal."""
        totals = RelayTotals()
        listener: psycopg.Connection[tuple[object, ...]] | None = None
        failures = 0
        try:
            while not stop.is_set():
                if listener is None:
                    listener = self._listen()
                try:
                    totals.add(self.drain(progress=progress, stop=stop))
                    failures = 0
                except HexbusError as exc:
                    failures += 1
                    log.warning("outbox relay: %s", exc)
                    stop.wait(min(30.0, 0.5 * 2 ** min(failures, 6)))
                    continue
                self.check_backlog()
                listener = self._wait(listener, stop)
        finally:
            if listener is not None:
                listener.close()
        return totals

    def _listen(self) -> psycopg.Connection[tuple[object, ...]] | None:
        url = libpq_url(self.engine.url.render_as_string(hide_password=False))
        try:
            connection = psycopg.connect(url, autocommit=True, connect_timeout=5)
            connection.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error as exc:
            log.warning("outbox relay: cannot LISTEN (%s); polling", redact_text(str(exc)))
            return None
        return connection

    def _wait(
        self, listener: psycopg.Connection[tuple[object, ...]] | None, stop: threading.Event
    ) -> psycopg.Connection[tuple[object, ...]] | None:
        """Wait for a notification, the poll interval, or ``stop``; the listener to go on with."""
        timeout = self.poll_interval.total_seconds()
        if listener is None:
            stop.wait(timeout)
            return None
        try:
            for _ in listener.notifies(timeout=timeout, stop_after=1):
                pass
        except psycopg.Error:
            listener.close()
            return None
        return listener

    def check_backlog(self) -> None:
        """Alert (at most once per period) when the oldest row has waited too long."""
        if self.alerter is None or time.monotonic() - self._last_check < 5:
            return
        self._last_check = time.monotonic()
        try:
            stats = self.store.stats()
        except (HexbusError, sa_errors.SQLAlchemyError):
            return
        if stats.oldest_age is None or stats.oldest_age <= self.alert_age:
            return
        now = time.monotonic()
        if (
            self._last_alert is not None
            and now - self._last_alert < self.alert_period.total_seconds()
        ):
            return
        self._last_alert = now
        self.alerter.send(
            Alert(
                kind=AlertKind.OUTBOX_BACKLOG,
                severity=Severity.WARNING,
                title="outbox events are waiting for a relay",
                detail=(
                    f"{stats.rows} outbox row(s) waiting, the oldest for "
                    f"{stats.oldest_age.total_seconds():.0f}s (over "
                    f"{self.alert_age.total_seconds():.0f}s); retrying: {stats.retrying}; "
                    f"last error: {stats.last_error or 'none'}"
                ),
                at=datetime.now(UTC),
                labels={"rows": stats.rows},
            )
        )


def _later(row: OutboxRow, now: datetime) -> bool:
    return isinstance(row.due_at, datetime) and row.due_at > now

"""Fixtures for the observability adapters: an in-memory bus on virtual time, captured logs.

Nothing sleeps: retries back off on a VirtualClock, alert periods are crossed by advancing it,
and the queue monitor is a hand-written fake whose numbers a test sets.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from hexbus import DomainEvent, NonRetryableError
from hexbus.adapters.clocks import VirtualClock
from hexbus.adapters.in_memory import InMemoryEventBus
from hexbus.adapters.observability import configure_logging
from hexbus.application import DomainEventsProcessor
from hexbus.ports import BusObserver, RetryPolicy
from hexbus.ports.monitoring import EventStatus, HandlerState, QueueStats, UnroutedStats

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

SECRET_NAME = "Jane Q. Patient"
SECRET_DIAGNOSIS = "type-2-diabetes"
SECRET_ERROR = "rejected glucose value 14.2"


@attrs.frozen(kw_only=True)
class LabResultReady(DomainEvent):
    """An event carrying the kind of data that must stay out of logs and alerts."""

    event_type = "test.observability.lab_result_ready"
    patient_name: str
    diagnosis: str
    fail_times: int = 0
    permanent: bool = False


THREE_ATTEMPTS = RetryPolicy(
    max_retries=2, min_backoff=timedelta(seconds=10), max_backoff=timedelta(minutes=1), jitter=0
)


def lab_result(**changes: object) -> LabResultReady:
    fields: dict[str, object] = {"patient_name": SECRET_NAME, "diagnosis": SECRET_DIAGNOSIS}
    fields.update(changes)
    return LabResultReady(**fields)  # type: ignore[arg-type]


def lab_bus(*observers: BusObserver, clock: VirtualClock | None = None) -> InMemoryEventBus:
    """An in-memory bus with one handler on queue ``lab`` that fails as the event says."""
    processor = DomainEventsProcessor()
    failures: dict[object, int] = {}

    def notify_doctor(event: LabResultReady) -> None:
        if event.permanent:
            raise NonRetryableError(SECRET_ERROR)
        failures[event.event_id] = failures.get(event.event_id, 0) + 1
        if failures[event.event_id] <= event.fail_times:
            raise ValueError(SECRET_ERROR)

    processor.register_handler(
        LabResultReady, notify_doctor, name="lab.notify_doctor", queue="lab", retry=THREE_ATTEMPTS
    )
    return InMemoryEventBus(
        processor, clock=clock or VirtualClock(NOW), observers=observers, random_fraction=lambda: 0
    )


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(NOW)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put the root logger back as it was: configure_logging changes process-wide state."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def json_log(restore_logging: None) -> io.StringIO:
    """Every log line of the test, as JSON lines, through the production pipeline."""
    stream = io.StringIO()
    configure_logging(json=True, level=logging.DEBUG, stream=stream)
    return stream


@attrs.define
class FakeMonitor:
    """A QueueMonitor whose stats a test sets, or makes fail."""

    stats: list[QueueStats] = attrs.field(factory=list)
    error: Exception | None = None
    unrouted_stats: list[UnroutedStats] = attrs.field(factory=list)

    def event_status(self, event_id: object) -> EventStatus | None:
        return None

    def queue_stats(self) -> list[QueueStats]:
        if self.error is not None:
            raise self.error
        return list(self.stats)

    def unrouted(self) -> list[UnroutedStats]:
        return list(self.unrouted_stats)

    def clean(self, *, state: HandlerState, older_than: timedelta) -> int:
        return 0


def queue_stats(queue: str = "lab", **counts: int) -> QueueStats:
    values = {"waiting": 0, "scheduled": 0, "running": 0, "dead": 0, "succeeded": 0, "failed": 0}
    values.update(counts)
    return QueueStats(queue=queue, window=timedelta(minutes=15), mean_duration=None, **values)

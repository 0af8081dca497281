"""Running a use case in the clinic's unit of work, or straight on the bus without one.

The container always gives the use cases and the state-changing handlers a unit of work
(in memory by default, PostgreSQL with ``DATABASE_URL``), so their state and their events
commit together (ADR 0020). Built by hand without one (older tests, a script), they publish
on the bus directly, as two steps: the events go out right after each change.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ....ports.event_bus import EventBus
from ....ports.unit_of_work import EventPublisher, UnitOfWork


@contextmanager
def transaction(unit_of_work: UnitOfWork | None, event_bus: EventBus) -> Iterator[EventPublisher]:
    """What to publish through inside the block: the open unit of work, else the bus."""
    if unit_of_work is None:
        yield event_bus
        return
    with unit_of_work:
        yield unit_of_work

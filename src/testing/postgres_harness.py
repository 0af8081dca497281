"""The PostgreSQL unit of work under :class:`~hexbus.testing.UnitOfWorkContract`.

Imported on its own (it needs the ``postgres`` extra). The harness applies the library's
migrations, keeps its state in a table of its own, empties the outbox, the inbox and that
table when built, and delivers by running a relay pass over the outbox into an in-memory bus
on virtual time.
"""

from __future__ import annotations

from ..adapters.clocks import VirtualClock
from ..adapters.in_memory.event_bus import InMemoryEventBus
from ..adapters.postgres.engine import create_engine, sqlalchemy
from ..adapters.postgres.relay import OutboxRelay
from ..adapters.postgres.schema import upgrade
from ..adapters.postgres.unit_of_work import PostgresInbox, PostgresUnitOfWork
from ..application.processor import DomainEventsProcessor
from ..domain.serialization import EventSerializer
from .events import ContractEvent
from .fakes import RecordingHandler

STATE = "hexbus_contract_state"


class PostgresUnitOfWorkHarness:
    """A :class:`~hexbus.testing.UnitOfWorkHarness` on the database at ``url``."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, pool_size=4)
        upgrade(self.engine)
        with self.engine.begin() as connection:
            connection.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {STATE} (key text PRIMARY KEY)")
            connection.exec_driver_sql(f"TRUNCATE {STATE}, hexbus_outbox, hexbus_inbox")
        processor = DomainEventsProcessor()
        self.handler = RecordingHandler()
        processor.register_handler(ContractEvent, self.handler, name="contract.recorder")
        self.bus = InMemoryEventBus(processor=processor, clock=VirtualClock())
        serializer = EventSerializer()
        self.unit_of_work = PostgresUnitOfWork(self.engine, serializer, self.bus.clock)
        self.inbox = PostgresInbox(self.unit_of_work)
        self.relay = OutboxRelay(self.engine, self.bus, serializer, clock=self.bus.clock)

    def write(self, key: str) -> None:
        self.unit_of_work.connection.execute(
            sqlalchemy.text(f"INSERT INTO {STATE} (key) VALUES (:key)"), {"key": key}
        )

    def stored(self) -> set[str]:
        with self.engine.connect() as connection:
            return {row[0] for row in connection.exec_driver_sql(f"SELECT key FROM {STATE}")}

    def deliver(self) -> None:
        self.relay.drain()

    def close(self) -> None:
        self.engine.dispose()

"""In-memory adapters: the synchronous event bus, the stores it needs, the booking repositories."""

from .dead_letters import InMemoryDeadLetters
from .event_bus import InMemoryEventBus
from .idempotency import InMemoryIdempotencyStore
from .recorded import HandlerRun
from .repositories import InMemoryAppointmentRepository, InMemoryInvoiceRepository

__all__ = [
    "HandlerRun",
    "InMemoryAppointmentRepository",
    "InMemoryDeadLetters",
    "InMemoryEventBus",
    "InMemoryIdempotencyStore",
    "InMemoryInvoiceRepository",
]

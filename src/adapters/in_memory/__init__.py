"""In-memory adapters: the synchronous event bus, its async twin, and the stores they need."""

from .async_event_bus import AsyncInMemoryEventBus
from .dead_letters import InMemoryDeadLetters
from .event_bus import InMemoryEventBus
from .idempotency import InMemoryIdempotencyStore
from .recorded import HandlerRun

__all__ = [
    "AsyncInMemoryEventBus",
    "HandlerRun",
    "InMemoryDeadLetters",
    "InMemoryEventBus",
    "InMemoryIdempotencyStore",
]

"""In-memory adapters: the synchronous event bus and the stores it needs."""

from .dead_letters import InMemoryDeadLetters
from .event_bus import InMemoryEventBus
from .idempotency import InMemoryIdempotencyStore
from .recorded import HandlerRun

__all__ = [
    "HandlerRun",
    "InMemoryDeadLetters",
    "InMemoryEventBus",
    "InMemoryIdempotencyStore",
]

"""In-memory adapters: the synchronous event bus and the stores it needs."""

from .dead_letters import InMemoryDeadLetters
from .event_bus import HandlerRun, InMemoryEventBus
from .idempotency import InMemoryIdempotencyStore

__all__ = ["HandlerRun", "InMemoryDeadLetters", "InMemoryEventBus", "InMemoryIdempotencyStore"]

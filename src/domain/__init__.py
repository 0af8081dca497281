"""The domain layer: events as values, their names and versions, their wire format."""

from .event_types import EventTypeRegistry, event_types
from .events import DomainEvent, utc_now
from .serialization import EventSerializer

__all__ = ["DomainEvent", "EventSerializer", "EventTypeRegistry", "event_types", "utc_now"]

"""hexbus: a ports-and-adapters event bus.

Use-case code publishes :class:`DomainEvent` values through the :class:`EventBus` port (or
awaits :class:`AsyncEventBus`, its async twin);
handlers are registered on a :class:`DomainEventsProcessor`; the composition root
(``hexbus.container``) chooses the in-memory or the Dramatiq/Redis adapter.

Importing this package loads no infrastructure library (an import-linter contract and
``tests/unit/test_import_cost.py`` keep it so); import adapters from ``hexbus.adapters``.
"""

from .application.handler_context import HandlerContext, handler_context
from .application.observers import NullObserver
from .application.processor import DomainEventsProcessor
from .domain.errors import (
    ConfigurationError,
    DeadLetterNotFound,
    DeadLetterNotRetryable,
    DuplicateEventType,
    EventBusRejected,
    EventBusUnavailable,
    EventDecodeError,
    EventError,
    HandlerRegistrationError,
    HandlerTimeout,
    HexbusError,
    InvalidEvent,
    MissingExtra,
    NonRetryableError,
    StoreUnavailable,
    UndecryptableEvent,
    UnitOfWorkError,
    UnknownEventType,
    UnknownHandler,
)
from .domain.event_types import EventTypeRegistry, event_types
from .domain.events import DomainEvent
from .domain.serialization import EventSerializer
from .ports.async_event_bus import AsyncEventBus, AsyncEventScheduler
from .ports.clock import Clock
from .ports.dead_letters import DeadLetter, DeadLetterPage, DeadLetterReason, DeadLetters
from .ports.event_bus import EventBus, EventScheduler, PublishOutcome, PublishResult
from .ports.handlers import HandlerSpec, Priority, RateLimit, RetryPolicy
from .ports.observer import BusObserver
from .ports.unit_of_work import EventPublisher, Inbox, UnitOfWork

__version__ = "0.1.0"

__all__ = [
    "AsyncEventBus",
    "AsyncEventScheduler",
    "BusObserver",
    "Clock",
    "ConfigurationError",
    "DeadLetter",
    "DeadLetterNotFound",
    "DeadLetterNotRetryable",
    "DeadLetterPage",
    "DeadLetterReason",
    "DeadLetters",
    "DomainEvent",
    "DomainEventsProcessor",
    "DuplicateEventType",
    "EventBus",
    "EventBusRejected",
    "EventBusUnavailable",
    "EventDecodeError",
    "EventError",
    "EventPublisher",
    "EventScheduler",
    "EventSerializer",
    "EventTypeRegistry",
    "HandlerContext",
    "HandlerRegistrationError",
    "HandlerSpec",
    "HandlerTimeout",
    "HexbusError",
    "Inbox",
    "InvalidEvent",
    "MissingExtra",
    "NonRetryableError",
    "NullObserver",
    "Priority",
    "PublishOutcome",
    "PublishResult",
    "RateLimit",
    "RetryPolicy",
    "StoreUnavailable",
    "UndecryptableEvent",
    "UnitOfWork",
    "UnitOfWorkError",
    "UnknownEventType",
    "UnknownHandler",
    "__version__",
    "event_types",
    "handler_context",
]

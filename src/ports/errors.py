"""The error hierarchy, as seen from the ports.

The classes are defined once, in :mod:`hexbus.domain.errors` (the lowest layer, since events
raise some of them); adapters and callers import them from here or from ``hexbus``.
"""

from ..domain.errors import (
    AlreadyExists,
    AppointmentNotFound,
    BookingError,
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
    InvalidRecipient,
    InvalidTransition,
    InvoiceNotFound,
    NonRetryableError,
    NotificationFailed,
    UnknownEventType,
    UnknownHandler,
)

__all__ = [
    "AlreadyExists",
    "AppointmentNotFound",
    "BookingError",
    "ConfigurationError",
    "DeadLetterNotFound",
    "DeadLetterNotRetryable",
    "DuplicateEventType",
    "EventBusRejected",
    "EventBusUnavailable",
    "EventDecodeError",
    "EventError",
    "HandlerRegistrationError",
    "HandlerTimeout",
    "HexbusError",
    "InvalidEvent",
    "InvalidRecipient",
    "InvalidTransition",
    "InvoiceNotFound",
    "NonRetryableError",
    "NotificationFailed",
    "UnknownEventType",
    "UnknownHandler",
]

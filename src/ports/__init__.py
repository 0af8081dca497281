"""Ports: the Protocols the core depends on, and the values that cross them."""

from .analysis import Analyzer
from .clock import Clock
from .dead_letters import DeadLetter, DeadLetterPage, DeadLetterReason, DeadLetters, Progress
from .event_bus import EventBus, EventScheduler, PublishOutcome, PublishResult
from .handlers import (
    DEFAULT_QUEUE,
    NO_RETRY,
    Handler,
    HandlerSpec,
    Priority,
    RateLimit,
    RetryPolicy,
)
from .idempotency import IdempotencyStore
from .notifier import Channel, Notification, Notifier
from .observer import BusObserver
from .repositories import (
    AppointmentRepository,
    InvoiceRepository,
    MedicineRepository,
    SlotOfferRepository,
    WaitlistRepository,
)

__all__ = [
    "DEFAULT_QUEUE",
    "NO_RETRY",
    "Analyzer",
    "AppointmentRepository",
    "BusObserver",
    "Channel",
    "Clock",
    "DeadLetter",
    "DeadLetterPage",
    "DeadLetterReason",
    "DeadLetters",
    "EventBus",
    "EventScheduler",
    "Handler",
    "HandlerSpec",
    "IdempotencyStore",
    "InvoiceRepository",
    "MedicineRepository",
    "Notification",
    "Notifier",
    "Priority",
    "Progress",
    "PublishOutcome",
    "PublishResult",
    "RateLimit",
    "RetryPolicy",
    "SlotOfferRepository",
    "WaitlistRepository",
]

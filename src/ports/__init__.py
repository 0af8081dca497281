"""Ports: the Protocols the core depends on, and the values that cross them."""

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
from .observer import BusObserver

__all__ = [
    "DEFAULT_QUEUE",
    "NO_RETRY",
    "BusObserver",
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
    "Priority",
    "Progress",
    "PublishOutcome",
    "PublishResult",
    "RateLimit",
    "RetryPolicy",
]

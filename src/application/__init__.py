"""The application layer: the handler registry, delivery rules and recurring schedules."""

from .delivery import AttemptOutcome, AttemptResult, HandlerRunner, dead_letter_for
from .observers import NullObserver, ObserverGroup
from .processor import DomainEventsProcessor, derive_handler_name

__all__ = [
    "AttemptOutcome",
    "AttemptResult",
    "DomainEventsProcessor",
    "HandlerRunner",
    "NullObserver",
    "ObserverGroup",
    "dead_letter_for",
    "derive_handler_name",
]

"""The AI analysis handlers: their own queue, a long timeout, urgent ones at high priority.

``ai-processing`` runs two at a time in the clinic's layout (the analyses are heavy); the
urgent handler's messages go to ``ai-processing.high``, a worker group of its own.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from .....application.processor import DomainEventsProcessor
from .....ports.clock import Clock
from .....ports.event_bus import EventBus
from .....ports.handlers import HandlerSpec, Priority, RetryPolicy
from ...domain.analysis.events import AiAnalysisRequested
from ...ports.analyzer import Analyzer
from .handlers import RunAiAnalysis

AI_QUEUE: Final = "ai-processing"
AI_TIMEOUT: Final = timedelta(minutes=10)
"""An analysis may take minutes; past ten, something is stuck."""
AI_RETRY: Final = RetryPolicy(
    max_retries=2, min_backoff=timedelta(seconds=30), max_backoff=timedelta(minutes=5)
)
"""A failed analysis is worth two more tries, spaced out: the service is slow, not flaky."""


class Names:
    """The stable handler names of the AI analysis."""

    ANALYSE: Final = "ai.analyse"
    ANALYSE_URGENT: Final = "ai.analyse_urgent"


def register_analysis_handlers(
    processor: DomainEventsProcessor,
    *,
    analyzer: Analyzer,
    event_bus: EventBus,
    clock: Clock,
) -> tuple[HandlerSpec, ...]:
    """Register both analysis handlers on ``processor``; returns their specs (call once)."""
    return tuple(
        processor.register_handler(
            AiAnalysisRequested,
            RunAiAnalysis(analyzer, event_bus, clock, urgent=urgent),
            name=name,
            queue=AI_QUEUE,
            priority=priority,
            retry=AI_RETRY,
            timeout=AI_TIMEOUT,
        )
        for name, urgent, priority in (
            (Names.ANALYSE, False, Priority.NORMAL),
            (Names.ANALYSE_URGENT, True, Priority.HIGH),
        )
    )

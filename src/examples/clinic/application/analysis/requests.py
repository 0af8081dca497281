"""Asking for an AI analysis: publish the request, let the ``ai-processing`` workers run it."""

from __future__ import annotations

from collections.abc import Callable
from uuid import uuid4

from .....application.event_ids import derived_event_id
from .....ports.clock import Clock
from .....ports.event_bus import EventBus, PublishResult
from ...domain.analysis.events import AiAnalysisRequested


def new_request_id() -> str:
    """A fresh analysis request id, ``ai-`` and 12 hex digits."""
    return f"ai-{uuid4().hex[:12]}"


class RequestAiAnalysis:
    """Publish :class:`AiAnalysisRequested`; an ``urgent`` one jumps the routine queue."""

    def __init__(
        self, event_bus: EventBus, clock: Clock, new_id: Callable[[], str] = new_request_id
    ) -> None:
        self.event_bus = event_bus
        self.clock = clock
        self.new_id = new_id

    def __call__(
        self,
        *,
        patient_id: str,
        doctor_id: str,
        kind: str,
        urgent: bool = False,
        request_id: str | None = None,
    ) -> PublishResult:
        """The publish result; the same ``request_id`` sent twice runs once."""
        request_id = request_id or self.new_id()
        return self.event_bus.publish(
            AiAnalysisRequested(
                event_id=derived_event_id("ai", request_id),
                occurred_at=self.clock.now(),
                request_id=request_id,
                patient_id=patient_id,
                doctor_id=doctor_id,
                kind=kind,
                urgent=urgent,
            )
        )

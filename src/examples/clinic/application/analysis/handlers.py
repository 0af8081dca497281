"""Running an AI analysis: one handler for routine requests, one for urgent ones.

Priority in hexbus belongs to a handler (each priority of a queue has its own worker group),
so the two kinds of request are two handlers of the same event: each ignores the other's
kind. The urgent one is registered HIGH on ``ai-processing`` and so runs from
``ai-processing.high``, which a backlog of routine analyses never holds up.
"""

from __future__ import annotations

from .....application.event_ids import caused_event_id
from .....application.handler_context import handler_context
from .....ports.clock import Clock
from .....ports.event_bus import EventBus
from ...domain.analysis.events import AiAnalysisCompleted, AiAnalysisRequested
from ...ports.analyzer import Analyzer


class RunAiAnalysis:
    """AiAnalysisRequested: analyse requests whose ``urgent`` flag is ``urgent``, publish the
    findings (:class:`AiAnalysisCompleted`, an id derived from the request), reporting its
    progress and steps through ``hexbus.handler_context()``."""

    def __init__(
        self, analyzer: Analyzer, event_bus: EventBus, clock: Clock, *, urgent: bool
    ) -> None:
        self.analyzer = analyzer
        self.event_bus = event_bus
        self.clock = clock
        self.urgent = urgent

    def __call__(self, event: AiAnalysisRequested) -> None:
        if event.urgent is not self.urgent:
            return  # the other handler's kind
        # These runs take minutes: operators see how far each one is on the event's page.
        # The lines name steps and sizes, never the patient's data (ADR 0016).
        context = handler_context()
        context.progress(0)
        context.log(f"attempt {context.attempt}: sending the request to the analyzer")
        findings = self.analyzer.analyze(
            request_id=event.request_id,
            patient_id=event.patient_id,
            kind=event.kind,
            urgent=event.urgent,
        )
        context.progress(90)
        context.log(f"findings received ({len(findings)} characters)")
        self.event_bus.publish(
            AiAnalysisCompleted(
                event_id=caused_event_id(event, AiAnalysisCompleted.event_type),
                occurred_at=self.clock.now(),
                request_id=event.request_id,
                patient_id=event.patient_id,
                doctor_id=event.doctor_id,
                urgent=event.urgent,
                findings=findings,
                **event.caused(),
            )
        )
        context.progress(100)
        context.log("AiAnalysisCompleted published")

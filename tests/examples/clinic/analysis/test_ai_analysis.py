"""Heavy AI analysis: its own queue, a long timeout, urgent requests at high priority."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hexbus.adapters.clocks import VirtualClock
from hexbus.adapters.dramatiq.messages import queue_for
from hexbus.adapters.in_memory import InMemoryEventBus
from hexbus.adapters.in_memory.monitor import InMemoryMonitor
from hexbus.application import DomainEventsProcessor
from hexbus.examples.clinic.adapters import CannedAnalyzer
from hexbus.examples.clinic.application.analysis import (
    AI_TIMEOUT,
    Names,
    RequestAiAnalysis,
    register_analysis_handlers,
)
from hexbus.examples.clinic.domain.analysis import AiAnalysisCompleted, AiAnalysisRequested
from hexbus.ports import Priority, PublishOutcome

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def wired() -> tuple[InMemoryEventBus, CannedAnalyzer, RequestAiAnalysis]:
    clock = VirtualClock(NOW)
    processor = DomainEventsProcessor()
    bus = InMemoryEventBus(processor, clock=clock)
    analyzer = CannedAnalyzer()
    register_analysis_handlers(processor, analyzer=analyzer, event_bus=bus, clock=clock)
    return bus, analyzer, RequestAiAnalysis(bus, clock)


def test_two_handlers_on_ai_processing_one_of_them_high_priority(
    wired: tuple[InMemoryEventBus, CannedAnalyzer, RequestAiAnalysis],
) -> None:
    processor = wired[0].processor
    routine = processor.get(Names.ANALYSE)
    urgent = processor.get(Names.ANALYSE_URGENT)
    assert (routine.queue, routine.priority) == ("ai-processing", Priority.NORMAL)
    assert (urgent.queue, urgent.priority) == ("ai-processing", Priority.HIGH)
    assert routine.timeout == urgent.timeout == AI_TIMEOUT == timedelta(minutes=10)
    # On Redis each priority is its own queue with its own worker group.
    assert (queue_for(routine), queue_for(urgent)) == ("ai-processing", "ai-processing.high")


def test_a_routine_request_is_analysed_by_the_routine_handler_only(
    wired: tuple[InMemoryEventBus, CannedAnalyzer, RequestAiAnalysis],
) -> None:
    bus, analyzer, request = wired
    request(patient_id="pat-1", doctor_id="doc-1", kind="x-ray", request_id="ai-1")
    (run,) = analyzer.runs
    assert (run.request_id, run.urgent) == ("ai-1", False)
    completed = bus.assert_published(AiAnalysisCompleted, request_id="ai-1")
    assert "x-ray" in completed.findings
    assert completed.causation_id == bus.assert_published(AiAnalysisRequested).event_id


def test_an_urgent_request_is_analysed_by_the_high_priority_handler_only(
    wired: tuple[InMemoryEventBus, CannedAnalyzer, RequestAiAnalysis],
) -> None:
    bus, analyzer, request = wired
    request(patient_id="pat-1", doctor_id="doc-1", kind="ecg", urgent=True, request_id="ai-2")
    assert [r.urgent for r in analyzer.runs] == [True]
    assert bus.assert_published(AiAnalysisCompleted).urgent is True
    # Both handlers ran (each event reaches every handler of its type); one had nothing to do.
    assert {r.handler for r in bus.runs if r.outcome == "ok"} == {
        Names.ANALYSE,
        Names.ANALYSE_URGENT,
    }


def test_the_same_request_id_twice_is_analysed_once(
    wired: tuple[InMemoryEventBus, CannedAnalyzer, RequestAiAnalysis],
) -> None:
    _, analyzer, request = wired
    first = request(patient_id="pat-1", doctor_id="doc-1", kind="x-ray", request_id="ai-3")
    second = request(patient_id="pat-1", doctor_id="doc-1", kind="x-ray", request_id="ai-3")
    assert second.outcome is PublishOutcome.DUPLICATE
    assert first.event_id == second.event_id
    assert len(analyzer.runs) == 1


def test_the_analysis_reports_its_progress_and_steps_on_the_events_status() -> None:
    clock = VirtualClock(NOW)
    processor = DomainEventsProcessor()
    bus = InMemoryEventBus(processor, clock=clock)
    monitor = InMemoryMonitor(processor, clock, bus.dead_letters)
    bus.observer.add(monitor)
    register_analysis_handlers(processor, analyzer=CannedAnalyzer(), event_bus=bus, clock=clock)

    RequestAiAnalysis(bus, clock)(
        patient_id="pat-1", doctor_id="doc-1", kind="x-ray", request_id="ai-9"
    )

    requested = bus.assert_published(AiAnalysisRequested)
    status = monitor.event_status(requested.event_id)
    assert status is not None
    routine = next(h for h in status.handlers if h.handler == Names.ANALYSE)
    assert routine.progress == 100.0
    assert [line.text for line in routine.log] == [
        "attempt 1: sending the request to the analyzer",
        "findings received (60 characters)",
        "AiAnalysisCompleted published",
    ]
    # The lines name steps and sizes, never the patient or the findings.
    assert not any("pat-1" in line.text or "x-ray" in line.text for line in routine.log)
    urgent = next(h for h in status.handlers if h.handler == Names.ANALYSE_URGENT)
    assert (urgent.progress, urgent.log) == (None, ())

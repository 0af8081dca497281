"""OpenTelemetry on the in-memory bus (ADR 0025): a span per publish and per handler run, the
handler's a child of the publish, with the queue, event type, handler and attempt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from hexbus import DomainEventsProcessor, RetryPolicy
from hexbus.adapters.clocks import VirtualClock
from hexbus.adapters.in_memory import InMemoryEventBus
from hexbus.adapters.observability.tracing import (
    TraceCarrier,
    TracedEventBus,
    TracingObserver,
    TracingSerializer,
)
from hexbus.container import create_container
from hexbus.domain.serialization import EventSerializer
from hexbus.testing.events import ContractEvent

KEY = "q7xYtW9cPz3kLm2nB5vR8sD1fG4hJ6aE0uI9oP2wXyA="


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def _provider(exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def _named(spans: Any, prefix: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name.startswith(prefix)]


def test_a_handlers_span_is_a_child_of_its_publish_with_the_attributes(
    exporter: InMemorySpanExporter,
) -> None:
    provider = _provider(exporter)
    carrier = TraceCarrier()
    processor = DomainEventsProcessor()
    seen: list[Any] = []

    def handler(event: Any) -> None:
        seen.append(trace.get_current_span().get_span_context())

    processor.register_handler(ContractEvent, handler, name="traced", queue="mail")
    bus = InMemoryEventBus(
        processor,
        clock=VirtualClock(datetime(2026, 3, 2, tzinfo=UTC)),
        observers=[TracingObserver(carrier, provider)],
    )
    traced = TracedEventBus(bus, carrier, provider)

    traced.publish(ContractEvent(value=1))

    (publish,) = _named(exporter.get_finished_spans(), "publish")
    (handle,) = _named(exporter.get_finished_spans(), "handle")
    assert publish.kind is SpanKind.PRODUCER
    assert handle.kind is SpanKind.CONSUMER
    assert handle.parent is not None
    assert handle.parent.span_id == publish.context.span_id
    assert handle.context.trace_id == publish.context.trace_id
    assert (
        dict(handle.attributes or {}).items()
        >= {
            "messaging.destination.name": "mail",
            "hexbus.event_type": ContractEvent.event_type,
            "hexbus.handler": "traced",
            "hexbus.attempt": 1,
        }.items()
    )
    assert seen == [handle.context], "the handler runs inside its span"
    assert traced.processor is processor, "the rest of the bus is the bus's"


def test_a_delayed_event_and_a_failed_attempt_keep_the_chain(
    exporter: InMemorySpanExporter,
) -> None:
    provider = _provider(exporter)
    carrier = TraceCarrier()
    processor = DomainEventsProcessor()
    calls = [0]

    def flaky(event: Any) -> None:
        calls[0] += 1
        if calls[0] == 1:
            raise RuntimeError("first try")

    processor.register_handler(
        ContractEvent, flaky, name="flaky", queue="mail", retry=RetryPolicy(max_retries=1)
    )
    clock = VirtualClock(datetime(2026, 3, 2, tzinfo=UTC))
    bus = InMemoryEventBus(processor, clock=clock, observers=[TracingObserver(carrier, provider)])
    traced = TracedEventBus(bus, carrier, provider)

    traced.publish(ContractEvent(value=2), delay=timedelta(hours=1))
    bus.advance(timedelta(hours=2))

    (publish,) = _named(exporter.get_finished_spans(), "publish")
    handles = _named(exporter.get_finished_spans(), "handle")
    assert [dict(h.attributes or {})["hexbus.attempt"] for h in handles] == [1, 2]
    assert all(
        h.parent is not None and h.parent.span_id == publish.context.span_id for h in handles
    )
    assert handles[0].status.status_code is StatusCode.ERROR
    assert handles[1].status.status_code is not StatusCode.ERROR


def test_the_envelope_carries_the_trace_context_and_a_plain_reader_ignores_it(
    exporter: InMemorySpanExporter,
) -> None:
    provider = _provider(exporter)
    carrier = TraceCarrier()
    serializer = TracingSerializer(EventSerializer(), carrier)
    event = ContractEvent(value=3)
    with provider.get_tracer("test").start_as_current_span("outer") as outer:
        text = serializer.dumps(event)
    assert '"trace":{"traceparent":' in text
    assert EventSerializer().loads(text) == event, "a worker without tracing reads it"
    reader_carrier = TraceCarrier()
    assert TracingSerializer(EventSerializer(), reader_carrier).loads(text) == event
    remembered = reader_carrier.get(event.event_id)
    assert remembered is not None
    assert format(outer.get_span_context().span_id, "016x") in remembered["traceparent"]
    assert serializer.dumps(event).count("trace") == 0, "no span, nothing carried"


def test_hexbus_otel_wires_the_bus_the_serializer_and_the_observers() -> None:
    container = create_container({"HEXBUS_OTEL": "true", "DATA_ENCRYPTION_KEY": KEY})
    assert isinstance(container.event_bus(), TracedEventBus)
    assert isinstance(container.serializer(), TracingSerializer)
    assert container.serializer().keyring is not None, "the sealing serializer's own parts"
    assert any(isinstance(o, TracingObserver) for o in container.observers())
    plain = create_container({})
    assert not isinstance(plain.event_bus(), TracedEventBus)
    assert not isinstance(plain.serializer(), TracingSerializer)


def test_a_sealed_envelope_carries_the_trace_outside_the_sealed_part(
    exporter: InMemorySpanExporter,
) -> None:
    sealing = create_container({"DATA_ENCRYPTION_KEY": KEY}).serializer()
    traced = TracingSerializer(sealing, TraceCarrier())
    event = ContractEvent(value=4)
    with _provider(exporter).get_tracer("test").start_as_current_span("outer"):
        text = traced.dumps(event)
    assert '"ciphertext":' in text
    assert '"trace":' in text
    assert sealing.loads(text) == event, "an untraced worker with the key opens it"

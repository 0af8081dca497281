"""OpenTelemetry on the Redis bus (ADR 0025): the publisher's span travels in the envelope,
and the worker's handler span is its child, across a real Redis and a real worker."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import redis
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from hexbus import DomainEventsProcessor
from hexbus.adapters.dramatiq import DramatiqEventBus, RedisKeys, WorkerRuntime, handler_queues
from hexbus.adapters.dramatiq.maintenance import MaintenanceTimings
from hexbus.adapters.observability.tracing import (
    TraceCarrier,
    TracedEventBus,
    TracingObserver,
    TracingSerializer,
)
from hexbus.domain.serialization import EventSerializer
from hexbus.testing.events import ContractEvent


def test_a_workers_handler_span_is_a_child_of_the_publishers_span(
    client: redis.Redis, namespace: str
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    keys = RedisKeys(namespace)
    processor = DomainEventsProcessor()
    ran: list[Any] = []
    processor.register_handler(ContractEvent, ran.append, name="traced.remote", queue="traced")
    # Two carriers: the publisher's and the worker's process share nothing but the envelope.
    worker_carrier = TraceCarrier()
    runtime = WorkerRuntime(
        processor=processor,
        client=client,
        keys=keys,
        queues=handler_queues(processor),
        threads=1,
        serializer=TracingSerializer(EventSerializer(processor.registry), worker_carrier),
        observers=[TracingObserver(worker_carrier, provider)],
        timings=MaintenanceTimings(move_interval=timedelta(milliseconds=50)),
        idle_timeout=timedelta(milliseconds=100),
    )
    runtime.maintenance.declare_routes()
    publisher_carrier = TraceCarrier()
    publisher = TracedEventBus(
        DramatiqEventBus(
            DomainEventsProcessor(),
            client,
            keys=keys,
            serializer=TracingSerializer(EventSerializer(processor.registry), publisher_carrier),
        ),
        publisher_carrier,
        provider,
    )
    event = ContractEvent(value=7)
    runtime.start()
    try:
        publisher.publish(event)
        deadline = time.monotonic() + 15
        while not [s for s in exporter.get_finished_spans() if s.name.startswith("handle")]:
            assert time.monotonic() < deadline, "the handler's span did not end"
            time.sleep(0.02)
    finally:
        runtime.stop(timedelta(seconds=5))

    spans = exporter.get_finished_spans()
    (publish,) = [s for s in spans if s.name.startswith("publish")]
    (handle,) = [s for s in spans if s.name.startswith("handle")]
    assert (publish.kind, handle.kind) == (SpanKind.PRODUCER, SpanKind.CONSUMER)
    assert handle.parent is not None
    assert handle.parent.span_id == publish.context.span_id
    assert handle.context.trace_id == publish.context.trace_id
    attributes = dict(handle.attributes or {})
    assert attributes["messaging.destination.name"] == "traced"
    assert attributes["hexbus.handler"] == "traced.remote"
    assert attributes["hexbus.attempt"] == 1
    assert ran == [event]
    assert attributes["hexbus.event_id"] == str(event.event_id)

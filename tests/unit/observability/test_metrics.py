"""Prometheus metrics: counters and durations from the observer, queue gauges from the monitor."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from hexbus.adapters.clocks import VirtualClock
from hexbus.adapters.observability import (
    BusMetrics,
    MetricsObserver,
    MultiprocessDirectory,
    QueueCollector,
    render_latest,
)
from hexbus.ports.dead_letters import DeadLetter, DeadLetterReason
from hexbus.ports.monitoring import UnroutedStats

from .conftest import NOW, FakeMonitor, lab_bus, lab_result, queue_stats


@pytest.fixture
def metrics() -> BusMetrics:
    return BusMetrics(CollectorRegistry())


def value(metrics: BusMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def runs(metrics: BusMetrics, outcome: str) -> float:
    return value(
        metrics,
        "hexbus_handler_runs_total",
        queue="lab",
        handler="lab.notify_doctor",
        outcome=outcome,
    )


def samples(body: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_publishing_is_counted_by_event_type_and_outcome(
    metrics: BusMetrics, clock: VirtualClock
) -> None:
    bus = lab_bus(MetricsObserver(metrics), clock=clock)
    event = lab_result()
    bus.publish(event)
    bus.publish(event)
    bus.publish(lab_result(), delay=timedelta(minutes=5))
    kind = "test.observability.lab_result_ready"
    published = "hexbus_events_published_total"
    assert value(metrics, published, event_type=kind, outcome="accepted") == 1
    assert value(metrics, published, event_type=kind, outcome="duplicate") == 1
    assert value(metrics, published, event_type=kind, outcome="scheduled") == 1


def test_handler_runs_are_counted_by_outcome(metrics: BusMetrics, clock: VirtualClock) -> None:
    bus = lab_bus(MetricsObserver(metrics), clock=clock)
    bus.publish(lab_result())  # succeeded
    bus.publish(lab_result(fail_times=1))  # retried, succeeded
    bus.publish(lab_result(fail_times=5))  # retried twice, then failed and dead
    assert runs(metrics, "succeeded") == 2
    assert runs(metrics, "retried") == 3
    assert runs(metrics, "failed") == 1
    assert runs(metrics, "dead") == 1


def test_a_redelivery_that_finds_the_work_done_counts_as_skipped(metrics: BusMetrics) -> None:
    observer = MetricsObserver(metrics)
    bus = lab_bus(observer)
    event = lab_result()
    bus.publish(event)
    (spec,) = bus.processor.handlers_for(event.event_type)
    observer.handler_skipped(event, spec)
    assert runs(metrics, "skipped") == 1


def test_successful_durations_go_into_the_histogram(metrics: BusMetrics) -> None:
    clock = VirtualClock(NOW)
    observer = MetricsObserver(metrics)
    bus = lab_bus(observer, clock=clock)
    event = lab_result()
    bus.publish(event)
    (spec,) = bus.processor.handlers_for(event.event_type)
    observer.handler_succeeded(event, spec, 1, timedelta(milliseconds=300))
    labels = {"queue": "lab", "handler": "lab.notify_doctor"}
    assert value(metrics, "hexbus_handler_duration_seconds_count", **labels) == 2
    assert value(metrics, "hexbus_handler_duration_seconds_sum", **labels) == pytest.approx(0.3)
    bucket = {**labels, "le": "0.25"}
    assert value(metrics, "hexbus_handler_duration_seconds_bucket", **bucket) == 1


def test_an_unreadable_message_counts_as_dead_without_a_handler(metrics: BusMetrics) -> None:
    MetricsObserver(metrics).dead_lettered(
        DeadLetter(
            id="x",
            reason=DeadLetterReason.UNDECODABLE,
            queue="lab",
            handler=None,
            event_id=None,
            event_type=None,
            message="{not json",
            error_type="hexbus.BadMessage",
            error="bad",
            traceback="",
            attempts=0,
            failed_at=NOW,
        )
    )
    assert value(metrics, "hexbus_handler_runs_total", queue="lab", handler="", outcome="dead") == 1


def test_queue_gauges_report_what_the_monitor_says() -> None:
    monitor = FakeMonitor(
        [
            queue_stats("lab", waiting=4, scheduled=2, running=1, dead=3),
            queue_stats("billing", waiting=9),
        ]
    )
    registry = CollectorRegistry()
    registry.register(QueueCollector(monitor))
    assert registry.get_sample_value("hexbus_queue_waiting", {"queue": "lab"}) == 4
    assert registry.get_sample_value("hexbus_queue_scheduled", {"queue": "lab"}) == 2
    assert registry.get_sample_value("hexbus_queue_running", {"queue": "lab"}) == 1
    assert registry.get_sample_value("hexbus_queue_dead", {"queue": "lab"}) == 3
    assert registry.get_sample_value("hexbus_queue_waiting", {"queue": "billing"}) == 9
    assert registry.get_sample_value("hexbus_queue_paused", {"queue": "billing"}) == 0
    assert registry.get_sample_value("hexbus_monitor_up") == 1


def test_unrouted_events_are_a_counter_per_type_mirrored_from_the_monitor() -> None:
    monitor = FakeMonitor(
        unrouted_stats=[UnroutedStats(event_type="lab.result_filed", count=5, kept=3)]
    )
    registry = CollectorRegistry()
    registry.register(QueueCollector(monitor))
    labels = {"event_type": "lab.result_filed"}
    assert registry.get_sample_value("hexbus_events_unrouted_total", labels) == 5
    assert registry.get_sample_value("hexbus_events_unrouted_kept", labels) == 3


def test_an_unreadable_monitor_reports_down_and_no_stale_queue_gauges() -> None:
    monitor = FakeMonitor([queue_stats("lab", waiting=4)], error=ConnectionError("redis down"))
    registry = CollectorRegistry()
    registry.register(QueueCollector(monitor))  # registering does not read the monitor
    assert registry.get_sample_value("hexbus_monitor_up") == 0
    assert registry.get_sample_value("hexbus_queue_waiting", {"queue": "lab"}) is None


def test_render_latest_joins_this_process_counters_and_the_queue_gauges(
    metrics: BusMetrics, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    lab_bus(MetricsObserver(metrics)).publish(lab_result())
    body, content_type = render_latest(
        FakeMonitor([queue_stats("lab", waiting=7)]), metrics=metrics
    )
    assert content_type.startswith("text/plain")
    found = samples(body)
    assert found[("hexbus_queue_waiting", (("queue", "lab"),))] == 7
    succeeded = (("handler", "lab.notify_doctor"), ("outcome", "succeeded"), ("queue", "lab"))
    assert found[("hexbus_handler_runs_total", succeeded)] == 1


def test_render_latest_works_with_the_process_wide_metrics(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    MetricsObserver()  # twice in one process: one set of metrics, no duplicate registration
    MetricsObserver()
    body, _ = render_latest(FakeMonitor([queue_stats("lab")]))
    assert b"# TYPE hexbus_handler_runs_total counter" in body
    assert b'hexbus_queue_dead{queue="lab"} 0.0' in body


def test_a_configured_multiprocess_directory_is_emptied_and_kept(tmp_path: Path) -> None:
    (tmp_path / "counter_123.db").write_bytes(b"stale")
    (tmp_path / "notes.txt").write_text("not ours")
    directory = MultiprocessDirectory(str(tmp_path))
    assert directory.child_env() == {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    assert not (tmp_path / "counter_123.db").exists(), "last run's counts are not added in"
    directory.close()
    assert (tmp_path / "notes.txt").exists()


def test_a_temporary_multiprocess_directory_is_removed_on_close() -> None:
    directory = MultiprocessDirectory(None)
    assert directory.path.is_dir()
    directory.close()
    assert not directory.path.exists()


def test_a_monitor_that_cannot_count_unrouted_events_still_reports_its_queues() -> None:
    class OlderMonitor(FakeMonitor):
        def unrouted(self) -> list[UnroutedStats]:
            raise AttributeError("a monitor written before ADR 0015")

    registry = CollectorRegistry()
    registry.register(QueueCollector(OlderMonitor([queue_stats("lab", waiting=4)])))
    assert registry.get_sample_value("hexbus_monitor_up") == 1
    assert registry.get_sample_value("hexbus_queue_waiting", {"queue": "lab"}) == 4

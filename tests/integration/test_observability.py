"""Observability with real processes and real sockets.

* The ``hexbus worker`` supervisor serves ``/metrics`` summed over its worker processes (each
  of which counts only its own runs) and queue gauges equal to what the monitor reports.
* The webhook alerter posts to a real HTTP server on loopback, retries a failing one, and gives
  up (logging, never raising) on one that does not answer in time.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import logging
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import attrs
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from hexbus.adapters.dramatiq import DramatiqEventBus
from hexbus.adapters.observability import WebhookAlerter
from hexbus.container import Container, create_container
from hexbus.ports.alerts import Alert, AlertKind, Severity

from .apps import Job, register
from .conftest import StartWorker, wait_for, wait_for_routes

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scrape(port: int) -> Samples:
    """Every sample on /metrics, by (name, sorted labels)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def runs(samples: Samples, handler: str, queue: str, outcome: str) -> float:
    key = (
        "hexbus_handler_runs_total",
        (("handler", handler), ("outcome", outcome), ("queue", queue)),
    )
    return samples.get(key, 0.0)


def done_pids(client: redis.Redis, namespace: str) -> set[int]:
    return {
        int(raw.decode().split("|")[1]) for raw in client.lrange(f"{namespace}:test:done", 0, -1)
    }


@pytest.fixture
def wired(worker_env: dict[str, str]) -> Container:
    """A publisher and monitor built like the workers: same settings, same handlers."""
    container = create_container(worker_env)
    register(container)
    assert isinstance(container.event_bus(), DramatiqEventBus)
    return container


@attrs.frozen
class Supervised:
    process: subprocess.Popen[str]
    port: int
    output: list[str]


@pytest.fixture
def supervised(worker_env: dict[str, str], start_worker: StartWorker) -> Iterator[Supervised]:
    """``hexbus worker`` serving /metrics on a free port: two processes of one thread on
    "work", and a third for the test app's other queues."""
    port = free_port()
    worker_env.update(HEXBUS_METRICS_PORT=str(port), HEXBUS_METRICS_HOST="127.0.0.1")
    process = start_worker("work=1x2", supervise=True)
    output = _drain(process)  # a log line per step: an unread pipe would block the workers
    yield Supervised(process, port, output)
    if process.poll() is None:
        # SIGTERM, not the start_worker fixture's SIGKILL: only a living supervisor stops its
        # children, which would otherwise outlive a failed test.
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)


@pytest.mark.redis
@pytest.mark.slow
def test_the_supervisor_serves_the_summed_metrics_of_its_worker_processes(
    wired: Container, client: redis.Redis, namespace: str, supervised: Supervised
) -> None:
    supervisor, port, output = supervised.process, supervised.port, supervised.output
    wait_for(lambda: _answers(port), timeout=20, what=f"/metrics to answer: {output[-20:]}")
    # Once every process has declared its routes, the delayed job below is routed (and
    # counted as scheduled on its queues) rather than held as unrouted.
    wait_for_routes(client, namespace, {spec.name for spec in wired.processor()})

    bus = wired.event_bus()
    jobs = 24
    for index in range(jobs):
        bus.publish(Job(label=f"job-{index}", seconds=0.05, clinic_id=f"c{index}"))
    bus.publish(Job(label="flaky", fail_times=1, clinic_id="flaky"))
    bus.publish(Job(label="doomed", permanent=True, clinic_id="doomed"))
    bus.publish(Job(label="later", clinic_id="later"), delay=timedelta(hours=1))

    wait_for(
        lambda: runs(scrape(port), "it.work", "work", "succeeded") == jobs + 1,
        timeout=40,
        what="every it.work success to be counted",
    )
    assert len(done_pids(client, namespace)) == 2, "both work processes handled events"
    monitor = wired.redis_monitor()
    wait_for(
        lambda: all(s.waiting == 0 and s.running == 0 for s in monitor.queue_stats()),
        timeout=30,
        what="the queues to drain",
    )

    expected = {
        ("it.work", "work", "retried"): 1,
        ("it.work", "work", "failed"): 1,
        ("it.work", "work", "dead"): 1,
        ("it.urgent", "work", "succeeded"): jobs + 2,
        ("it.limited", "limited", "succeeded"): jobs + 2,
        ("it.slow", "slow", "succeeded"): jobs + 2,
    }
    # A run is settled in Redis a moment before its worker counts it: poll, do not race.
    wait_for(
        lambda: {key: runs(scrape(port), *key) for key in expected} == expected,
        timeout=10,
        what=f"the runs counted to reach {expected}",
    )
    samples = scrape(port)
    duration_count = (
        "hexbus_handler_duration_seconds_count",
        (("handler", "it.work"), ("queue", "work")),
    )
    assert samples[duration_count] == jobs + 1
    # The supervisor publishes nothing itself: publish counts live in the publishing process.
    assert not any(name == "hexbus_events_published_total" for name, _ in samples)

    stats = monitor.queue_stats()
    assert samples[("hexbus_monitor_up", ())] == 1
    assert any(s.dead for s in stats)
    assert any(s.scheduled for s in stats)
    for queue in stats:
        labels = (("queue", queue.queue),)
        assert samples[("hexbus_queue_waiting", labels)] == queue.waiting
        assert samples[("hexbus_queue_scheduled", labels)] == queue.scheduled
        assert samples[("hexbus_queue_running", labels)] == queue.running
        assert samples[("hexbus_queue_dead", labels)] == queue.dead

    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(timeout=30) == 0
    assert not _answers(port), "the endpoint stopped with the supervisor"


def _drain(process: subprocess.Popen[str]) -> list[str]:
    """Read the process's output on a thread, keeping the lines for failure messages."""
    lines: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        with contextlib.suppress(ValueError):  # closed by the fixture's teardown
            for line in process.stdout:
                lines.append(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


def _answers(port: int) -> bool:
    try:
        scrape(port)
    except OSError:
        return False
    return True


# --- the webhook ----------------------------------------------------------------------------


class Receiver(http.server.ThreadingHTTPServer):
    """A webhook receiver on loopback that answers with the statuses it is given, in order."""

    def __init__(self, *statuses: int, delay: float = 0.0) -> None:
        self.statuses = list(statuses)
        self.delay = delay
        self.bodies: list[dict[str, object]] = []
        self.content_types: list[str] = []
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/T0/SECRET-TOKEN"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.server.bodies.append(json.loads(self.rfile.read(length)))
        self.server.content_types.append(self.headers["Content-Type"])
        if self.server.delay:
            time.sleep(self.server.delay)
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[Receiver]:
    statuses, delay = getattr(request, "param", ((), 0.0))
    server = Receiver(*statuses, delay=delay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


ALERT = Alert(
    kind=AlertKind.DEAD_LETTER,
    severity=Severity.ERROR,
    title="Event dead-lettered by payments.capture",
    detail="payment.succeeded 1234 on queue payment: retries_exhausted",
    at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    labels={"queue": "payment", "handler": "payments.capture"},
)


@pytest.mark.parametrize("receiver", [((503, 500), 0.0)], indirect=True)
def test_the_webhook_alerter_retries_a_failing_receiver_until_it_takes_the_alert(
    receiver: Receiver,
) -> None:
    WebhookAlerter(receiver.url, timeout=2, attempts=3, backoff=0.01).send(ALERT)
    assert len(receiver.bodies) == 3
    assert receiver.content_types[-1] == "application/json"
    body = receiver.bodies[-1]
    assert body["title"] == "Event dead-lettered by payments.capture"
    assert body["kind"] == "dead_letter"
    assert body["labels"] == {"queue": "payment", "handler": "payments.capture"}
    assert body["at"] == "2026-03-02T09:00:00+00:00"


@pytest.mark.parametrize("receiver", [((), 1.0)], indirect=True)
def test_the_webhook_alerter_gives_up_on_a_receiver_that_does_not_answer_in_time(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    started = time.monotonic()
    WebhookAlerter(receiver.url, timeout=0.2, attempts=2, backoff=0.01).send(ALERT)
    assert time.monotonic() - started < 2, "bounded by timeout x attempts, not the receiver"
    assert len(receiver.bodies) == 2
    (record,) = [r for r in caplog.records if r.name == "hexbus.alerts"]
    assert record.levelno == logging.ERROR
    assert "ReadTimeout" in record.getMessage()
    assert "SECRET-TOKEN" not in caplog.text

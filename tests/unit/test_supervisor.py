"""The supervisor's fault handling with tiny real processes (``sh``, ``python -c``), no Redis.

The whole ``hexbus worker`` under SIGKILL and crash loops is in tests/faults/.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from hexbus.adapters.dramatiq.supervisor import CrashLoop, ProcessSpec, Supervisor, parent_is
from hexbus.adapters.observability.alerters import RecordingAlerter
from hexbus.ports.alerts import AlertKind, Severity

CRASHING = ProcessSpec(
    "payment#1",
    ("sh", "-c", "echo 'starting up' >&2; echo 'RuntimeError: cannot log in to Redis' >&2; exit 3"),
)


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


class Running:
    """A supervisor running in a thread, with what it reported."""

    def __init__(self, supervisor: Supervisor, lines: list[str]) -> None:
        self.supervisor = supervisor
        self.lines = lines
        self.thread = threading.Thread(
            target=supervisor.run, kwargs={"install_signal_handlers": False}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.supervisor.stop()
        self.thread.join(timeout=10)


@pytest.fixture
def supervise() -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def start(spec: ProcessSpec, **options: object) -> Running:
        lines: list[str] = []
        options.setdefault("first_backoff", timedelta(milliseconds=20))
        options.setdefault("max_backoff", timedelta(milliseconds=50))
        supervisor = Supervisor([spec], report=lines.append, **options)  # type: ignore[arg-type]
        running = Running(supervisor, lines)
        started.append(running)
        return running

    yield start
    for running in started:
        running.close()


def test_a_crash_loop_is_reported_once_per_period_with_its_last_error(
    supervise: Callable[..., Running],
) -> None:
    alerter, stderr = RecordingAlerter(), io.BytesIO()
    running = supervise(
        CRASHING,
        crash_loop=CrashLoop(exits=3, window=timedelta(minutes=1), report_every=timedelta(hours=1)),
        alerter=alerter,
        stderr=stderr,
    )

    wait_until(lambda: running.supervisor.restarts["payment#1"] >= 5)
    running.close()

    print(f"restarts: {running.supervisor.restarts}, alerts: {len(alerter.alerts)}")
    assert len(alerter.alerts) == 1, "once per period, however long the loop goes on"
    alert = alerter.alerts[0]
    assert alert.kind is AlertKind.CRASH_LOOP
    assert alert.severity is Severity.CRITICAL
    assert alert.labels["process"] == "payment#1"
    assert "exit status 3" in alert.detail
    assert "RuntimeError: cannot log in to Redis" in alert.detail
    reports = [line for line in running.lines if "CRASH LOOP" in line]
    assert len(reports) == 1
    assert "payment#1 exited 3 times" in reports[0]
    assert "RuntimeError: cannot log in to Redis" in reports[0]
    assert b"cannot log in to Redis" in stderr.getvalue(), "the child's stderr is passed on"


def test_a_crash_loop_that_goes_on_is_reported_again_after_the_period(
    supervise: Callable[..., Running],
) -> None:
    alerter = RecordingAlerter()
    supervise(
        CRASHING,
        crash_loop=CrashLoop(
            exits=2, window=timedelta(minutes=1), report_every=timedelta(milliseconds=300)
        ),
        alerter=alerter,
        stderr=io.BytesIO(),
    )

    wait_until(lambda: len(alerter.alerts) >= 2)
    assert alerter.alerts[1].at >= alerter.alerts[0].at


def test_exits_spread_wider_than_the_window_are_no_crash_loop(
    supervise: Callable[..., Running],
) -> None:
    alerter = RecordingAlerter()
    running = supervise(
        CRASHING,
        first_backoff=timedelta(milliseconds=150),
        max_backoff=timedelta(milliseconds=150),
        crash_loop=CrashLoop(exits=3, window=timedelta(milliseconds=200)),
        alerter=alerter,
        stderr=io.BytesIO(),
    )

    wait_until(lambda: running.supervisor.restarts["payment#1"] >= 4)
    assert alerter.alerts == []


def test_without_output_the_exit_status_is_the_last_error(
    supervise: Callable[..., Running],
) -> None:
    alerter = RecordingAlerter()
    supervise(
        ProcessSpec("quiet#1", ("sh", "-c", "kill -9 $$")),
        crash_loop=CrashLoop(exits=2),
        alerter=alerter,
        stderr=io.BytesIO(),
    )

    wait_until(lambda: bool(alerter.alerts))
    assert alerter.alerts[0].detail.endswith("Last error: SIGKILL")


ORPHAN = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", '''
import os, time
from hexbus.adapters.dramatiq.supervisor import die_with_parent, parent_is
parent = os.getppid()
print("armed" if die_with_parent() else "unarmed", flush=True)
while parent_is(parent):
    time.sleep(0.05)
print("orphaned", flush=True)
time.sleep(60)
'''])
print(child.pid, flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_death_signal_stops_a_child_when_its_parent_is_killed() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", ORPHAN], stdout=subprocess.PIPE, text=True, bufsize=1
    )
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert parent.stdout.readline().strip() == "armed"
        assert _alive(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=5)
        wait_until(lambda: not _alive(child), timeout=5)
    finally:
        if parent.poll() is None:
            parent.kill()
        parent.wait()
        if parent.stdout:
            parent.stdout.close()


def test_parent_is_tells_an_orphan() -> None:
    assert parent_is(os.getppid())
    assert not parent_is(os.getppid() + 1_000_000)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (an unreaped zombie does not count)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False

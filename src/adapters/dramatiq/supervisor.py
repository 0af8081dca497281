"""Keeps worker processes running: starts them, restarts the ones that die, stops them all.

Dramatiq's own CLI shuts every worker down when one dies; a payment queue must not stop
because a notification handler crashed its process. Here a process that exits unexpectedly is
started again after a backoff that grows while it keeps dying (1 s, 2 s, ... 30 s) and resets
once it has lived a minute. SIGTERM or SIGINT is passed on as SIGTERM, so each worker finishes
the handlers it is running; whatever is still alive after the shutdown timeout is killed, and
its messages are recovered by the other workers' heartbeat check (ADR 0007).
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from types import FrameType

import attrs

log = logging.getLogger("hexbus.supervisor")


@attrs.frozen
class ProcessSpec:
    """One process to keep running."""

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str] | None = None


@attrs.define
class _Slot:
    spec: ProcessSpec
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None
    restarts: int = 0


Report = Callable[[str], None]


class Supervisor:
    """Runs ``specs`` until asked to stop; restarts processes that exit on their own."""

    def __init__(
        self,
        specs: Sequence[ProcessSpec],
        *,
        shutdown_timeout: timedelta = timedelta(seconds=30),
        max_backoff: timedelta = timedelta(seconds=30),
        healthy_after: timedelta = timedelta(seconds=60),
        report: Report | None = None,
    ) -> None:
        if not specs:
            raise ValueError("nothing to supervise")
        self._slots = [_Slot(spec) for spec in specs]
        self._shutdown_timeout = shutdown_timeout.total_seconds()
        self._max_backoff = max_backoff.total_seconds()
        self._healthy_after = healthy_after.total_seconds()
        self._report = report or log.info
        self._stop = threading.Event()

    @property
    def restarts(self) -> dict[str, int]:
        """How many times each process was restarted."""
        return {slot.spec.name: slot.restarts for slot in self._slots}

    def stop(self) -> None:
        """Ask the run loop to stop (what SIGTERM does)."""
        self._stop.set()

    def run(self, *, install_signal_handlers: bool = True) -> int:
        """Start everything, supervise until stopped, stop everything; returns an exit code."""
        if install_signal_handlers:
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, self._on_signal)
        for slot in self._slots:
            self._start(slot)
        while not self._stop.wait(0.2):
            self._check()
        return self._shutdown()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._report(f"received {signal.Signals(signum).name}: stopping workers gracefully")
        self._stop.set()

    def _start(self, slot: _Slot) -> None:
        env = dict(slot.spec.env) if slot.spec.env is not None else None
        slot.process = subprocess.Popen(slot.spec.argv, env=env)
        slot.started_at = time.monotonic()
        slot.restart_at = None
        self._report(f"started {slot.spec.name} (pid {slot.process.pid})")

    def _check(self) -> None:
        now = time.monotonic()
        for slot in self._slots:
            if slot.restart_at is not None:
                if now >= slot.restart_at:
                    slot.restarts += 1
                    self._start(slot)
                continue
            if slot.process is None or slot.process.poll() is None:
                continue
            code = slot.process.returncode
            lived = now - slot.started_at
            slot.failures = 1 if lived >= self._healthy_after else slot.failures + 1
            backoff = min(2 ** (slot.failures - 1), self._max_backoff)
            slot.restart_at = now + backoff
            self._report(
                f"{slot.spec.name} (pid {slot.process.pid}) exited with {_describe(code)} "
                f"after {lived:.1f}s; restarting in {backoff:g}s"
            )

    def _shutdown(self) -> int:
        alive = [s.process for s in self._slots if s.process and s.process.poll() is None]
        for process in alive:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self._shutdown_timeout
        for process in alive:
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                self._report(f"pid {process.pid} still running after the shutdown timeout: killed")
                process.kill()
                process.wait()
        self._report("all workers stopped")
        return 0


def _describe(code: int) -> str:
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"exit status {code}"

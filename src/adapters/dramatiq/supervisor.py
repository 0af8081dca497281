"""Keeps worker processes running: starts them, restarts the ones that die, stops them all.

Dramatiq's own CLI shuts every worker down when one dies; a payment queue must not stop
because a notification handler crashed its process. Here a process that exits unexpectedly is
started again after a backoff that grows while it keeps dying (1 s, 2 s, ... 30 s) and resets
once it has lived a minute. SIGTERM or SIGINT is passed on as SIGTERM, so each worker finishes
the handlers it is running; whatever is still alive after the shutdown timeout is killed, and
its messages are recovered by the other workers' heartbeat check (ADR 0007).

Two faults a restart loop alone hides:

* **The supervisor dies** (SIGKILL, OOM): its children must not live on, orphaned, consuming
  beside the children of the next supervisor. Each child calls :func:`die_with_parent` first
  thing (Linux's parent-death signal: SIGTERM when the supervisor dies) and also checks
  :func:`parent_is` every second (the portable fallback, and the cover for a supervisor that
  died before the child asked), and then stops as on SIGTERM.
* **A child crash-loops** (a bad deploy, a Redis it cannot log in to): restarting it every 30 s
  forever is not news to anyone. A child that exits ``CrashLoop.exits`` times within
  ``CrashLoop.window`` is reported, at most once per ``CrashLoop.report_every``, as a log line
  and an alert with its last exit status and the tail of its stderr (which the supervisor
  reads through a pipe and passes on to its own stderr, line by line).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import IO

import attrs

from ...ports.alerts import Alert, Alerter, AlertKind, Severity

log = logging.getLogger("hexbus.supervisor")

PR_SET_PDEATHSIG = 1
"""``prctl`` option: the signal this process gets when the thread that forked it exits."""
STDERR_TAIL_LINES = 40
"""Lines of a child's stderr kept for its crash report."""
STDERR_REPORT_LINES = 5
STDERR_TAIL_CHARS = 1500
_BOX = ("│", "╭", "╰", "─")


def die_with_parent(signum: int = signal.SIGTERM) -> bool:
    """Ask the kernel to send ``signum`` to this process when its parent dies.

    Linux only (``prctl(PR_SET_PDEATHSIG)`` through ctypes); returns whether it was armed. The
    signal comes when the parent *thread* that started this process exits: the supervisor
    starts its children from its main thread, whose end is the process's. A parent that died
    before this call sends nothing: check :func:`parent_is` after it.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def parent_is(pid: int) -> bool:
    """Whether this process's parent is still ``pid`` (an orphan is adopted by another)."""
    return os.getppid() == pid


@attrs.frozen
class ProcessSpec:
    """One process to keep running."""

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str] | None = None


@attrs.frozen(kw_only=True)
class CrashLoop:
    """When a process that keeps dying is worth telling someone about, and how often."""

    exits: int = 5
    """Exits within ``window`` that make a crash loop."""
    window: timedelta = timedelta(minutes=5)
    report_every: timedelta = timedelta(minutes=5)
    """At most one report per process in this period, however long the loop goes on."""


@attrs.define
class _Slot:
    spec: ProcessSpec
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None
    restarts: int = 0
    exits: deque[float] = attrs.field(factory=deque)
    reported_at: float | None = None
    stderr_tail: deque[str] = attrs.field(factory=lambda: deque(maxlen=STDERR_TAIL_LINES))
    reader: threading.Thread | None = None


Report = Callable[[str], None]


class Supervisor:
    """Runs ``specs`` until asked to stop; restarts processes that exit on their own.

    With ``capture_stderr`` (the default) each child's stderr is a pipe that the supervisor
    copies to ``stderr`` (its own, by default) line by line, keeping the last lines for crash
    reports. Crash loops go to ``report`` and, given one, to ``alerter``.
    """

    def __init__(
        self,
        specs: Sequence[ProcessSpec],
        *,
        shutdown_timeout: timedelta = timedelta(seconds=30),
        max_backoff: timedelta = timedelta(seconds=30),
        first_backoff: timedelta = timedelta(seconds=1),
        healthy_after: timedelta = timedelta(seconds=60),
        report: Report | None = None,
        crash_loop: CrashLoop | None = None,
        alerter: Alerter | None = None,
        capture_stderr: bool = True,
        stderr: IO[bytes] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not specs:
            raise ValueError("nothing to supervise")
        self._slots = [_Slot(spec) for spec in specs]
        self._shutdown_timeout = shutdown_timeout.total_seconds()
        self._max_backoff = max_backoff.total_seconds()
        self._first_backoff = first_backoff.total_seconds()
        self._healthy_after = healthy_after.total_seconds()
        self._report = report or log.info
        self._crash_loop = crash_loop or CrashLoop()
        self._alerter = alerter
        self._capture = capture_stderr
        self._stderr = stderr
        self._now = now
        self._stop = threading.Event()
        self._write_lock = threading.Lock()

    @property
    def restarts(self) -> dict[str, int]:
        """How many times each process was restarted."""
        return {slot.spec.name: slot.restarts for slot in self._slots}

    @property
    def pids(self) -> dict[str, int | None]:
        """Each process's pid while it runs (None while it waits to be restarted)."""
        return {
            slot.spec.name: slot.process.pid
            if slot.process is not None and slot.process.poll() is None
            else None
            for slot in self._slots
        }

    def stop(self) -> None:
        """Ask the run loop to stop (what SIGTERM does)."""
        self._stop.set()

    def run(self, *, install_signal_handlers: bool = True) -> int:
        """Start everything, supervise until stopped, stop everything; returns an exit code.

        Call it from the main thread: a child's parent-death signal fires when the thread
        that started it exits.
        """
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
        slot.process = subprocess.Popen(
            slot.spec.argv, env=env, stderr=subprocess.PIPE if self._capture else None
        )
        slot.started_at = time.monotonic()
        slot.restart_at = None
        slot.stderr_tail.clear()
        if slot.process.stderr is not None:
            slot.reader = threading.Thread(
                target=self._pass_on,
                args=(slot.process.stderr, slot.stderr_tail),
                name=f"stderr-{slot.spec.name}",
                daemon=True,
            )
            slot.reader.start()
        self._report(f"started {slot.spec.name} (pid {slot.process.pid})")

    def _pass_on(self, pipe: IO[bytes], tail: deque[str]) -> None:
        """Copy a child's stderr to ours, keeping its last lines."""
        sink = self._stderr or getattr(sys.stderr, "buffer", None)
        with contextlib.closing(pipe):
            for line in iter(pipe.readline, b""):
                tail.append(line.decode("utf-8", "replace").rstrip())
                if sink is None:
                    continue
                with self._write_lock, contextlib.suppress(OSError, ValueError):
                    sink.write(line)
                    sink.flush()

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
            backoff = min(self._first_backoff * 2 ** (slot.failures - 1), self._max_backoff)
            slot.restart_at = now + backoff
            self._report(
                f"{slot.spec.name} (pid {slot.process.pid}) exited with {_describe(code)} "
                f"after {lived:.1f}s; restarting in {backoff:g}s"
            )
            self._note_exit(slot, code, now)

    def _note_exit(self, slot: _Slot, code: int, now: float) -> None:
        """Count the exit; report a crash loop once per period while it lasts."""
        loop = self._crash_loop
        slot.exits.append(now)
        window = loop.window.total_seconds()
        while slot.exits and slot.exits[0] < now - window:
            slot.exits.popleft()
        if len(slot.exits) < loop.exits:
            return
        if (
            slot.reported_at is not None
            and now - slot.reported_at < loop.report_every.total_seconds()
        ):
            return
        slot.reported_at = now
        if slot.reader is not None:
            slot.reader.join(timeout=1.0)  # the last lines it wrote before exiting
        last_error = _last_error(code, slot.stderr_tail)
        span = now - slot.exits[0]
        self._report(
            f"CRASH LOOP: {slot.spec.name} exited {len(slot.exits)} times in {span:.0f}s "
            f"(threshold {loop.exits} in {window:g}s); last error: {last_error}"
        )
        log.error(
            "worker process %s is crash-looping: %d exits in %.0fs; last error: %s",
            slot.spec.name,
            len(slot.exits),
            span,
            last_error,
            extra={"worker_process": slot.spec.name, "exits": len(slot.exits)},
        )
        if self._alerter is not None:
            self._alerter.send(
                Alert(
                    kind=AlertKind.CRASH_LOOP,
                    severity=Severity.CRITICAL,
                    title=f"worker process {slot.spec.name} is crash-looping",
                    detail=(
                        f"exited {len(slot.exits)} times in {span:.0f}s; it is restarted with "
                        f"a backoff of up to {self._max_backoff:g}s, and its queues are served "
                        f"only by their other processes, if any. Last error: {last_error}"
                    ),
                    at=self._now(),
                    labels={"process": slot.spec.name, "exits": len(slot.exits)},
                )
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
        for slot in self._slots:
            if slot.reader is not None:
                slot.reader.join(timeout=1.0)
        self._report("all workers stopped")
        return 0


def _last_error(code: int, tail: deque[str]) -> str:
    """The exit status, and the last stderr lines (a traceback's end says the most)."""
    lines = [line.strip() for line in tail if line.strip()]
    # A rich traceback's frame boxes say little in one line; its last line is the error.
    plain = [line for line in lines if not line.startswith(_BOX)] or lines
    text = " | ".join(plain[-STDERR_REPORT_LINES:])
    if len(text) > STDERR_TAIL_CHARS:
        text = "..." + text[-STDERR_TAIL_CHARS:]
    return _describe(code) + (f"; stderr: {text}" if text else "")


def _describe(code: int) -> str:
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"exit status {code}"

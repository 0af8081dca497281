"""Per-handler timeouts for handlers running in a worker process's threads.

A watchdog thread raises an exception inside a handler's thread once its deadline passes
(Dramatiq's own mechanism, ``raise_thread_exception``). Unlike Dramatiq's TimeLimit middleware
it is armed around the handler call only, never around hexbus's bookkeeping, checks every
50 ms rather than every second, and needs no ``process_boot`` signal.

Like every such mechanism it interrupts Python code, not a blocking system call: handlers
should give their own I/O a timeout too.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from dramatiq.threading import raise_thread_exception

from ...domain.errors import HandlerTimeout


class DeadlineExceeded(BaseException):
    """Raised inside the handler's thread. A BaseException, so a handler's ``except
    Exception`` cannot swallow it; turned into :class:`HandlerTimeout` at the boundary."""


class Watchdog:
    """Arms deadlines for threads and interrupts those that overrun."""

    def __init__(self, interval: timedelta = timedelta(milliseconds=50)) -> None:
        self._interval = interval.total_seconds()
        self._deadlines: dict[int, tuple[int, float]] = {}
        self._tokens = itertools.count()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="hexbus-watchdog", daemon=True)
        self._thread.start()

    def guard(
        self, handler: Callable[[Any], object], timeout: timedelta
    ) -> Callable[[Any], object]:
        """``handler`` wrapped so that it raises :class:`HandlerTimeout` after ``timeout``."""
        seconds = timeout.total_seconds()

        def guarded(event: Any) -> object:
            token = self._arm(seconds)
            try:
                return handler(event)
            except DeadlineExceeded:
                raise HandlerTimeout(f"handler ran over its timeout of {seconds:g}s") from None
            finally:
                self._disarm(token)

        return guarded

    def stop(self) -> None:
        """Stop watching (tests and shutdown)."""
        self._stopped.set()

    def _arm(self, seconds: float) -> int:
        token = next(self._tokens)
        with self._lock:
            self._deadlines[threading.get_ident()] = (token, time.monotonic() + seconds)
        return token

    def _disarm(self, token: int) -> None:
        with self._lock:
            current = self._deadlines.get(threading.get_ident())
            if current is not None and current[0] == token:
                del self._deadlines[threading.get_ident()]

    def _watch(self) -> None:
        while not self._stopped.wait(self._interval):
            now = time.monotonic()
            with self._lock:
                late = [tid for tid, (_, deadline) in self._deadlines.items() if deadline <= now]
                for thread_id in late:
                    del self._deadlines[thread_id]
                    raise_thread_exception(thread_id, DeadlineExceeded)  # type: ignore[no-untyped-call]

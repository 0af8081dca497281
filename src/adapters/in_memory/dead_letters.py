"""Dead letters kept in process memory."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

from ...domain.errors import DeadLetterNotFound, DeadLetterNotRetryable
from ...ports.clock import Clock
from ...ports.dead_letters import DeadLetter, DeadLetterPage, Progress

Redeliver = Callable[[DeadLetter], None]


class InMemoryDeadLetters:
    """The :class:`DeadLetters` port in memory, newest first, dropped after ``retention``.

    Retrying hands the dead letter to ``redeliver`` (the bus) and removes it only once the
    bus has taken it back, so a retry that fails to start loses nothing.
    """

    def __init__(self, clock: Clock, redeliver: Redeliver, *, retention: timedelta) -> None:
        self._clock = clock
        self._redeliver = redeliver
        self._retention = retention
        self._items: dict[str, DeadLetter] = {}
        self._lock = threading.RLock()

    def add(self, dead_letter: DeadLetter) -> None:
        """Keep a new dead letter."""
        with self._lock:
            self._expire()
            self._items[dead_letter.id] = dead_letter

    def list(self, *, offset: int = 0, limit: int = 50) -> DeadLetterPage:
        """Newest first."""
        if offset < 0 or limit < 1:
            raise ValueError("offset must be >= 0 and limit >= 1")
        with self._lock:
            self._expire()
            newest_first = list(reversed(self._items.values()))
        return DeadLetterPage(
            items=tuple(newest_first[offset : offset + limit]),
            total=len(newest_first),
            offset=offset,
            limit=limit,
        )

    def get(self, dead_letter_id: str) -> DeadLetter:
        """One dead letter, or :class:`DeadLetterNotFound`."""
        with self._lock:
            try:
                return self._items[dead_letter_id]
            except KeyError:
                raise DeadLetterNotFound(dead_letter_id) from None

    def count(self) -> int:
        """How many are kept."""
        with self._lock:
            self._expire()
            return len(self._items)

    def count_by_queue(self) -> dict[str, int]:
        """How many per queue (for stats: no copy of the list)."""
        counts: dict[str, int] = {}
        with self._lock:
            self._expire()
            for dead_letter in self._items.values():
                counts[dead_letter.queue] = counts.get(dead_letter.queue, 0) + 1
        return counts

    def retry(self, dead_letter_id: str) -> None:
        """Deliver again to its handler, then forget it."""
        with self._lock:
            dead_letter = self.get(dead_letter_id)
            if dead_letter.handler is None or dead_letter.event_id is None:
                raise DeadLetterNotRetryable(
                    f"dead letter {dead_letter_id} ({dead_letter.reason.value}) names no handler "
                    "to deliver to; inspect and remove it"
                )
            del self._items[dead_letter_id]
        try:
            self._redeliver(dead_letter)
        except BaseException:
            with self._lock:
                self._items.setdefault(dead_letter_id, dead_letter)
            raise

    def retry_all(self, progress: Progress | None = None) -> int:
        """Retry every retryable dead letter, oldest first; returns how many."""
        with self._lock:
            ids = [d.id for d in self._items.values() if d.handler is not None and d.event_id]
        for done, dead_letter_id in enumerate(ids, start=1):
            self.retry(dead_letter_id)
            if progress is not None:
                progress(done, len(ids))
        return len(ids)

    def remove(self, dead_letter_id: str) -> None:
        """Forget it for good."""
        with self._lock:
            if self._items.pop(dead_letter_id, None) is None:
                raise DeadLetterNotFound(dead_letter_id)

    def _expire(self) -> None:
        horizon = self._clock.now() - self._retention
        stale = [key for key, d in self._items.items() if d.failed_at < horizon]
        for key in stale:
            del self._items[key]

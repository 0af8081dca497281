"""Group commit: the writes many worker threads need at once, made in one round trip.

A worker thread that records its handler's success must not go on before Redis has it (the
ack is the success record, ADR 0003), so it waits for the round trip. Sixteen threads finishing
no-op handlers each paid one: a script call through redis-py costs more of the worker's CPU
than the handler (bench/RESULTS.md). Here each thread still waits for its own write, but the
writes submitted while one call is on the wire go together in the next call, made by one of
the waiting threads (the leader); nothing is deferred, and a write never waits for a batch to
fill: a thread alone makes its call at once, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")

MAX_BATCH: int = 128
"""The most writes one call carries (a bound on the script's KEYS and ARGV)."""


class Interrupted(Exception):
    """The thread making a batch's call was interrupted (a timeout landing late, a signal):
    whether Redis ran the call is unknown, so each write is treated as a failed round trip."""


class _Slot(Generic[Item]):
    """One submitted write; its thread sleeps on ``wake`` (held until it is woken: when its
    write is done, or when it is the next to make a call)."""

    __slots__ = ("done", "error", "item", "wake")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.done = False
        self.error: BaseException | None = None
        self.wake = threading.Lock()
        self.wake.acquire()


class GroupCommit(Generic[Item]):
    """Runs ``call`` for the items threads :meth:`submit` while an earlier call is running.

    ``call`` gets up to :data:`MAX_BATCH` items and returns, for each in order, ``None`` when
    it was written or the exception its submitter must raise; an exception ``call`` raises is
    every item's.

    Each waiting thread sleeps on its own lock, and the leader wakes exactly the threads of
    its batch, then hands the lead to the oldest write still waiting: a condition's
    ``notify_all`` would wake every waiter after each call, most of them to sleep again (with
    16 threads that cost more than the call, see bench/RESULTS.md).
    """

    def __init__(
        self,
        call: Callable[[Sequence[Item]], Sequence[BaseException | None]],
        max_batch: int = MAX_BATCH,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._call = call
        self._max_batch = max_batch
        self._pending: list[_Slot[Item]] = []
        self._busy = False
        self._lock = threading.Lock()

    def submit(self, item: Item) -> None:
        """Write ``item`` (with whatever else is waiting) and return once it is written, or
        raise what its write came to."""
        slot = _Slot(item)
        with self._lock:
            self._pending.append(slot)
            lead = not self._busy
            self._busy = True
        if not lead:
            slot.wake.acquire()  # done by another's call, or handed the lead
        if not slot.done:
            self._lead()  # our slot is the oldest pending: it is in this call
        if slot.error is not None:
            raise slot.error

    def _lead(self) -> None:
        with self._lock:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
        try:
            self._run(batch)
        finally:
            with self._lock:
                successor = self._pending[0] if self._pending else None
                self._busy = successor is not None
            for other in batch[1:]:  # the first is the leader's own
                other.wake.release()
            if successor is not None:
                successor.wake.release()

    def _run(self, batch: list[_Slot[Item]]) -> None:
        """Make one call for ``batch``; every slot ends done, with its error if any."""
        own: BaseException | None = None
        try:
            errors: Sequence[BaseException | None] = self._call([s.item for s in batch])
            if len(errors) != len(batch):
                raise RuntimeError(f"{len(batch)} writes made but {len(errors)} answered")
        except Exception as error:
            errors = [error] * len(batch)
        except BaseException as error:
            # Interrupted in the leader's thread: that is the leader's to raise; the others
            # did not get it, and take it as a failed round trip.
            own = error
            errors = [Interrupted(f"recording was interrupted: {error!r}")] * len(batch)
        for slot, answer in zip(batch, errors, strict=True):
            slot.error = answer
            slot.done = True
        if own is not None:
            raise own

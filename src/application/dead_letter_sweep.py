"""Dead letters at scale: find them by queue, handler, error type and time window, and retry
or remove those that match, a batch at a time, with a count first.

Written once over the :class:`DeadLetters` port, so both buses sweep the same way. Matching
reads the dead letters page by page (newest first, :data:`PAGE` at a time): the cost of a
count or a sweep grows with the dead letters there are, not with the events on the bus, and
a sweep never holds more than one page and the matching ids in memory (ADR 0024).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from enum import Enum
from typing import Final
from uuid import UUID

import attrs

from ..domain.errors import DeadLetterNotFound, DeadLetterNotRetryable
from ..ports.dead_letters import DeadLetter, DeadLetters

PAGE: Final = 500


class SweepAction(Enum):
    """What a sweep does with each matching dead letter."""

    RETRY = "retry"
    REMOVE = "remove"


@attrs.frozen(kw_only=True)
class DeadLetterFilter:
    """Which dead letters a sweep takes; a field left None takes all.

    ``error_type`` matches the full name (``builtins.RuntimeError``) or the class name alone
    (``RuntimeError``); ``since`` and ``until`` bound the failure time, both inclusive (a
    window whose start is after its end takes nothing).
    """

    queue: str | None = None
    handler: str | None = None
    error_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    event_id: UUID | None = None

    def keeps(self, letter: DeadLetter) -> bool:
        """Whether ``letter`` passes every field that is set."""
        if self.queue is not None and letter.queue.split(".", 1)[0] != self.queue.split(".", 1)[0]:
            return False
        if self.handler is not None and letter.handler != self.handler:
            return False
        if self.event_id is not None and letter.event_id != self.event_id:
            return False
        if self.error_type is not None and self.error_type not in (
            letter.error_type,
            letter.error_type.rsplit(".", 1)[-1],
        ):
            return False
        if self.since is not None and letter.failed_at < self.since:
            return False
        return self.until is None or letter.failed_at <= self.until

    @property
    def empty(self) -> bool:
        """True when it takes every dead letter."""
        return self == DeadLetterFilter()


@attrs.frozen(kw_only=True)
class SweepResult:
    """What one sweep call did: ``done`` of ``matched``; ``skipped`` could not be retried
    (undecodable, or gone meanwhile); ``remaining`` match and were not tried yet."""

    matched: int
    done: int
    skipped: int
    remaining: int


class DeadLetterSweep:
    """Counts, lists and sweeps the dead letters a :class:`DeadLetterFilter` takes."""

    def __init__(self, dead_letters: DeadLetters) -> None:
        self._dead_letters = dead_letters

    def matching(self, where: DeadLetterFilter) -> Iterator[DeadLetter]:
        """Every matching dead letter, newest first."""
        offset = 0
        while True:
            page = self._dead_letters.list(offset=offset, limit=PAGE)
            yield from (letter for letter in page.items if where.keeps(letter))
            offset += len(page.items)
            if not page.items or offset >= page.total:
                return

    def count(self, where: DeadLetterFilter) -> int:
        """How many match now: the dry run before a sweep."""
        return sum(1 for _ in self.matching(where))

    def page(
        self, where: DeadLetterFilter, *, offset: int, limit: int
    ) -> tuple[list[DeadLetter], int]:
        """The matching dead letters ``offset`` to ``offset + limit``, and how many match."""
        found = list(self.matching(where))
        return found[offset : offset + limit], len(found)

    def sweep(
        self,
        where: DeadLetterFilter,
        action: SweepAction,
        *,
        batch_size: int,
        batches: int | None = None,
        skip: int = 0,
        progress: Callable[[int, int], None] | None = None,
    ) -> SweepResult:
        """Retry or remove the matching dead letters, ``batch_size`` at a time, oldest first,
        for at most ``batches`` batches (None: until none is left); ``progress(done, matched)``
        after each batch. A dead letter that cannot be retried (undecodable, no handler) is
        skipped and stays; one gone meanwhile (another operator) is skipped too. ``skip``
        passes over the oldest matches first: a caller sweeping one batch per call passes the
        skipped count of the calls before, so the ones that stay are not tried again."""
        if batch_size < 1 or skip < 0:
            raise ValueError("batch_size must be at least 1 and skip at least 0")
        ids = [letter.id for letter in self.matching(where)]
        ids.reverse()  # oldest first, as retry-all does
        matched = len(ids)
        ids = ids[skip:]
        limit = len(ids) if batches is None else min(len(ids), batches * batch_size)
        done = skipped = 0
        for start in range(0, limit, batch_size):
            for dead_letter_id in ids[start : min(start + batch_size, limit)]:
                try:
                    if action is SweepAction.RETRY:
                        self._dead_letters.retry(dead_letter_id)
                    else:
                        self._dead_letters.remove(dead_letter_id)
                    done += 1
                except (DeadLetterNotFound, DeadLetterNotRetryable):
                    skipped += 1
            if progress is not None:
                progress(done + skipped, matched)
        remaining = len(ids) - done - skipped
        return SweepResult(matched=matched, done=done, skipped=skipped, remaining=remaining)

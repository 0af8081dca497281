"""The mover: due schedule entries into their queues, woken at the next due time (ADR 0019).

Polling the schedule every 50 ms made a timed event wait 0-50 ms for nothing (25 ms on
average) and cost every worker process 20 script calls a second while idle. Instead,
``move_due.lua`` answers with the due time of the earliest entry it leaves, and the mover
sleeps until exactly then. What it cannot see from there is an entry added later with an
earlier due time: the scripts that add entries (``publish_later.lua``, ``defer.lua``,
``reschedule.lua``) publish its due time on the ``{ns}:schedule:wake`` channel when it becomes
the earliest, and every mover listens there. So a mover's idea of the next due time is never
later than the schedule's:

* after a move it is the schedule's own answer;
* an entry that becomes the earliest announces itself, and the announcement is read after
  the move that preceded it (Redis runs the scripts one at a time);
* removals (cancel, another mover taking entries) only make the real next due time later: a
  mover woken early finds nothing, learns the new next due time, and sleeps again.

Pub/sub delivers only to listeners connected at the time, so a mover moves first thing after
every (re)subscription, which covers whatever it missed while away. ``wait_limit``
(``MaintenanceTimings.move_interval``) bounds each sleep all the same, a safety net that costs
one script call a second.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from datetime import timedelta
from typing import Any

import redis
from redis.client import PubSub

from ...ports.clock import Clock
from .keys import RedisKeys
from .millis import epoch_ms
from .scripts import Scripts

log = logging.getLogger("hexbus.maintenance")
_STOP_CHECK = 0.25  # seconds: how soon a sleeping mover notices it is to stop
_RECONNECT = 0.5  # seconds between two tries after Redis failed the mover
MOVE_RETRY_MS = 60_000
"""How long a due entry waits before it is tried again when a key of its queue holds the wrong
type (``move_due.lua``), so it neither blocks the entries after it nor is lost."""


class DueMover:
    """Moves due entries (``move_due.lua``), in batches, and sleeps until the next is due."""

    def __init__(
        self,
        client: redis.Redis,
        keys: RedisKeys,
        scripts: Scripts,
        *,
        args: list[str | int],
        batch: int,
        clock: Clock,
        wait_limit: timedelta,
    ) -> None:
        self._client = client
        self._keys = keys
        self._scripts = scripts
        self._args = args
        self._batch = batch
        self._clock = clock
        self._wait_limit_ms = max(int(wait_limit.total_seconds() * 1000), 1)

    def move_due(self) -> tuple[int, int | None]:
        """Move every due entry; returns how many, and the due time (ms) of the earliest
        entry left, or None when the schedule is empty."""
        moved = 0
        while True:
            reply: list[Any] = self._scripts.move_due(
                keys=[self._keys.schedule, self._keys.schedule_items, self._keys.routes],
                args=[self._now_ms(), self._batch, *self._args],
            )
            count, head, problems = int(reply[0]), reply[1], reply[2:]
            for problem in problems:
                text = problem.decode("utf-8", "backslashreplace")
                log.error("cannot move %s; tried again in %ds", text, MOVE_RETRY_MS // 1000)
            moved += count - len(problems)
            if count < self._batch:
                return moved, int(float(head)) if head else None

    def run(self, stopped: threading.Event) -> None:
        """Move at each due time until ``stopped`` is set."""
        listener: PubSub | None = None
        next_due: int | None = None
        try:
            while not stopped.is_set():
                try:
                    if listener is None:
                        listener = self._listen()
                        next_due = self._now_ms()  # whatever was announced before we listened
                    if next_due is not None and next_due <= self._now_ms():
                        moved, next_due = self.move_due()
                        if moved:
                            log.debug("moved %d due entr(ies)", moved)
                    next_due = self._sleep(listener, next_due, stopped)
                except redis.RedisError as error:
                    log.warning("maintenance step move_due failed: %s", error)
                    _close(listener)
                    listener = None
                    stopped.wait(min(self._wait_limit_ms / 1000, _RECONNECT))
        finally:
            _close(listener)

    def _listen(self) -> PubSub:
        # redis-py annotates pubsub() from 8.2 on; before, it is an untyped call.
        listener: PubSub = self._client.pubsub(  # type: ignore[no-untyped-call, unused-ignore]
            ignore_subscribe_messages=True
        )
        listener.subscribe(self._keys.schedule_wake)
        return listener

    def _sleep(self, listener: PubSub, next_due: int | None, stopped: threading.Event) -> int:
        """Wait for the next due time or an announcement of an earlier one, whichever comes
        first; returns the due time to move at next. Due times are the clock's; the wait
        itself is measured on the monotonic clock, so it ends even if the clock stands still."""
        now = self._now_ms()
        until = now + self._wait_limit_ms
        if next_due is not None:
            until = min(until, next_due)
        deadline = time.monotonic() + (until - now) / 1000
        while (left := deadline - time.monotonic()) > 0 and not stopped.is_set():
            message = listener.get_message(timeout=min(left, _STOP_CHECK))
            if message is None or message.get("type") != "message":
                continue
            try:
                announced = int(message["data"])
            except (TypeError, ValueError):
                continue  # not ours: nothing on this channel is worth crashing the mover
            if announced < until:
                deadline -= (until - announced) / 1000
                until = announced
        return until

    def _now_ms(self) -> int:
        return epoch_ms(self._clock.now())


def _close(listener: PubSub | None) -> None:
    if listener is not None:
        with contextlib.suppress(redis.RedisError):  # the connection is already gone
            listener.close()

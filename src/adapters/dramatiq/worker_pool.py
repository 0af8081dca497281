"""hexbus's worker threads: a free thread fetches for the free threads and runs what it took.

Dramatiq's Worker puts a consumer thread per queue between Redis and the worker threads: it
fetches, decodes each body into a Dramatiq message and puts it on a priority queue, a worker
thread takes it from there, runs the middleware around the actor and hands it back for
acking. hexbus needs none of that (one actor, its own fetch, settlement and timeouts), and the
hand-overs and the serial consumer cost a third of a worker's CPU per message (ADR 0019). So a
process runs ``threads`` threads and no consumer: an idle thread that finds nothing fetched
becomes the fetcher (one at a time), fetches as many messages as the process has idle threads
across its queues, starts them all in one round trip, keeps the first and leaves the rest to
the idle threads it wakes. When the queues are empty the fetcher blocks on their doorbells, so
a message published to an idle queue runs on the thread that was waiting for it.

Never more is taken than there are free threads, so nothing waits in this process behind a
busy handler while another process of the same group is idle, and every message fetched is
started at once (its status says running, its start is counted) as each thread starting its
own would. A thread is free once its handler has returned: under load it fetches for the free
threads before it waits for its success record, so a message fetched then may wait for that
round trip (:meth:`WorkerPool._handler_returned`).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import timedelta

import redis

from ...ports.clock import Clock
from .broker import HexbusRedisBroker
from .connection import TRANSIENT
from .deliveries import Fetched
from .fetcher import QueueFetcher
from .handler_returns import HandlerReturns
from .millis import epoch_ms
from .settlement import Settlement
from .timeouts import DeadlineExceeded

log = logging.getLogger("hexbus.worker")

RECONNECT_DELAY: float = 1.0
"""Seconds the fetcher waits after Redis was unreachable before it fetches again."""


class WorkerPool:
    """``threads`` threads running the messages of ``fetchers``' queues with ``deliver``.

    ``handler_returns`` is the settlement's hook (:mod:`.handler_returns`): a thread whose
    handler returned and that now waits for its success record counts as free, and while the
    queues have more than the last fetch asked for, it fetches for the free threads before it
    waits, so that the next messages are fetched and started while the record is on the wire.
    """

    def __init__(
        self,
        *,
        broker: HexbusRedisBroker,
        settlement: Settlement,
        fetchers: Sequence[QueueFetcher],
        deliver: Callable[[Fetched], None],
        clock: Clock,
        threads: int,
        idle_timeout: timedelta,
        handler_returns: HandlerReturns | None = None,
    ) -> None:
        self._broker = broker
        self._settlement = settlement
        self._fetchers = list(fetchers)
        self._by_queue = {fetcher.queue: fetcher for fetcher in self._fetchers}
        self._wake_keys = [fetcher.wake_key for fetcher in self._fetchers]
        self._deliver = deliver
        self._clock = clock
        self._size = threads
        self._idle = max(idle_timeout.total_seconds(), 0.1)
        self._ready: collections.deque[Fetched] = collections.deque()
        self._changed = threading.Condition()
        self._fetching = False
        # Messages fetched whose thread has not yet freed itself (waiting in ``_ready``, or
        # their handler running): a fetch asks for ``threads`` minus these.
        self._occupied = 0
        self._backlog = False  # the last fetch got all it asked for: the queues have more
        self._running = False
        self._stopping = threading.Event()
        self._mine = threading.local()  # per thread: whether its message freed it already
        self._first = 0  # the queue the next fetch starts with: each gets its turn first
        self._threads: list[threading.Thread] = []
        if handler_returns is not None:
            handler_returns.listen(self._handler_returned)

    def start(self) -> None:
        """Start the threads."""
        self._running = True
        for n in range(self._size):
            thread = threading.Thread(target=self._run, name=f"hexbus-worker-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: timedelta) -> None:
        """Let each thread finish the message it runs (all within ``timeout``), then release
        what was fetched and not yet taken by a thread: the caller's reconcile gives it back."""
        with self._changed:
            self._running = False
            self._changed.notify_all()
        self._stopping.set()
        deadline = time.monotonic() + timeout.total_seconds()
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0.0))
        alive = [thread.name for thread in self._threads if thread.is_alive()]
        if alive:
            # Their messages stay in flight: recovery returns them once the heartbeat stops.
            log.warning(
                "%d worker thread(s) still busy after the %gs shutdown timeout: %s",
                len(alive),
                timeout.total_seconds(),
                ", ".join(alive),
            )
        with self._changed:
            left, self._ready = list(self._ready), collections.deque()
        for item in left:
            self._by_queue[item.queue].held.discard(item.redis_id)
            self._settlement.forget(item.redis_id)

    # --- one thread ------------------------------------------------------------------------

    def _run(self) -> None:
        self._mine.freed = True
        while self._running:
            try:
                item = self._take()
                if item is not None:
                    self._run_one(item)
            except DeadlineExceeded:  # a handler's timeout that landed as it returned
                continue
            except BaseException:
                # Deliverer settled (or put back) the message before raising: log, go on,
                # as a thread that dies would shrink the pool for good.
                log.exception("a worker thread caught an error; it goes on")
                self._stopping.wait(0.1)

    def _run_one(self, item: Fetched) -> None:
        self._mine.freed = False
        try:
            self._deliver(item)
        finally:
            self._by_queue[item.queue].held.discard(item.redis_id)

    def _take(self) -> Fetched | None:
        """A message for this thread: one fetched already, or one it fetches itself (when no
        other thread is fetching); None when there is none yet."""
        with self._changed:
            self._free_mine()
            while True:
                if not self._running:
                    return None
                if self._ready:
                    return self._ready.popleft()
                if not self._fetching:
                    self._fetching = True
                    break
                self._changed.wait(self._idle)
        taken: list[Fetched] = []
        try:
            taken = self._fetch_or_wait()
        finally:
            self._fetched(taken, keep=1)
        return taken[0] if taken else None

    def _handler_returned(self) -> None:
        """The settlement's hook, on a thread whose handler returned: it is free from now on,
        and with a backlog it fetches for the free threads before it waits for its record."""
        if not hasattr(self._mine, "freed"):
            return  # not one of our threads
        with self._changed:
            self._free_mine()
            if not self._backlog or self._fetching or self._ready or not self._running:
                return
            self._fetching = True
        taken: list[Fetched] = []
        try:
            taken = self._fetch_only()
        finally:
            self._fetched(taken, keep=0)

    def _free_mine(self) -> None:
        """(Under the lock.) This thread's message no longer occupies it."""
        if not self._mine.freed:
            self._mine.freed = True
            self._occupied -= 1

    def _fetched(self, taken: list[Fetched], *, keep: int) -> None:
        """End a fetch: the first ``keep`` messages are this thread's, the rest wait for the
        free threads, each woken, and one more to fetch next if it is idle."""
        with self._changed:
            self._fetching = False
            self._occupied += len(taken)
            self._ready.extend(taken[keep:])
            self._changed.notify(len(taken) - keep + 1)

    # --- the fetcher -----------------------------------------------------------------------

    def _fetch_or_wait(self) -> list[Fetched]:
        """What the queues give for the free threads, started; when they gave nothing, wait
        for a doorbell first (and return nothing: the caller tries again)."""
        try:
            room = self._size - self._occupied
            taken, any_item = self._fetch(room)
            if not taken and not any_item:
                taken = self._wait_then_fetch(room)
            if taken:
                self._settlement.start_all(taken)
            return taken
        except TRANSIENT as error:
            log.error("Redis is unreachable (%s); fetching again in %gs", error, RECONNECT_DELAY)
            self._lost_connection()
            self._stopping.wait(RECONNECT_DELAY)
            return []

    def _fetch_only(self) -> list[Fetched]:
        """:meth:`_fetch_or_wait` for a thread about to wait for its success record: it never
        waits here, and leaves an error to the threads that fetch next (it is theirs to wait
        out) rather than delay the record."""
        try:
            taken, _ = self._fetch(self._size - self._occupied)
            if taken:
                self._settlement.start_all(taken)
            return taken
        except Exception as error:  # never the success record's failure: it is not ours
            log.debug("fetching ahead failed (%r); the next fetch tries again", error)
            if isinstance(error, TRANSIENT):
                self._lost_connection()
            return []

    def _lost_connection(self) -> None:
        self._backlog = False
        for fetcher in self._fetchers:
            fetcher.lost_connection()

    def _fetch(self, room: int) -> tuple[list[Fetched], bool]:
        """Up to ``room`` messages, from each queue in turn; and whether any queue gave an
        item at all (every item of a fetch may have been refused: no reason to wait then)."""
        taken: list[Fetched] = []
        any_item = False
        now_ms = self._now_ms()
        count = len(self._fetchers)
        for n in range(count):
            if room - len(taken) <= 0:
                break
            fetcher = self._fetchers[(self._first + n) % count]
            try:
                got, items = fetcher.fetch(room - len(taken), now_ms)
            except redis.ResponseError as error:
                # A key of this queue holds the wrong type (the scripts check before writing,
                # so nothing was taken): this queue waits, reported; the others go on.
                self._broker.report_broken(fetcher.queue, error)
                continue
            any_item = any_item or items > 0
            taken += got
        self._first = (self._first + 1) % count
        self._backlog = room > 0 and len(taken) >= room
        return taken, any_item

    def _wait_then_fetch(self, room: int) -> list[Fetched]:
        """Block on the doorbells until a message is published (or ``idle_timeout``) rather
        than poll. A process serving one queue has its fetch pipelined behind the wait, so
        Redis runs it the moment the doorbell rings, and the message reaches its thread a
        round trip sooner; with several queues the rung doorbell decides which to fetch, and
        the caller fetches them all next."""
        fetcher = self._fetchers[0] if len(self._fetchers) == 1 else None
        if fetcher is not None:
            try:
                fetcher.prepare()
            except redis.ResponseError as error:  # its acks set holds the wrong type
                self._broker.report_broken(fetcher.queue, error)
                fetcher = None  # wait, then the caller tries again
        pipe = self._broker.client.pipeline(transaction=False)
        pipe.blpop(self._wake_keys, timeout=self._idle)
        if fetcher is not None:
            fetcher.call(room, self._now_ms(), client=pipe)
        woke, *fetched = pipe.execute(raise_on_error=False)
        if isinstance(woke, redis.ResponseError):  # a doorbell of the wrong type
            self._broker.report_broken(" or ".join(self._wake_keys), woke)
            self._stopping.wait(self._idle)
        if fetcher is None:
            return []
        (flat,) = fetched
        if isinstance(flat, redis.exceptions.NoScriptError):
            return []  # Redis lost its scripts (a restart): the next fetch loads fetch.lua
        if isinstance(flat, redis.ResponseError):
            # A key of the queue holds the wrong type (nothing was taken): reported, waits.
            self._broker.report_broken(fetcher.queue, flat)
            return []
        taken, _ = fetcher.read(flat)
        self._backlog = room > 0 and len(taken) >= room
        return taken

    def _now_ms(self) -> int:
        return epoch_ms(self._clock.now())

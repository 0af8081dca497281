"""The event loop ``async def`` handlers run on, one per process, on a thread of its own.

Handlers are called by synchronous dispatchers (Dramatiq's worker threads, the in-memory
bus's publisher), so a coroutine handler needs a loop that is already running somewhere: this
module keeps one on a daemon thread (ADR 0023). A worker thread that gets a coroutine hands it
over with :meth:`EventLoopThread.run` and waits; the loop runs every such coroutine of the
process side by side, so a hundred handlers awaiting I/O cost a hundred tasks, not a hundred
busy threads.

* **Context variables cross over.** ``asyncio.run_coroutine_threadsafe`` would run the task in
  the loop thread's context; here the caller's context is copied where the call is made and
  the task is created in it (``create_task(..., context=...)``), so whatever the dispatcher
  set (a handler context, a correlation id) is what the coroutine sees.
* **Timeouts cancel.** A handler's timeout is an ``asyncio.timeout`` around it: on expiry the
  task is cancelled at its next ``await`` and the attempt fails with
  :class:`~hexbus.HandlerTimeout`. A coroutine that blocks without awaiting cannot be
  cancelled, and it blocks every other coroutine of the process: in debug mode
  (``HEXBUS_ASYNC_DEBUG``) asyncio logs each callback that holds the loop longer than
  ``HEXBUS_ASYNC_SLOW_CALLBACK`` (logger ``asyncio``, "Executing ... took N seconds").
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any, Generic, TypeVar

from ..domain.errors import HandlerTimeout

T = TypeVar("T")

INTERRUPT_CHECK = 0.1
"""Seconds a waiting worker thread sleeps between checks for an interruption (shutdown)."""
SLOW_CALLBACK = timedelta(milliseconds=100)
"""asyncio's own default: a callback holding the loop longer is logged in debug mode."""


class Handover(Generic[T]):
    """A coroutine handed to a loop on another thread: its outcome, and a way to call it off.

    Both :meth:`start` and the cancellation run on the loop's thread, in the order they were
    asked for, so a call-off that comes first keeps the task from ever starting.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.outcome: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._loop = loop
        self._task: asyncio.Task[T] | None = None
        self._called_off = False

    def start(
        self,
        coroutine: Coroutine[Any, Any, T],
        timeout: timedelta | None,
        context: contextvars.Context,
    ) -> None:
        """Create the task in ``context`` (on the loop's thread)."""
        if self._called_off or not self.outcome.set_running_or_notify_cancel():
            coroutine.close()
            return
        # Named after the handler's coroutine: debug mode's slow-callback line names the task.
        name = f"hexbus-handler:{getattr(coroutine, '__qualname__', 'coroutine')}"
        task = self._loop.create_task(bounded(coroutine, timeout), name=name, context=context)
        task.add_done_callback(lambda done: _copy_outcome(done, self.outcome))
        self._task = task

    def cancel(self) -> None:
        """Cancel the task (or keep it from starting): for a caller that stops waiting."""
        self._loop.call_soon_threadsafe(self._cancel_on_loop)

    def _cancel_on_loop(self) -> None:
        self._called_off = True
        if self._task is not None:
            self._task.cancel()


def start_task(
    loop: asyncio.AbstractEventLoop,
    coroutine: Coroutine[Any, Any, T],
    *,
    timeout: timedelta | None = None,
    context: contextvars.Context | None = None,
) -> Handover[T]:
    """Start ``coroutine`` on ``loop`` (running on another thread) in ``context`` (default:
    a copy of the caller's), bounded by ``timeout``; the handover has its outcome."""
    context = context if context is not None else contextvars.copy_context()
    handover: Handover[T] = Handover(loop)
    try:
        loop.call_soon_threadsafe(handover.start, coroutine, timeout, context)
    except RuntimeError:  # the loop is closed: the process is stopping
        coroutine.close()
        raise
    return handover


async def bounded(coroutine: Coroutine[Any, Any, T], timeout: timedelta | None) -> T:
    """``await coroutine``, cancelled past ``timeout`` with :class:`HandlerTimeout`."""
    if timeout is None:
        return await coroutine
    seconds = timeout.total_seconds()
    limit = asyncio.timeout(seconds)
    try:
        async with limit:
            return await coroutine
    except TimeoutError:
        if limit.expired():
            raise HandlerTimeout(f"handler ran over its timeout of {seconds:g}s") from None
        raise  # the handler's own TimeoutError, not ours


def _copy_outcome(task: asyncio.Task[T], outcome: concurrent.futures.Future[T]) -> None:
    if task.cancelled():
        outcome.set_exception(concurrent.futures.CancelledError("the handler was cancelled"))
        return
    error = task.exception()
    if error is not None:
        outcome.set_exception(error)
    else:
        outcome.set_result(task.result())


class EventLoopThread:
    """An asyncio loop on a daemon thread, started on first use: a :class:`CoroutineRunner`.

    ``debug`` turns on asyncio's debug mode, whose slow-callback log is how a blocking call
    inside an ``async def`` handler shows up (``slow_callback``: how long counts as slow).
    """

    def __init__(
        self,
        *,
        debug: bool = False,
        slow_callback: timedelta = SLOW_CALLBACK,
        name: str = "hexbus-event-loop",
    ) -> None:
        self.debug = debug
        self.slow_callback = slow_callback
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop (started now if it was not)."""
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                loop.set_debug(self.debug)
                loop.slow_callback_duration = self.slow_callback.total_seconds()
                ready = threading.Event()
                thread = threading.Thread(
                    target=self._serve, args=(loop, ready), name=self._name, daemon=True
                )
                thread.start()
                ready.wait()
                self._loop, self._thread = loop, thread
            return self._loop

    def submit(
        self, coroutine: Coroutine[Any, Any, T], timeout: timedelta | None = None
    ) -> concurrent.futures.Future[T]:
        """Start ``coroutine`` on the loop in a copy of the caller's context."""
        return start_task(self.loop, coroutine, timeout=timeout).outcome

    def run(self, coroutine: Coroutine[Any, Any, object], timeout: timedelta | None) -> object:
        """Run ``coroutine`` on the loop and wait for it (the :class:`CoroutineRunner` port).

        Should the waiting thread be interrupted (a shutdown's exception raised in it), the
        task is cancelled rather than left running unobserved.
        """
        if self._on_loop_thread():
            coroutine.close()
            raise RuntimeError(
                "a coroutine handler cannot be awaited from its own event loop's thread"
            )
        handover = start_task(self.loop, coroutine, timeout=timeout)
        try:
            # In short waits, as Dramatiq's own loop thread does: an exception raised in this
            # thread from outside is only delivered when it runs Python code.
            while not concurrent.futures.wait([handover.outcome], INTERRUPT_CHECK).done:
                pass
            return handover.outcome.result()
        except BaseException:
            if not handover.outcome.done():
                handover.cancel()
            raise

    def stop(self, timeout: timedelta = timedelta(seconds=5)) -> None:
        """Stop the loop once what is running on it has had ``timeout`` to finish."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout.total_seconds())
        if not thread.is_alive():
            loop.close()

    def _on_loop_thread(self) -> bool:
        return self._thread is not None and threading.current_thread() is self._thread

    @staticmethod
    def _serve(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        loop.run_forever()

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
from typing import Any, TypeVar

from ..domain.errors import HandlerTimeout

T = TypeVar("T")

SLOW_CALLBACK = timedelta(milliseconds=100)
"""asyncio's own default: a callback holding the loop longer is logged in debug mode."""


def start_task(
    loop: asyncio.AbstractEventLoop,
    coroutine: Coroutine[Any, Any, T],
    *,
    timeout: timedelta | None = None,
    context: contextvars.Context | None = None,
) -> concurrent.futures.Future[T]:
    """Start ``coroutine`` on ``loop`` (running on another thread) in ``context`` (default:
    a copy of the caller's), bounded by ``timeout``; the future has its outcome."""
    context = context if context is not None else contextvars.copy_context()
    outcome: concurrent.futures.Future[T] = concurrent.futures.Future()

    def start() -> None:
        if not outcome.set_running_or_notify_cancel():
            coroutine.close()
            return
        # Named after the handler's coroutine: debug mode's slow-callback line names the task.
        name = f"hexbus-handler:{getattr(coroutine, '__qualname__', 'coroutine')}"
        task = loop.create_task(bounded(coroutine, timeout), name=name, context=context)
        task.add_done_callback(lambda done: _copy_outcome(done, outcome))

    try:
        loop.call_soon_threadsafe(start)
    except RuntimeError:  # the loop is closed: the process is stopping
        coroutine.close()
        raise
    return outcome


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
        return start_task(self.loop, coroutine, timeout=timeout)

    def run(self, coroutine: Coroutine[Any, Any, object], timeout: timedelta | None) -> object:
        """Run ``coroutine`` on the loop and wait for it (the :class:`CoroutineRunner` port)."""
        if self._on_loop_thread():
            coroutine.close()
            raise RuntimeError(
                "a coroutine handler cannot be awaited from its own event loop's thread"
            )
        return self.submit(coroutine, timeout).result()

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

"""How the in-memory bus runs ``async def`` handlers: on the publisher's loop, re-entrantly.

The in-memory bus dispatches in the publisher's thread, holding its lock (ADR 0004). A
coroutine handler runs on an event loop, while the dispatching thread waits for it:

* **which loop**: the loop of whoever awaited :class:`~.async_event_bus.AsyncInMemoryEventBus`
  (set in :data:`CALLER_LOOP` for the dispatch), so a handler shares its publisher's loop as
  in a single-process async app; from plain synchronous code, a process-wide loop thread;
* **re-entry**: a coroutine handler that publishes (through either bus) runs on the loop's
  thread, not the one holding the bus's lock. While it waits, the dispatching thread serves
  such calls (:class:`Dispatcher`): the nested publish is queued by the dispatching thread
  itself, breadth-first, exactly as a plain handler's nested publish is.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import queue
import threading
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any, Final, TypeVar

from ..event_loop import EventLoopThread, start_task

T = TypeVar("T")

CALLER_LOOP: Final[contextvars.ContextVar[asyncio.AbstractEventLoop | None]] = (
    contextvars.ContextVar("hexbus_in_memory_caller_loop", default=None)
)
"""The loop that awaited the async in-memory bus, for the dispatch it started."""

_DISPATCHER: Final[contextvars.ContextVar[Dispatcher | None]] = contextvars.ContextVar(
    "hexbus_in_memory_dispatcher", default=None
)


class Dispatcher:
    """The thread dispatching a coroutine handler, serving the calls the coroutine makes back
    into the bus until the coroutine is done."""

    def __init__(self) -> None:
        self.thread = threading.current_thread()
        self._calls: queue.SimpleQueue[
            tuple[Callable[[], Any], concurrent.futures.Future[Any]] | None
        ] = queue.SimpleQueue()

    def call(self, function: Callable[[], T]) -> T:
        """Run ``function`` on the dispatching thread and wait for it (from the loop)."""
        answer: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._calls.put((function, answer))
        return answer.result()

    def wait(self, outcome: concurrent.futures.Future[T]) -> T:
        """Serve calls until ``outcome`` is set, then return it (on the dispatching thread)."""
        outcome.add_done_callback(lambda _: self._calls.put(None))
        while (item := self._calls.get()) is not None:
            function, answer = item
            try:
                answer.set_result(function())
            except BaseException as error:  # handed back to the caller, raised there
                answer.set_exception(error)
        return outcome.result()


def handed_back() -> Dispatcher | None:
    """The dispatcher to hand a bus call to: set when the caller is a coroutine handler
    running off the dispatching thread, None otherwise (call the bus directly)."""
    dispatcher = _DISPATCHER.get()
    if dispatcher is None or dispatcher.thread is threading.current_thread():
        return None
    return dispatcher


class InMemoryCoroutines:
    """The in-memory bus's :class:`~hexbus.ports.coroutines.CoroutineRunner`."""

    def __init__(self, fallback: EventLoopThread | None = None) -> None:
        self._fallback = fallback or EventLoopThread(name="hexbus-in-memory-loop")

    def run(self, coroutine: Coroutine[Any, Any, object], timeout: timedelta | None) -> object:
        """Run ``coroutine`` on the caller's loop (or the fallback's) while serving re-entry."""
        loop = CALLER_LOOP.get() or self._fallback.loop
        dispatcher = Dispatcher()
        context = contextvars.copy_context()
        context.run(_DISPATCHER.set, dispatcher)
        handover = start_task(loop, coroutine, timeout=timeout, context=context)
        return dispatcher.wait(handover.outcome)

    def stop(self) -> None:
        """Stop the fallback loop, if it was started."""
        self._fallback.stop()

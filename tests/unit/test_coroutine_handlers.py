"""``async def`` handlers: registered like plain ones, run on an event loop, context carried,
timeouts by cancellation, blocking calls reported in debug mode (ADR 0023)."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import time
from datetime import timedelta

import pytest

from hexbus import DomainEventsProcessor, HandlerTimeout, PublishOutcome
from hexbus.adapters.clocks import VirtualClock
from hexbus.adapters.event_loop import EventLoopThread
from hexbus.adapters.in_memory import AsyncInMemoryEventBus, InMemoryEventBus
from hexbus.container import create_container
from hexbus.testing import ContractEvent, OtherContractEvent

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


@pytest.fixture
def loop_thread() -> EventLoopThread:
    return EventLoopThread()


def test_the_decorator_registers_an_async_def_handler_with_its_options() -> None:
    processor = DomainEventsProcessor()

    @processor.handler(ContractEvent, name="async.notify", queue="notification", timeout=5)
    async def notify(event: ContractEvent) -> None:
        await asyncio.sleep(0)

    spec = processor.get("async.notify")
    assert spec.handler is notify
    assert spec.queue == "notification"
    assert spec.timeout == timedelta(seconds=5)


def test_an_async_handler_and_a_sync_handler_both_run_on_the_sync_in_memory_bus() -> None:
    processor = DomainEventsProcessor()
    bus = InMemoryEventBus(processor, clock=VirtualClock())
    ran: list[str] = []

    async def on_loop(event: ContractEvent) -> None:
        await asyncio.sleep(0)
        ran.append(f"async:{threading.current_thread().name}")

    def on_thread(event: ContractEvent) -> None:
        ran.append(f"sync:{threading.current_thread().name}")

    processor.register_handler(ContractEvent, on_loop, name="mixed.async")
    processor.register_handler(ContractEvent, on_thread, name="mixed.sync")

    event = ContractEvent(value=1)
    bus.publish(event)

    assert ran == ["async:hexbus-in-memory-loop", f"sync:{threading.current_thread().name}"]
    assert bus.succeeded("mixed.async") == [event.event_id]
    assert bus.succeeded("mixed.sync") == [event.event_id]


def test_the_async_in_memory_bus_runs_async_handlers_on_the_publishers_loop() -> None:
    processor = DomainEventsProcessor()
    bus = AsyncInMemoryEventBus(InMemoryEventBus(processor, clock=VirtualClock()))
    loops: list[asyncio.AbstractEventLoop] = []

    async def handler(event: ContractEvent) -> None:
        loops.append(asyncio.get_running_loop())

    processor.register_handler(ContractEvent, handler, name="loop.probe")

    async def publish() -> asyncio.AbstractEventLoop:
        await bus.publish(ContractEvent(value=1))
        return asyncio.get_running_loop()

    assert loops == [asyncio.run(publish())]


def test_context_variables_of_the_publisher_reach_async_and_sync_handlers() -> None:
    processor = DomainEventsProcessor()
    bus = AsyncInMemoryEventBus(InMemoryEventBus(processor, clock=VirtualClock()))
    seen: list[str] = []

    async def async_handler(event: ContractEvent) -> None:
        seen.append(request_id.get())

    processor.register_handler(ContractEvent, async_handler, name="ctx.async")
    processor.register_handler(ContractEvent, lambda e: seen.append(request_id.get()), name="ctx.s")

    async def publish() -> None:
        request_id.set("req-42")
        await bus.publish(ContractEvent(value=1))

    asyncio.run(publish())
    assert seen == ["req-42", "req-42"]


def test_the_loop_thread_runs_a_coroutine_in_the_callers_context(
    loop_thread: EventLoopThread,
) -> None:
    async def read() -> str:
        return request_id.get()

    def in_a_worker_thread() -> str:
        request_id.set("from-the-worker-thread")
        return str(loop_thread.run(read(), None))

    context = contextvars.copy_context()
    try:
        assert context.run(in_a_worker_thread) == "from-the-worker-thread"
        assert request_id.get() == "none", "the caller's own context is not changed"
    finally:
        loop_thread.stop()


def test_a_coroutine_past_its_timeout_is_cancelled_and_raises_handler_timeout(
    loop_thread: EventLoopThread,
) -> None:
    cancelled = threading.Event()

    async def never_done() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    try:
        with pytest.raises(HandlerTimeout, match=r"timeout of 0\.05s"):
            loop_thread.run(never_done(), timedelta(milliseconds=50))
        assert cancelled.is_set(), "the coroutine was cancelled, not abandoned"
    finally:
        loop_thread.stop()


def test_a_handlers_own_timeout_error_is_not_mistaken_for_its_timeout(
    loop_thread: EventLoopThread,
) -> None:
    async def times_out_itself() -> None:
        raise TimeoutError("the provider did not answer")

    try:
        with pytest.raises(TimeoutError, match="provider"):
            loop_thread.run(times_out_itself(), timedelta(seconds=30))
    finally:
        loop_thread.stop()


def test_a_blocking_call_in_an_async_handler_is_logged_in_debug_mode(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop_thread = EventLoopThread(debug=True, slow_callback=timedelta(milliseconds=20))

    async def blocks_the_loop() -> None:
        time.sleep(0.1)  # the mistake debug mode is there to show

    caplog.set_level(logging.WARNING, logger="asyncio")
    try:
        loop_thread.run(blocks_the_loop(), None)
    finally:
        loop_thread.stop()
    slow = [r for r in caplog.records if r.name == "asyncio" and "took" in r.getMessage()]
    assert slow, "asyncio's debug mode reports the callback that held the loop"
    assert "hexbus-handler:test_a_blocking_call" in slow[0].getMessage()


def test_an_async_handler_that_publishes_has_its_event_handled_after_the_current_one() -> None:
    processor = DomainEventsProcessor()
    sync_bus = InMemoryEventBus(processor, clock=VirtualClock())
    bus = AsyncInMemoryEventBus(sync_bus)
    order: list[str] = []

    async def follow_up(event: ContractEvent) -> None:
        order.append(f"first:{event.value}")
        await bus.publish(OtherContractEvent(value=event.value + 1))  # the async bus...
        sync_bus.publish(OtherContractEvent(value=event.value + 2))  # ...and the sync one
        order.append(f"first-done:{event.value}")

    async def second(event: OtherContractEvent) -> None:
        order.append(f"second:{event.value}")

    processor.register_handler(ContractEvent, follow_up, name="chain.first")
    processor.register_handler(OtherContractEvent, second, name="chain.second")

    asyncio.run(bus.publish(ContractEvent(value=1)))
    assert order == ["first:1", "first-done:1", "second:2", "second:3"]


def test_the_container_builds_an_async_bus_sharing_the_sync_buses_state() -> None:
    container = create_container(env={}, clock=VirtualClock())
    ran: list[int] = []

    async def handler(event: ContractEvent) -> None:
        ran.append(event.value)

    container.processor().register_handler(ContractEvent, handler, name="shared.handler")
    event = ContractEvent(value=3)

    async def publish_twice() -> tuple[PublishOutcome, PublishOutcome]:
        first = await container.async_event_bus().publish(event)
        second = container.event_bus().publish(event)
        return first.outcome, second.outcome

    assert asyncio.run(publish_twice()) == (PublishOutcome.ACCEPTED, PublishOutcome.DUPLICATE)
    assert ran == [3]
    assert container.async_scheduler() is container.async_event_bus()


def test_debug_mode_and_its_threshold_come_from_the_settings() -> None:
    container = create_container(
        env={"HEXBUS_ASYNC_DEBUG": "true", "HEXBUS_ASYNC_SLOW_CALLBACK": "0.25"}
    )
    loop_thread = container.event_loop()

    assert loop_thread.debug is True
    assert loop_thread.slow_callback == timedelta(seconds=0.25)
    assert create_container(env={}).event_loop().debug is False


def test_an_async_handler_without_a_coroutine_runner_fails_clearly_instead_of_not_running() -> None:
    from hexbus.adapters.clocks import SystemClock  # noqa: PLC0415
    from hexbus.application.delivery import AttemptOutcome, HandlerRunner  # noqa: PLC0415
    from hexbus.application.observers import NullObserver  # noqa: PLC0415
    from hexbus.ports.handlers import HandlerSpec, RetryPolicy  # noqa: PLC0415

    class Ledger:
        def begin(self) -> bool:
            return False

        def succeeded(self, elapsed: timedelta) -> None:
            raise AssertionError("an unawaited coroutine must not count as a success")

    async def handler(event: ContractEvent) -> None:
        await asyncio.sleep(0)

    spec = HandlerSpec(
        name="no.runner",
        event_type=ContractEvent.event_type,
        handler=handler,
        queue="default",
        retry=RetryPolicy(),
    )
    result = HandlerRunner(NullObserver(), SystemClock()).run(
        ContractEvent(value=1), spec, 1, Ledger()
    )

    assert result.outcome is AttemptOutcome.FAILED
    assert "without a coroutine runner" in str(result.error)


def test_a_waiting_thread_that_is_interrupted_cancels_its_coroutine(
    loop_thread: EventLoopThread,
) -> None:
    started, cancelled = threading.Event(), threading.Event()

    async def long_call() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    class Interrupted(BaseException):
        """What a shutdown raises in a worker thread."""

    def wait_then_interrupt() -> None:
        started.wait(5)
        import ctypes  # noqa: PLC0415 - how Dramatiq interrupts a worker thread

        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(waiter), ctypes.py_object(Interrupted)
        )

    waiter = threading.get_ident()
    threading.Thread(target=wait_then_interrupt, daemon=True).start()
    try:
        with pytest.raises(Interrupted):
            loop_thread.run(long_call(), None)
        assert cancelled.wait(5), "the task is cancelled, not left running unobserved"
    finally:
        loop_thread.stop()

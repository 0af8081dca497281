"""The contract for plain and ``async def`` handlers of one event (the design: "handlers may
be plain functions or ``async def``; both register the same way").

On a sync harness the plain handler runs on a thread and the coroutine on an event loop, side
by side for one event; on an async harness every handler is a coroutine already, and these
tests still hold. Either way, the two kinds keep each other's guarantees: each runs once, a
retry or a dead letter of one never touches the other, a redelivery skips both once they
succeeded.
"""

from __future__ import annotations

from .contract_setup import RUNTIME_ERROR_TYPE, only_dead_letter, register
from .events import ContractEvent
from .fakes import AlwaysFailingHandler, AsyncHandler, FailingHandler, RecordingHandler
from .harness import BusHarness


class MixedHandlersContract:
    """A plain and an ``async def`` handler registered for the same event type."""

    def test_a_plain_and_an_async_handler_of_one_event_each_get_it_once(
        self, harness: BusHarness
    ) -> None:
        plain, awaited = RecordingHandler(), RecordingHandler()
        register(harness, plain, "contract.plain")
        register(harness, AsyncHandler(awaited), "contract.awaited")
        event = ContractEvent(value=1)

        harness.bus.publish(event)
        harness.settle()

        assert plain.events == (event,)
        assert awaited.events == (event,)

    def test_an_async_handlers_retries_never_rerun_the_plain_one(self, harness: BusHarness) -> None:
        plain, flaky = RecordingHandler(), FailingHandler(failures=2)
        register(harness, plain, "contract.plain")
        register(harness, AsyncHandler(flaky), "contract.flaky_async")
        event = ContractEvent(value=1)

        harness.bus.publish(event)
        harness.settle()

        assert flaky.calls == 3
        assert flaky.succeeded == (event,)
        assert plain.calls == 1
        assert harness.dead_letters.count() == 0

    def test_an_async_handler_that_keeps_failing_is_dead_lettered_alone(
        self, harness: BusHarness
    ) -> None:
        plain, broken = RecordingHandler(), AlwaysFailingHandler()
        register(harness, plain, "contract.plain")
        register(harness, AsyncHandler(broken), "contract.broken_async")

        harness.bus.publish(ContractEvent(value=1))
        harness.settle()

        dead = only_dead_letter(harness)
        assert dead.handler == "contract.broken_async"
        assert dead.error_type == RUNTIME_ERROR_TYPE
        assert dead.attempts == 3
        assert plain.calls == 1

    def test_a_redelivery_skips_both_kinds_once_they_succeeded(self, harness: BusHarness) -> None:
        plain, awaited = RecordingHandler(), RecordingHandler()
        register(harness, plain, "contract.plain")
        register(harness, AsyncHandler(awaited), "contract.awaited")
        event = ContractEvent(value=1)
        harness.bus.publish(event)
        harness.settle()

        harness.redeliver(event)
        harness.settle()

        assert plain.calls == 1
        assert awaited.calls == 1

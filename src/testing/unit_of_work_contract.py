"""The unit of work's contract, for every store: in memory, PostgreSQL, a third party's.

Run it by providing a pytest fixture ``uow_harness`` that yields a :class:`UnitOfWorkHarness`
and subclassing :class:`UnitOfWorkContract` (see ``tests/contract``). The harness gives the
unit of work under test, an in-memory bus on virtual time it eventually publishes to (with a
recording handler registered), an inbox, and two verbs: ``write`` stores a key as state in
the open transaction and ``stored`` reads the committed keys from outside it; ``deliver``
does whatever moves committed events to the bus (nothing in memory; a relay pass on
PostgreSQL).
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Protocol

import pytest

from ..adapters.in_memory.event_bus import InMemoryEventBus
from ..adapters.in_memory.unit_of_work import InMemoryInbox, InMemoryUnitOfWork
from ..application.inbox import InboxHandler
from ..domain.errors import UnitOfWorkError
from ..ports.unit_of_work import Inbox, UnitOfWork
from .events import ContractEvent
from .fakes import RecordingHandler


class UnitOfWorkHarness(Protocol):
    """One store's unit of work, ready for :class:`UnitOfWorkContract`."""

    @property
    def unit_of_work(self) -> UnitOfWork:
        """The unit of work under test."""
        ...

    @property
    def inbox(self) -> Inbox:
        """The store's inbox, joined to :attr:`unit_of_work`."""
        ...

    @property
    def bus(self) -> InMemoryEventBus:
        """Where committed events end up (on a virtual clock)."""
        ...

    @property
    def handler(self) -> RecordingHandler:
        """Registered on :attr:`bus` for :class:`ContractEvent`."""
        ...

    def write(self, key: str) -> None:
        """Store ``key`` as state in the open transaction."""
        ...

    def stored(self) -> set[str]:
        """The keys committed so far, read from outside any transaction."""
        ...

    def deliver(self) -> None:
        """Move every committed event to the bus (a relay pass); nothing if the store
        publishes at commit."""
        ...

    def close(self) -> None:
        """Release what the harness holds."""
        ...


class UnitOfWorkContract:
    """The guarantees of :class:`~hexbus.UnitOfWork` and :class:`~hexbus.Inbox`."""

    def test_events_reach_the_bus_only_after_the_commit(
        self, uow_harness: UnitOfWorkHarness
    ) -> None:
        uow = uow_harness.unit_of_work
        event = ContractEvent(value=1)
        with uow:
            uow_harness.write("a")
            uow.publish(event)
            uow_harness.deliver()
            assert not uow_harness.handler.events
            assert uow_harness.stored() == set()
        uow_harness.deliver()

        assert uow_harness.handler.events == (event,)
        assert uow_harness.stored() == {"a"}

    def test_a_rollback_publishes_nothing_and_stores_nothing(
        self, uow_harness: UnitOfWorkHarness
    ) -> None:
        uow = uow_harness.unit_of_work

        def failing_use_case() -> None:
            with uow:
                uow_harness.write("a")
                uow.publish(ContractEvent(value=1))
                raise RuntimeError("use case failed")

        with pytest.raises(RuntimeError, match="use case failed"):
            failing_use_case()
        uow_harness.deliver()

        assert not uow_harness.handler.events
        assert uow_harness.stored() == set()

    def test_events_keep_their_order(self, uow_harness: UnitOfWorkHarness) -> None:
        uow = uow_harness.unit_of_work
        events = [ContractEvent(value=n) for n in range(5)]
        with uow:
            uow.publish(events[0])
            uow.publish_all(events[1:])
        uow_harness.deliver()

        assert uow_harness.handler.events == tuple(events)

    def test_a_delayed_event_is_held_until_its_time(self, uow_harness: UnitOfWorkHarness) -> None:
        uow = uow_harness.unit_of_work
        later = ContractEvent(value=2)
        at = ContractEvent(value=3)
        with uow:
            uow.publish(later, delay=timedelta(hours=1))
            uow.publish(at, at=uow_harness.bus.clock.now() + timedelta(hours=2))
        uow_harness.deliver()
        assert not uow_harness.handler.events

        uow_harness.bus.advance(timedelta(hours=1))
        assert list(uow_harness.handler.events) == [later]
        uow_harness.bus.advance(timedelta(hours=1))
        assert list(uow_harness.handler.events) == [later, at]

    def test_a_nested_block_joins_the_outer_transaction(
        self, uow_harness: UnitOfWorkHarness
    ) -> None:
        uow = uow_harness.unit_of_work
        event = ContractEvent(value=1)
        with uow:
            with uow:
                uow_harness.write("inner")
                uow.publish(event)
            uow_harness.deliver()
            assert not uow_harness.handler.events
            assert uow_harness.stored() == set()
        uow_harness.deliver()

        assert uow_harness.handler.events == (event,)
        assert uow_harness.stored() == {"inner"}

    def test_an_inner_failure_rolls_back_the_whole_transaction(
        self, uow_harness: UnitOfWorkHarness
    ) -> None:
        uow = uow_harness.unit_of_work

        def use_case_swallowing_a_failure() -> None:
            with uow:
                uow_harness.write("outer")
                uow.publish(ContractEvent(value=1))
                try:
                    with uow:
                        raise RuntimeError("inner step failed")
                except RuntimeError:
                    pass  # caught, but the transaction is spoiled: the outer block must not commit

        with pytest.raises(UnitOfWorkError):
            use_case_swallowing_a_failure()
        uow_harness.deliver()

        assert not uow_harness.handler.events
        assert uow_harness.stored() == set()

    def test_publishing_outside_a_block_is_refused(self, uow_harness: UnitOfWorkHarness) -> None:
        with pytest.raises(UnitOfWorkError):
            uow_harness.unit_of_work.publish(ContractEvent(value=1))
        with pytest.raises(UnitOfWorkError):
            uow_harness.unit_of_work.publish_all([ContractEvent(value=1)])

    def test_each_thread_has_its_own_transaction(self, uow_harness: UnitOfWorkHarness) -> None:
        uow = uow_harness.unit_of_work
        mine = ContractEvent(value=1)
        outcome: list[BaseException | None] = []

        def other_thread() -> None:
            try:
                uow.publish(ContractEvent(value=2))  # no block open in this thread
            except UnitOfWorkError as exc:
                outcome.append(exc)
            else:
                outcome.append(None)

        with uow:
            uow.publish(mine)
            thread = threading.Thread(target=other_thread)
            thread.start()
            thread.join()
        uow_harness.deliver()

        assert isinstance(outcome[0], UnitOfWorkError)
        assert uow_harness.handler.events == (mine,)

    def test_an_inbox_claim_commits_with_its_transaction(
        self, uow_harness: UnitOfWorkHarness
    ) -> None:
        uow, inbox = uow_harness.unit_of_work, uow_harness.inbox
        event = ContractEvent(value=1)

        def failing_handler() -> None:
            with uow:
                assert inbox.claim(event.event_id, "h")
                raise RuntimeError("handler failed")

        with pytest.raises(RuntimeError, match="handler failed"):
            failing_handler()
        with uow:
            assert inbox.claim(event.event_id, "h"), "a rolled-back claim is no claim"
        with uow:
            assert not inbox.claim(event.event_id, "h")
            assert inbox.claim(event.event_id, "another handler")

    def test_an_inbox_handler_runs_once_per_event(self, uow_harness: UnitOfWorkHarness) -> None:
        runs: list[int] = []

        def effect(event: ContractEvent) -> None:
            runs.append(event.value)
            uow_harness.write(f"effect-{event.value}")

        handler = InboxHandler(
            effect, name="contract.effect", unit_of_work=uow_harness.unit_of_work,
            inbox=uow_harness.inbox,
        )  # fmt: skip
        event = ContractEvent(value=7)
        handler(event)
        handler(event)  # a redelivery after the bus lost the success record

        assert runs == [7]
        assert uow_harness.stored() == {"effect-7"}

    def test_a_failed_inbox_handler_runs_again(self, uow_harness: UnitOfWorkHarness) -> None:
        attempts: list[int] = []

        def effect(event: ContractEvent) -> None:
            attempts.append(event.value)
            uow_harness.write(f"effect-{len(attempts)}")
            if len(attempts) == 1:
                raise RuntimeError("first attempt fails after writing")

        handler = InboxHandler(
            effect, name="contract.flaky", unit_of_work=uow_harness.unit_of_work,
            inbox=uow_harness.inbox,
        )  # fmt: skip
        event = ContractEvent(value=1)
        with pytest.raises(RuntimeError):
            handler(event)
        handler(event)

        assert attempts == [1, 1]
        assert uow_harness.stored() == {"effect-2"}


class InMemoryUnitOfWorkHarness:
    """The in-memory unit of work over an in-memory bus on virtual time.

    Its state is a set whose writes are staged until the commit, as a database's would be.
    """

    def __init__(self) -> None:
        from ..adapters.clocks import VirtualClock  # noqa: PLC0415
        from ..application.processor import DomainEventsProcessor  # noqa: PLC0415

        processor = DomainEventsProcessor()
        self.handler = RecordingHandler()
        processor.register_handler(ContractEvent, self.handler, name="contract.recorder")
        self.bus = InMemoryEventBus(processor=processor, clock=VirtualClock())
        self.unit_of_work = InMemoryUnitOfWork(self.bus)
        self.inbox: InMemoryInbox = InMemoryInbox(self.unit_of_work)
        self._stored: set[str] = set()

    def write(self, key: str) -> None:
        self.unit_of_work.on_commit(lambda: self._stored.add(key))

    def stored(self) -> set[str]:
        return set(self._stored)

    def deliver(self) -> None:
        pass

    def close(self) -> None:
        pass

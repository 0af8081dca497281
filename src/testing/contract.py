"""The event bus contract, as tests any adapter can run (the design, "the contract").

Subclass :class:`EventBusContract` in a test module and provide a ``harness`` fixture that
yields a :class:`~hexbus.testing.BusHarness` for your adapter; every test of the suite then
runs against it::

    @pytest.fixture
    def harness() -> Iterator[BusHarness]:
        h = MyAdapterHarness()
        yield h
        h.close()

    class TestMyAdapter(EventBusContract):
        pass

The tests never assume how an adapter runs work: they publish, :meth:`~BusHarness.settle`,
and count. Counts are exact, delivery order is never asserted (workers run in parallel), and
time is short (milliseconds of backoff, a second of delay) so a real-time adapter runs the
suite in seconds, while the in-memory bus runs it in virtual time.

The suite is six parts (the fifth, plain and ``async def`` handlers of one event; the sixth,
progress and log lines reported from handlers), each a class of its own, so an adapter that
keeps only part of the contract (no scheduling, say) can subclass the parts it keeps and say
so.
"""

from __future__ import annotations

from .delivery_contract import DeliveryContract
from .failure_contract import FailureContract
from .mixed_contract import MixedHandlersContract
from .reporting_contract import ReportingContract
from .routing_contract import RoutingContract
from .scheduling_contract import SchedulingContract


class EventBusContract(
    DeliveryContract,
    FailureContract,
    SchedulingContract,
    RoutingContract,
    MixedHandlersContract,
    ReportingContract,
):
    """Every guarantee of the event bus contract, one behaviour per test."""


__all__ = [
    "DeliveryContract",
    "EventBusContract",
    "FailureContract",
    "MixedHandlersContract",
    "ReportingContract",
    "RoutingContract",
    "SchedulingContract",
]

"""Test support shipped with hexbus: the adapter contract suite, its harnesses and fakes.

It ships inside the package (like pyeventsourcing's recorder test cases) so that anyone who
writes an adapter can prove it keeps hexbus's contract: provide a :class:`BusHarness` for it
as a pytest fixture named ``harness`` and subclass :class:`EventBusContract`. The in-memory
harness and the fakes are useful in application tests too.

The suite is written for pytest, which must be installed to import this package. The Redis
harness and server live in ``hexbus.testing.dramatiq_harness`` and
``hexbus.testing.redis_server`` (the async one in
``hexbus.testing.async_dramatiq_harness``), the PostgreSQL ones in
``hexbus.testing.postgres_harness`` and ``hexbus.testing.postgres_server``, imported on their
own so that this package loads no Redis and no database driver.
"""

from .async_harness import (
    AsyncBusHarness,
    AsyncHandlersProcessor,
    AsyncInMemoryHarness,
    AsyncSchedulingEventBus,
    BlockingBus,
)
from .contract import (
    DeliveryContract,
    EventBusContract,
    FailureContract,
    MixedHandlersContract,
    RoutingContract,
    SchedulingContract,
)
from .contract_setup import (
    DELAY,
    FAST_RETRY,
    QUEUE,
    RUNTIME_ERROR_TYPE,
    TIMEOUT_ERROR_TYPE,
    only_dead_letter,
    register,
    unrouted_of,
)
from .events import ContractEvent, OtherContractEvent
from .fakes import (
    AlwaysFailingHandler,
    AsyncHandler,
    FailingHandler,
    NonRetryableHandler,
    PermanentError,
    RecordingHandler,
    RejectedError,
    failure_message,
)
from .harness import BusHarness, InMemoryHarness, SchedulingEventBus
from .unit_of_work_contract import (
    InMemoryUnitOfWorkHarness,
    UnitOfWorkContract,
    UnitOfWorkHarness,
)

__all__ = [
    "DELAY",
    "FAST_RETRY",
    "QUEUE",
    "RUNTIME_ERROR_TYPE",
    "TIMEOUT_ERROR_TYPE",
    "AlwaysFailingHandler",
    "AsyncBusHarness",
    "AsyncHandler",
    "AsyncHandlersProcessor",
    "AsyncInMemoryHarness",
    "AsyncSchedulingEventBus",
    "BlockingBus",
    "BusHarness",
    "ContractEvent",
    "DeliveryContract",
    "EventBusContract",
    "FailingHandler",
    "FailureContract",
    "InMemoryHarness",
    "InMemoryUnitOfWorkHarness",
    "MixedHandlersContract",
    "NonRetryableHandler",
    "OtherContractEvent",
    "PermanentError",
    "RecordingHandler",
    "RejectedError",
    "RoutingContract",
    "SchedulingContract",
    "SchedulingEventBus",
    "UnitOfWorkContract",
    "UnitOfWorkHarness",
    "failure_message",
    "only_dead_letter",
    "register",
    "unrouted_of",
]

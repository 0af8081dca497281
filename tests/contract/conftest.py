"""The ``harness`` fixture: one :class:`~hexbus.testing.BusHarness` per adapter under test.

Every contract test runs once per entry of ``HARNESSES``. To add an adapter, add a factory
that builds its harness; it receives the pytest request, so it can ask for other fixtures
(a Redis server, say) and skip when the infrastructure is missing::

    def _dramatiq(request: pytest.FixtureRequest) -> BusHarness:
        server = request.getfixturevalue("redis_server")
        return DramatiqHarness(server.client())

    HARNESSES["dramatiq"] = _dramatiq
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from hexbus.container import Container, create_container
from hexbus.testing import (
    AsyncInMemoryHarness,
    BusHarness,
    InMemoryHarness,
    InMemoryUnitOfWorkHarness,
    UnitOfWorkHarness,
)
from hexbus.testing.async_dramatiq_harness import AsyncDramatiqHarness
from hexbus.testing.dramatiq_harness import DramatiqHarness
from hexbus.testing.postgres_server import PostgresServer
from hexbus.testing.redis_server import RedisServer

HarnessFactory = Callable[[pytest.FixtureRequest], BusHarness]


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A private redis-server for the contract run (never a shared one)."""
    with RedisServer() as server:
        yield server


def _in_memory(request: pytest.FixtureRequest) -> BusHarness:
    return InMemoryHarness()


@pytest.fixture(scope="session")
def container(redis_server: RedisServer) -> Container:
    """The composition root as a worker process builds it: its ``worker_runtime`` provider is
    what the Redis harness builds workers with, so the contract covers production's wiring."""
    return create_container({"USE_QUEUE_EVENT_BUS": "true", "REDIS_URL": redis_server.url})


def _dramatiq(request: pytest.FixtureRequest) -> BusHarness:
    server: RedisServer = request.getfixturevalue("redis_server")
    container: Container = request.getfixturevalue("container")
    return DramatiqHarness(server.client(), workers=container.worker_runtime)


def _async_in_memory(request: pytest.FixtureRequest) -> BusHarness:
    return AsyncInMemoryHarness()


def _async_dramatiq(request: pytest.FixtureRequest) -> BusHarness:
    """The async publisher on redis.asyncio, coroutine handlers on the container's workers."""
    server: RedisServer = request.getfixturevalue("redis_server")
    container: Container = request.getfixturevalue("container")
    return AsyncDramatiqHarness(server.url, workers=container.worker_runtime)


HARNESSES: dict[str, HarnessFactory] = {
    "in_memory": _in_memory,
    "dramatiq": _dramatiq,
    "async_in_memory": _async_in_memory,
    "async_dramatiq": _async_dramatiq,
}


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest) -> Iterator[BusHarness]:
    """A fresh harness for one test, closed afterwards whatever the test did."""
    built = HARNESSES[request.param](request)
    try:
        yield built
    finally:
        built.close()


# The async Redis harness runs the whole suite, as every harness does (CI included: these
# real-time waits add ~20 s). HEXBUS_QUICK_ASYNC_CONTRACT=1 skips them while iterating: they
# drive the same publish_later/cancel/reschedule scripts as the sync harness.
LONG_ASYNC_REDIS_TESTS = frozenset(
    {
        "test_reschedule_moves_a_pending_event_later",
        "test_reschedule_of_a_delivered_or_unknown_event_returns_false",
        "test_cancel_after_delivery_returns_false_and_changes_nothing",
        "test_a_delayed_event_is_held_until_its_due_time",
        "test_publish_at_a_time_holds_the_event_until_then",
        "test_a_delayed_event_from_a_publisher_without_handlers_reaches_them",
        "test_a_scheduled_event_published_again_is_a_duplicate",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.environ.get("HEXBUS_QUICK_ASYNC_CONTRACT") != "1":
        return
    skip = pytest.mark.skip(
        reason="real-time wait on the async Redis harness, skipped by HEXBUS_QUICK_ASYNC_CONTRACT=1"
    )
    for item in items:
        name = getattr(item, "originalname", item.name)
        if item.name.endswith("[async_dramatiq]") and name in LONG_ASYNC_REDIS_TESTS:
            item.add_marker(skip)


# --- the unit of work: every store --------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A private PostgreSQL cluster for the contract run (initdb in a temp dir, free port)."""
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def contract_database(postgres_server: PostgresServer) -> str:
    return postgres_server.create_database("contract")


def _in_memory_uow(request: pytest.FixtureRequest) -> UnitOfWorkHarness:
    return InMemoryUnitOfWorkHarness()


def _postgres_uow(request: pytest.FixtureRequest) -> UnitOfWorkHarness:
    from hexbus.testing.postgres_harness import PostgresUnitOfWorkHarness  # noqa: PLC0415

    return PostgresUnitOfWorkHarness(request.getfixturevalue("contract_database"))


UOW_HARNESSES: dict[str, Callable[[pytest.FixtureRequest], UnitOfWorkHarness]] = {
    "in_memory": _in_memory_uow,
    "postgres": _postgres_uow,
}


@pytest.fixture(params=sorted(UOW_HARNESSES))
def uow_harness(request: pytest.FixtureRequest) -> Iterator[UnitOfWorkHarness]:
    """A fresh unit-of-work harness for one test, closed afterwards."""
    built = UOW_HARNESSES[request.param](request)
    try:
        yield built
    finally:
        built.close()

"""The route table as a publisher sees it: parsed from Redis's reply, cached with its version,
read again only when a publish script answers "stale" (ADR 0015).

Fakes stand in for Redis: a reader that counts its reads and a publish attempt that answers
stale while the version it was given is not the current one.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from hexbus import DomainEventsProcessor, EventBusUnavailable, Priority
from hexbus.adapters.dramatiq.routes import (
    NO_VERSION,
    STALE,
    STALE_TRIES,
    Declaration,
    Route,
    RouteCache,
    RouteRecord,
    RouteTable,
    fresh,
)
from hexbus.testing import ContractEvent, OtherContractEvent

STARTED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Redis:
    """The route table's version in a fake Redis, and a counting reader of it."""

    def __init__(self, version: str = "v1") -> None:
        self.version = version
        self.reads = 0

    def read(self) -> RouteTable:
        self.reads += 1
        return RouteTable(self.version, (Route("h", "t", "q"),))

    def attempt(self, answers: list[str]) -> Callable[[RouteTable], int]:
        """A publish that answers stale unless built from the current version."""

        def publish(table: RouteTable) -> int:
            answers.append(table.version)
            return 1 if table.version == self.version else STALE

        return publish


def is_stale(answer: int) -> bool:
    return answer == STALE


def test_the_table_is_read_on_first_use_and_then_kept() -> None:
    redis = Redis()
    cache = RouteCache(redis.read)
    assert redis.reads == 0, "building a publisher reads nothing"

    first, second = cache.current(), cache.current()

    assert redis.reads == 1
    assert first is second


def test_in_the_steady_state_a_publish_is_one_attempt_and_no_read() -> None:
    redis = Redis()
    cache = RouteCache(redis.read)
    cache.current()
    answers: list[str] = []

    for _ in range(3):
        assert fresh(cache, redis.attempt(answers), is_stale) == 1

    assert answers == ["v1", "v1", "v1"]
    assert redis.reads == 1


def test_a_stale_answer_reads_the_table_again_and_publishes_again_once() -> None:
    redis = Redis()
    cache = RouteCache(redis.read)
    cache.current()
    redis.version = "v2"  # a worker declared a route
    answers: list[str] = []

    assert fresh(cache, redis.attempt(answers), is_stale) == 1
    assert fresh(cache, redis.attempt(answers), is_stale) == 1

    assert answers == ["v1", "v2", "v2"]
    assert redis.reads == 2


def test_a_table_that_keeps_changing_fails_after_bounded_tries() -> None:
    redis = Redis()
    cache = RouteCache(redis.read)

    def always_behind(table: RouteTable) -> int:
        redis.version += "+"  # another worker declares between every read and publish
        return STALE

    with pytest.raises(EventBusUnavailable, match="nothing was written"):
        fresh(cache, always_behind, is_stale)
    assert redis.reads == STALE_TRIES


def test_threads_finding_the_same_table_stale_read_it_again_once() -> None:
    redis = Redis()
    cache = RouteCache(redis.read)
    stale = cache.current()
    redis.version = "v2"
    barrier = threading.Barrier(4)
    seen: list[RouteTable] = []

    def refresh() -> None:
        barrier.wait()
        seen.append(cache.refresh(stale))

    threads = [threading.Thread(target=refresh) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert redis.reads == 2
    assert {table.version for table in seen} == {"v2"}


def test_a_table_parses_from_hgetall_and_groups_routes_by_type_in_handler_order() -> None:
    raw = {
        b"b.second": b"q1|100|w1|90|shop.paid",
        b"a.first": b"q2.high|101|w2|91|shop.paid",
        b"c.other": b"q1|102|w1|90|shop.shipped",
        b"broken": b"not a record",
    }

    table = RouteTable.parse(b"v7", raw)

    assert table.version == "v7"
    assert table.by_type() == {
        "shop.paid": (
            Route("a.first", "shop.paid", "q2.high"),
            Route("b.second", "shop.paid", "q1"),
        ),
        "shop.shipped": (Route("c.other", "shop.shipped", "q1"),),
    }


def test_no_version_key_is_the_empty_version() -> None:
    assert RouteTable.parse(None, {}).version == NO_VERSION == ""


def test_a_record_keeps_an_event_type_that_holds_a_bar() -> None:
    record = RouteRecord.parse("h", "q|1|w|2|odd|type")
    assert record is not None
    assert record.route == Route("h", "odd|type", "q")
    assert (record.since_ms, record.owner, record.owner_started_ms) == (1, "w", 2)


def test_a_worker_declares_the_handlers_on_the_queues_it_serves_only() -> None:
    processor = DomainEventsProcessor()
    processor.register_handler(ContractEvent, print, name="z.mail", queue="mail")
    processor.register_handler(
        ContractEvent, print, name="a.urgent", queue="mail", priority=Priority.HIGH
    )
    processor.register_handler(OtherContractEvent, print, name="m.report", queue="reports")

    declaration = Declaration.of(
        processor, ["mail", "mail.high"], broker_id="w1", started=STARTED, threads=4
    )

    assert declaration.routes == (
        Route("a.urgent", ContractEvent.event_type, "mail.high"),
        Route("z.mail", ContractEvent.event_type, "mail"),
    )
    assert json.loads(declaration.record()) == {
        "started": declaration.started_ms,
        "routes": [
            ["a.urgent", "mail.high", ContractEvent.event_type],
            ["z.mail", "mail", ContractEvent.event_type],
        ],
        "queues": ["mail", "mail.high"],
        "threads": 4,
    }

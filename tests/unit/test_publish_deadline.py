"""A publish has a deadline, and its two errors mean two different things (no Redis needed:
the calls are fakes on a fake clock; tests/integration/test_publish_failures.py hangs a real one).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import attrs
import pytest
import redis

from hexbus import (
    ConfigurationError,
    DomainEvent,
    EventBusRejected,
    EventBusUnavailable,
    HexbusError,
)
from hexbus.adapters.dramatiq.connection import with_retries
from hexbus.adapters.http.errors import status_for
from hexbus.container import create_container
from hexbus.settings import Settings


@attrs.frozen(kw_only=True)
class Nudge(DomainEvent):
    event_type = "unit.deadline.nudge"


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def failing(
    time: FakeTime, error: Exception, takes: float
) -> tuple[Callable[[], None], list[float]]:
    """A call that takes ``takes`` seconds of fake time and raises ``error``; records starts."""
    starts: list[float] = []

    def call() -> None:
        starts.append(time.now)
        time.now += takes
        raise error

    return call, starts


def bounded(time: FakeTime, call: Callable[[], None], **options: object) -> Callable[[], None]:
    return with_retries(call, clock=time.clock, sleep=time.sleep, **options)  # type: ignore[arg-type]


def test_quick_failures_are_retried_until_the_deadline() -> None:
    time = FakeTime()
    call, starts = failing(time, redis.ConnectionError("Connection refused"), takes=0.001)

    with pytest.raises(EventBusUnavailable) as caught:
        bounded(time, call, deadline=timedelta(seconds=2.5))()

    assert len(starts) >= 5, "a refused connection is cheap to retry"
    assert time.now <= 2.5
    assert "did not answer in time" in str(caught.value)
    assert "ConnectionError: Connection refused" in str(caught.value)


def test_no_attempt_starts_that_the_last_one_says_cannot_finish_in_time() -> None:
    # A Redis that accepts and never answers: every attempt is a socket timeout (2 s).
    time = FakeTime()
    call, starts = failing(time, redis.TimeoutError("Timeout reading from socket"), takes=2.0)

    with pytest.raises(EventBusUnavailable, match=r"1 attempt in 2\.0s, deadline 2\.5s"):
        bounded(time, call, deadline=timedelta(seconds=2.5))()

    assert starts == [0.0]
    assert time.now == 2.0


def test_a_longer_deadline_allows_another_slow_attempt() -> None:
    time = FakeTime()
    call, starts = failing(time, redis.TimeoutError("Timeout reading from socket"), takes=1.0)

    with pytest.raises(EventBusUnavailable):
        bounded(time, call, deadline=timedelta(seconds=2.5))()

    assert len(starts) == 2
    assert time.now <= 2.5


def test_an_attempt_cap_still_applies() -> None:
    time = FakeTime()
    call, starts = failing(time, redis.ConnectionError("refused"), takes=0.0)

    with pytest.raises(EventBusUnavailable):
        bounded(time, call, deadline=timedelta(seconds=60), attempts=3)()

    assert len(starts) == 3


def test_a_zero_deadline_is_one_attempt() -> None:
    time = FakeTime()
    call, starts = failing(time, redis.ConnectionError("refused"), takes=0.0)

    with pytest.raises(EventBusUnavailable):
        bounded(time, call, deadline=timedelta(0))()

    assert len(starts) == 1


@pytest.mark.parametrize(
    "error",
    [
        redis.ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value"),
        redis.ResponseError("Error running script (call to f_0123): @user_script:1: boom"),
        redis.exceptions.NoPermissionError("NOPERM this user has no permissions to run 'evalsha'"),
    ],
)
def test_an_error_reply_is_rejected_at_once_and_never_retried(error: Exception) -> None:
    time = FakeTime()
    call, starts = failing(time, error, takes=0.0)

    with pytest.raises(EventBusRejected) as caught:
        bounded(time, call, what="publish the event")()

    assert len(starts) == 1
    assert time.slept == []
    assert not isinstance(caught.value, EventBusUnavailable)
    assert isinstance(caught.value, HexbusError)
    assert str(error).split()[0] in str(caught.value)
    assert "trying again gives the same answer" in str(caught.value)


def test_the_hint_says_what_is_safe() -> None:
    time = FakeTime()
    call, _ = failing(time, redis.TimeoutError("Timeout"), takes=3.0)

    with pytest.raises(EventBusUnavailable, match=r"publishing the same event again is safe$"):
        bounded(
            time,
            call,
            what="publish the event",
            hint="the event may or may not have been accepted; "
            "publishing the same event again is safe",
        )()


def test_the_timeouts_are_settings_with_decimals() -> None:
    defaults = Settings.from_env({}).redis
    assert defaults.socket_timeout == timedelta(seconds=2)
    assert defaults.connect_timeout == timedelta(seconds=1)
    assert defaults.publish_timeout == timedelta(seconds=2.5)

    given = Settings.from_env(
        {
            "REDIS_SOCKET_TIMEOUT": "3.5",
            "REDIS_CONNECT_TIMEOUT": "0.25",
            "HEXBUS_PUBLISH_TIMEOUT": "10",
            "REDIS_URL": "redis://example:6379/0",
        }
    ).redis
    assert (given.socket_timeout, given.connect_timeout, given.publish_timeout) == (
        timedelta(seconds=3.5),
        timedelta(seconds=0.25),
        timedelta(seconds=10),
    )
    assert given.describe()["REDIS_SOCKET_TIMEOUT"] == "3.5s"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REDIS_SOCKET_TIMEOUT", "1"),  # below the workers' 1 s blocking wait
        ("REDIS_SOCKET_TIMEOUT", "soon"),
        ("REDIS_CONNECT_TIMEOUT", "0"),
        ("HEXBUS_PUBLISH_TIMEOUT", "-1"),
        ("HEXBUS_PUBLISH_TIMEOUT", "nan"),
    ],
)
def test_bad_timeouts_name_their_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({name: value})

    assert caught.value.setting == name


def test_the_container_wires_the_timeouts_into_the_client_and_the_bus() -> None:
    container = create_container(
        {
            "USE_QUEUE_EVENT_BUS": "true",
            "REDIS_URL": "redis://127.0.0.1:1/0",
            "REDIS_SOCKET_TIMEOUT": "4.5",
            "REDIS_CONNECT_TIMEOUT": "0.5",
            "HEXBUS_PUBLISH_TIMEOUT": "0",
        }
    )
    options = container.redis_client().connection_pool.connection_kwargs
    assert options["socket_timeout"] == 4.5
    assert options["socket_connect_timeout"] == 0.5
    bus = container.event_bus()
    container.processor().register_handler(Nudge, lambda event: None, name="unit.nudge")

    with pytest.raises(EventBusUnavailable, match=r"1 attempt in \d\.\ds, deadline 0s"):
        bus.publish(Nudge())


def test_the_api_answers_a_rejected_call_as_the_servers_fault() -> None:
    assert status_for(EventBusUnavailable("no answer")) == 503
    assert status_for(EventBusRejected("WRONGTYPE")) == 500

"""Redis connections, and the translation of redis-py errors into hexbus's hierarchy.

Timeouts are explicit (a hung Redis must not hang a publisher): ``REDIS_CONNECT_TIMEOUT`` for
a connection, ``REDIS_SOCKET_TIMEOUT`` for an answer, and ``HEXBUS_PUBLISH_TIMEOUT`` for a
whole publish with its retries. redis-py's own retry is off: publishing retries here, within
that deadline, where we can say what happened.

Two kinds of failure, two errors:

* the call did not get an answer (connection refused or lost, a timeout, Redis loading its
  data): :class:`EventBusUnavailable`, after retrying; the call may or may not have been
  applied, and repeating it is safe;
* Redis answered with an error (``WRONGTYPE``, a script error, an ACL refusal): it will answer
  the same again, so :class:`EventBusRejected` at once, never retried.
"""

from __future__ import annotations

import asyncio
import functools
import random
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import ParamSpec, TypeVar

import redis
import redis.asyncio

from ...domain.errors import EventBusRejected, EventBusUnavailable
from .settings import PUBLISH_TIMEOUT, REDIS_CONNECT_TIMEOUT, REDIS_SOCKET_TIMEOUT

P = ParamSpec("P")
T = TypeVar("T")

TRANSIENT = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError)
"""Errors after which the same call may succeed: worth retrying (``redis.asyncio`` raises the
same classes)."""

Seconds = timedelta | float


def _seconds(value: Seconds) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def connect(
    url: str,
    *,
    socket_timeout: Seconds = REDIS_SOCKET_TIMEOUT.default,
    connect_timeout: Seconds = REDIS_CONNECT_TIMEOUT.default,
) -> redis.Redis:
    """A client for ``url`` (``redis://``, ``rediss://`` for TLS, with user:password).

    ``socket_timeout`` (``REDIS_SOCKET_TIMEOUT``) bounds the wait for each answer,
    ``connect_timeout`` (``REDIS_CONNECT_TIMEOUT``) each TCP connect.
    """
    return redis.Redis.from_url(
        url,
        socket_timeout=_seconds(socket_timeout),
        socket_connect_timeout=_seconds(connect_timeout),
        health_check_interval=30,
        retry_on_timeout=False,
    )


class DedicatedConnection:
    """A client that keeps one connection of another client's pool for itself, made on first
    use (so that building it needs no Redis).

    For calls made one after the other on a hot path, such as a stats call polled by the
    dashboard and scraped by Prometheus: a pooled call checks its connection out and back in,
    which takes a lock, records redis-py's pool metrics and polls the socket for stray data,
    a system call; measured here, that was about 60 µs of a 0.4 ms stats call
    (``bench/stats.py``). redis-py's single-connection client skips the checkout and
    serialises callers with its own lock, so threads may share it; after a lost connection it
    reconnects on the next call, as a pooled call would.
    """

    def __init__(self, client: redis.Redis) -> None:
        self._pool = client.connection_pool
        self._lock = threading.Lock()
        self._client: redis.Redis | None = None

    def __call__(self) -> redis.Redis:
        """The client; its connection is made now if it was never made."""
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = redis.Redis(
                        connection_pool=self._pool, single_connection_client=True
                    )
                client = self._client
        return client


def _unavailable(what: str, error: BaseException, detail: str = "", hint: str = "") -> str:
    return (
        f"could not {what}: Redis could not be reached or did not answer in time "
        f"({detail}{type(error).__name__}: {error})" + (f"; {hint}" if hint else "")
    )


def _rejected(what: str, error: BaseException) -> str:
    return (
        f"Redis refused to {what} ({type(error).__name__}: {error}); this is not an outage and "
        "trying again gives the same answer: fix the cause first"
    )


def translated(call: Callable[P, T]) -> Callable[P, T]:
    """``call`` with redis-py's errors raised as hexbus's, in one attempt.

    For the operator-facing adapters (monitor, dead letters): one attempt, one clear error,
    :class:`EventBusUnavailable` for no answer and :class:`EventBusRejected` for an error reply.
    """

    @functools.wraps(call)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return call(*args, **kwargs)
        except TRANSIENT as error:
            raise EventBusUnavailable(
                f"Redis could not answer ({type(error).__name__}: {error})"
            ) from error
        except redis.RedisError as error:
            raise EventBusRejected(_rejected("answer", error)) from error

    return wrapped


class RetryBudget:
    """The retry decision of one call, shared by the sync and the async retrying wrappers:
    after a transient error, how long to pause before the next attempt, or the
    :class:`EventBusUnavailable` to raise because no attempt would end within the deadline."""

    def __init__(
        self,
        *,
        deadline: timedelta,
        attempts: int | None,
        first_wait: timedelta,
        max_wait: timedelta,
        what: str,
        hint: str,
        started: float,
    ) -> None:
        self._limit = deadline.total_seconds()
        self._attempts = attempts
        self._base, self._cap = first_wait.total_seconds(), max_wait.total_seconds()
        self._what, self._hint = what, hint
        self._started = started
        self.attempt = 0

    def pause_after(self, error: BaseException, began: float, now: float) -> float:
        """The pause before the next attempt after ``error`` (an attempt that began at
        ``began``, failing at ``now``); raises :class:`EventBusUnavailable` when out of time."""
        attempt = self.attempt
        pause = min(self._base * 2.0 ** (attempt - 1) + random.uniform(0, self._base), self._cap)
        out_of_time = now + pause + (now - began) > self._started + self._limit
        if out_of_time or (self._attempts is not None and attempt >= self._attempts):
            plural = "s" if attempt > 1 else ""
            detail = f"{attempt} attempt{plural} in {now - self._started:.1f}s, deadline "
            detail += f"{self._limit:g}s; last: "
            raise EventBusUnavailable(
                _unavailable(self._what, error, detail, self._hint)
            ) from error
        return pause

    def rejected(self, error: BaseException) -> EventBusRejected:
        """The error for an error reply: never retried."""
        return EventBusRejected(_rejected(self._what, error))


def with_retries(
    call: Callable[P, T],
    *,
    deadline: timedelta = PUBLISH_TIMEOUT.default,
    attempts: int | None = None,
    first_wait: timedelta = timedelta(milliseconds=50),
    max_wait: timedelta = timedelta(seconds=1),
    what: str = "reach Redis",
    hint: str = "it may or may not have been applied; doing it again is safe",
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Callable[P, T]:
    """``call`` retried on transient Redis errors, with exponential backoff and jitter, for at
    most ``deadline`` (``HEXBUS_PUBLISH_TIMEOUT``).

    A new attempt starts only if the wait before it plus as long as the last attempt took
    still ends within the deadline. So against a Redis that refuses connections, attempts go
    on until the deadline; against one that accepts them and never answers, each attempt takes
    a socket timeout, and no attempt starts that would end past the deadline. In every case a
    call returns or raises within ``deadline`` plus, at worst, one socket (or connect) timeout
    started just before it. ``attempts`` caps the number of attempts as well (None: no cap).

    Out of time, it raises :class:`EventBusUnavailable`, whose message ends with ``hint``:
    the call may or may not have been applied (a timed-out call may still run when Redis
    resumes). An error reply (``WRONGTYPE``, a script error) raises
    :class:`EventBusRejected` at once. Never a redis-py exception.
    """

    def wrapped(*args: P.args, **kwargs: P.kwargs) -> T:
        budget = RetryBudget(
            deadline=deadline,
            attempts=attempts,
            first_wait=first_wait,
            max_wait=max_wait,
            what=what,
            hint=hint,
            started=clock(),
        )
        while True:
            budget.attempt += 1
            began = clock()
            try:
                return call(*args, **kwargs)
            except TRANSIENT as error:
                pause = budget.pause_after(error, began, clock())
            except redis.RedisError as error:
                raise budget.rejected(error) from error
            sleep(pause)

    return wrapped


def with_retries_async(
    call: Callable[P, Awaitable[T]],
    *,
    deadline: timedelta = PUBLISH_TIMEOUT.default,
    attempts: int | None = None,
    first_wait: timedelta = timedelta(milliseconds=50),
    max_wait: timedelta = timedelta(seconds=1),
    what: str = "reach Redis",
    hint: str = "it may or may not have been applied; doing it again is safe",
    clock: Callable[[], float] = time.monotonic,
) -> Callable[P, Awaitable[T]]:
    """:func:`with_retries` for a coroutine function on ``redis.asyncio``: the same
    deadline, backoff and errors; the pauses are ``asyncio.sleep``, so the loop runs on."""

    async def wrapped(*args: P.args, **kwargs: P.kwargs) -> T:
        budget = RetryBudget(
            deadline=deadline,
            attempts=attempts,
            first_wait=first_wait,
            max_wait=max_wait,
            what=what,
            hint=hint,
            started=clock(),
        )
        while True:
            budget.attempt += 1
            began = clock()
            try:
                return await call(*args, **kwargs)
            except TRANSIENT as error:
                pause = budget.pause_after(error, began, clock())
            except redis.RedisError as error:
                raise budget.rejected(error) from error
            await asyncio.sleep(pause)

    return wrapped


def connect_async(
    url: str,
    *,
    socket_timeout: Seconds = REDIS_SOCKET_TIMEOUT.default,
    connect_timeout: Seconds = REDIS_CONNECT_TIMEOUT.default,
) -> redis.asyncio.Redis:
    """A ``redis.asyncio`` client for ``url``, with the same timeouts as :func:`connect`.

    A client belongs to the event loop it is first used on; build one per loop.
    """
    return redis.asyncio.Redis.from_url(
        url,
        socket_timeout=_seconds(socket_timeout),
        socket_connect_timeout=_seconds(connect_timeout),
        health_check_interval=30,
        retry_on_timeout=False,
    )

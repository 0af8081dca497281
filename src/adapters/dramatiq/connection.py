"""Redis connections, and the translation of redis-py errors into hexbus's hierarchy.

Timeouts are explicit (a hung Redis must not hang a publisher forever) and redis-py's own retry
is off: publishing retries with tenacity, bounded, where we can say what happened.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import ParamSpec, TypeVar

import redis
import tenacity

from ...domain.errors import EventBusUnavailable

P = ParamSpec("P")
T = TypeVar("T")

TRANSIENT = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError)
"""Errors after which the same call may succeed: worth retrying."""


def connect(url: str, *, socket_timeout: float = 5.0) -> redis.Redis:
    """A client for ``url`` (``redis://``, ``rediss://`` for TLS, with user:password)."""
    return redis.Redis.from_url(
        url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout,
        health_check_interval=30,
        retry_on_timeout=False,
    )


def translated(call: Callable[P, T]) -> Callable[P, T]:
    """``call`` with redis-py's errors raised as :class:`EventBusUnavailable`.

    For the operator-facing adapters (monitor, dead letters): one attempt, one clear error.
    """

    @functools.wraps(call)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return call(*args, **kwargs)
        except redis.RedisError as error:
            raise EventBusUnavailable(
                f"Redis could not answer ({type(error).__name__}: {error})"
            ) from error

    return wrapped


def with_retries(
    call: Callable[P, T],
    *,
    attempts: int = 4,
    first_wait: timedelta = timedelta(milliseconds=50),
    max_wait: timedelta = timedelta(seconds=1),
    what: str = "reach Redis",
) -> Callable[P, T]:
    """``call`` retried on transient Redis errors with exponential backoff and jitter.

    After ``attempts`` it raises :class:`EventBusUnavailable`; a non-transient Redis error is
    raised as :class:`EventBusUnavailable` at once, never as a redis-py exception.
    """
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(max(attempts - 1, 1)),
        wait=tenacity.wait_exponential_jitter(
            multiplier=first_wait.total_seconds(),
            max=max_wait.total_seconds(),
            jitter=first_wait.total_seconds(),
        ),
        retry=tenacity.retry_if_exception_type(TRANSIENT),
        reraise=True,
    )

    def wrapped(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            try:  # the fast path: no retry machinery unless the first try fails
                return call(*args, **kwargs)
            except TRANSIENT:
                if attempts <= 1:
                    raise
            return retrying(call, *args, **kwargs)
        except TRANSIENT as error:
            raise EventBusUnavailable(
                f"could not {what} after {attempts} attempts ({type(error).__name__}: {error}); "
                "nothing was half-written, so publishing the same event again is safe"
            ) from error
        except redis.RedisError as error:
            raise EventBusUnavailable(
                f"Redis refused to {what} ({type(error).__name__}: {error})"
            ) from error

    return wrapped

"""RetryPolicy: exponential backoff, capped, with bounded jitter; what is worth retrying."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hexbus import HandlerRegistrationError, NonRetryableError, RetryPolicy
from hexbus.examples.clinic.domain.errors import InvalidRecipient
from hexbus.ports import NO_RETRY

SECOND = timedelta(seconds=1)


def test_backoff_doubles_from_the_minimum_without_jitter() -> None:
    policy = RetryPolicy(min_backoff=SECOND, max_backoff=timedelta(hours=1), jitter=0.0)

    waits = [policy.backoff(attempt, random_fraction=0.5) for attempt in range(1, 6)]

    assert waits == [SECOND * 1, SECOND * 2, SECOND * 4, SECOND * 8, SECOND * 16]


def test_backoff_is_capped_at_the_maximum() -> None:
    policy = RetryPolicy(min_backoff=SECOND, max_backoff=SECOND * 10, jitter=0.0)

    assert policy.backoff(4, 0.0) == SECOND * 8
    assert policy.backoff(5, 0.0) == SECOND * 10
    assert policy.backoff(60, 0.0) == SECOND * 10


def test_jitter_randomises_only_its_fraction_of_the_wait() -> None:
    policy = RetryPolicy(min_backoff=SECOND * 10, max_backoff=timedelta(hours=1), jitter=0.2)

    lowest = policy.backoff(1, random_fraction=0.0)
    highest = policy.backoff(1, random_fraction=0.999999)
    middle = policy.backoff(1, random_fraction=0.5)

    assert lowest == SECOND * 8
    assert SECOND * 9.99 < highest < SECOND * 10
    assert middle == SECOND * 9


def test_jitter_applies_to_the_capped_wait() -> None:
    policy = RetryPolicy(min_backoff=SECOND, max_backoff=SECOND * 10, jitter=0.5)

    assert policy.backoff(20, random_fraction=0.0) == SECOND * 5
    assert policy.backoff(20, random_fraction=0.999999) < SECOND * 10


def test_full_jitter_may_wait_nothing() -> None:
    policy = RetryPolicy(min_backoff=SECOND, jitter=1.0)

    assert policy.backoff(1, random_fraction=0.0) == timedelta(0)


def test_attempt_zero_is_treated_as_the_first() -> None:
    policy = RetryPolicy(min_backoff=SECOND, jitter=0.0)

    assert policy.backoff(0, 0.0) == policy.backoff(1, 0.0) == SECOND


def test_max_attempts_counts_the_first_run() -> None:
    assert RetryPolicy(max_retries=3).max_attempts == 4
    assert NO_RETRY.max_attempts == 1


def test_ordinary_errors_are_retryable() -> None:
    policy = RetryPolicy()

    assert policy.is_retryable(RuntimeError("flaky"))
    assert policy.is_retryable(TimeoutError())


def test_non_retryable_errors_and_their_subclasses_are_not_retried() -> None:
    policy = RetryPolicy()

    assert not policy.is_retryable(NonRetryableError("no"))
    assert not policy.is_retryable(InvalidRecipient("no such number"))


def test_declared_types_and_their_subclasses_are_not_retried() -> None:
    policy = RetryPolicy(non_retryable=(LookupError,))

    assert not policy.is_retryable(KeyError("k"))
    assert not policy.is_retryable(LookupError())
    assert policy.is_retryable(ValueError())


@pytest.mark.parametrize(
    "options",
    [
        {"max_retries": -1},
        {"max_retries": True},
        {"max_retries": 1.5},
        {"jitter": -0.1},
        {"jitter": 1.01},
        {"min_backoff": timedelta(seconds=-1)},
        {"min_backoff": SECOND * 10, "max_backoff": SECOND},
        {"non_retryable": ("ValueError",)},
        {"non_retryable": (ValueError("instance"),)},
    ],
)
def test_invalid_policies_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(HandlerRegistrationError):
        RetryPolicy(**options)  # type: ignore[arg-type]


def test_non_retryable_is_kept_as_a_tuple() -> None:
    policy = RetryPolicy(non_retryable=[KeyError, ValueError])  # type: ignore[arg-type]

    assert policy.non_retryable == (KeyError, ValueError)

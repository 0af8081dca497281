"""attrs validators for event fields that fail with :class:`InvalidEvent`.

A bare ``ValueError`` from attrs says neither which event nor which field; these name both, so
a bad payload read from a queue lands in the dead letters with a reason an operator can act on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import attrs

from .errors import InvalidEvent

Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def _fail(instance: Any, attribute: attrs.Attribute[Any], reason: str) -> InvalidEvent:
    event_type = getattr(type(instance), "event_type", type(instance).__qualname__)
    return InvalidEvent(event_type, attribute.name, reason)


def non_empty_text(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A string with something in it besides blanks."""
    if not isinstance(value, str):
        raise _fail(instance, attribute, f"must be text, got {type(value).__name__}")
    if not value.strip():
        raise _fail(instance, attribute, "must not be empty")


def positive_amount(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A money amount: a Decimal (never a float, which cannot hold cents exactly) above zero."""
    if not isinstance(value, Decimal):
        raise _fail(instance, attribute, f"must be a Decimal amount, got {type(value).__name__}")
    if not value.is_finite() or value <= 0:
        raise _fail(instance, attribute, f"must be a positive amount, got {value}")


def currency_code(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """An ISO 4217 style code: three upper-case letters."""
    if not (isinstance(value, str) and len(value) == 3 and value.isalpha() and value.isupper()):
        raise _fail(instance, attribute, f"must be a 3-letter currency code, got {value!r}")


def aware_datetime(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A timezone-aware datetime (a naive one is ambiguous across servers)."""
    if not isinstance(value, datetime):
        raise _fail(instance, attribute, f"must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise _fail(instance, attribute, "must be timezone-aware")


def one_of(*allowed: object) -> Validator:
    """A validator accepting only the given values (strings, or numbers such as 24 and 1).

    The type must match too, so ``True`` is not taken for ``1``.
    """

    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not any(type(value) is type(option) and value == option for option in allowed):
            choices = ", ".join(str(option) for option in allowed)
            raise _fail(instance, attribute, f"must be one of {choices}, got {value!r}")

    return check


def positive_int(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A whole number above zero."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _fail(instance, attribute, f"must be a positive whole number, got {value!r}")


def non_negative_int(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A whole number, zero or more (a count, a quantity in stock)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _fail(instance, attribute, f"must be a whole number >= 0, got {value!r}")


def flag(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """True or False, nothing truthy in between."""
    if not isinstance(value, bool):
        raise _fail(instance, attribute, f"must be true or false, got {value!r}")


def calendar_date(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A date (a datetime is refused: a day has no time zone to get wrong)."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise _fail(instance, attribute, f"must be a date, got {type(value).__name__}")

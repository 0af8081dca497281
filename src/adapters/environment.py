"""Settings read from the environment, each declared once, beside what it configures.

A :class:`Setting` holds everything there is to say about one variable: its name, how its text
is parsed and checked, its default and what it means. A settings group is an attrs class whose
fields are declared with :func:`setting`; :class:`SettingsGroup` reads such a class from an
environment and describes it. ``hexbus config`` lists every group, so a variable's default and
meaning are written in one place only, and a bad value fails at start-up with
:class:`ConfigurationError` naming the variable, not later as a connection error in a worker.

Secrets are never echoed: not in ``repr``, not in a description, not in an error message.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, ClassVar, Final, Generic, Self, TypeVar, cast
from urllib.parse import urlsplit

import attrs

from ..domain.errors import ConfigurationError

T = TypeVar("T")

Parser = Callable[[str, str], T]
"""``parse(variable, text) -> value``; raises :class:`ConfigurationError` naming the variable."""

DECLARED: Final = "hexbus_setting"
"""The attrs metadata key under which a field keeps its :class:`Setting`."""
_DECLARED: Final = DECLARED
TRUE: Final = frozenset({"1", "true", "yes", "on"})
FALSE: Final = frozenset({"0", "false", "no", "off"})
TOKEN: Final = re.compile(r"^[A-Za-z0-9._~+/=-]{16,512}$")
"""A bearer token (RFC 6750's characters), long enough not to be guessed."""


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, timedelta):
        return f"{value.total_seconds():g}s"
    if value is None:
        return "not set"
    return str(value)


@attrs.frozen(kw_only=True)
class Setting(Generic[T]):
    """One environment variable: its name, parser, default and meaning.

    An unset or blank variable takes ``default``; anything else goes through ``parse``, which
    rejects it with the variable's name. ``secret`` values are shown as "set" or "not set", and
    neither they nor ``confidential`` ones appear in ``repr``.
    """

    name: str
    parse: Parser[T] = attrs.field(eq=False)
    default: T
    description: str
    secret: bool = False
    show: Callable[[T], str] = attrs.field(default=_shown, eq=False)
    confidential: bool = False
    """Kept out of ``repr`` though ``show`` may show part of it (a URL embedding a credential)."""

    def read(self, env: Mapping[str, str]) -> T:
        """This setting's value in ``env``."""
        raw = env.get(self.name)
        if raw is None or not raw.strip():
            return self.default
        return self.parse(self.name, raw.strip())

    def display(self, value: T) -> str:
        """``value`` fit for a screen or a log: a secret only says whether it is set."""
        if self.secret:
            return "set" if value else "not set"
        return self.show(value)

    @property
    def default_text(self) -> str:
        """The default as ``hexbus config`` shows it."""
        return self.display(self.default) if not self.secret else "not set"


def setting(declared: Setting[T]) -> T:
    """An attrs field read from ``declared`` (its default is the setting's default)."""
    field: T = attrs.field(
        default=declared.default,
        metadata={_DECLARED: declared},
        repr=not (declared.secret or declared.confidential),
    )
    return field


class SettingsGroup:
    """Base of a group of settings declared with :func:`setting` on an attrs class.

    ``title`` names the group in ``hexbus config``. A group whose values depend on each other
    (Redis: a URL or its parts) overrides :meth:`from_env`, :meth:`declared` and
    :meth:`describe`, and keeps declaring every variable it reads.
    """

    title: ClassVar[str] = "settings"

    @classmethod
    def declared(cls) -> tuple[Setting[Any], ...]:
        """Every variable this group reads."""
        return tuple(
            field.metadata[_DECLARED]
            for field in attrs.fields(cast("type[attrs.AttrsInstance]", cls))
            if _DECLARED in field.metadata
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        """Read and check every setting of the group; the first bad one raises."""
        values = {
            field.name: field.metadata[_DECLARED].read(env)
            for field in attrs.fields(cast("type[attrs.AttrsInstance]", cls))
            if _DECLARED in field.metadata
        }
        return cls(**values)

    def describe(self) -> dict[str, str]:
        """Variable name to the value in force, secrets redacted."""
        return {
            field.metadata[_DECLARED].name: field.metadata[_DECLARED].display(
                getattr(self, field.name)
            )
            for field in attrs.fields(cast("type[attrs.AttrsInstance]", type(self)))
            if _DECLARED in field.metadata
        }


# --- parsers -------------------------------------------------------------------------------


def boolean(name: str, raw: str) -> bool:
    """A yes/no setting; anything else is an error rather than a silent False."""
    value = raw.lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ConfigurationError(name, f"expected true or false, got {raw!r}")


def whole(*, low: int, high: int) -> Parser[int]:
    """A whole number within [low, high]."""

    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ConfigurationError(name, f"expected a whole number, got {raw!r}") from None
        if not low <= value <= high:
            raise ConfigurationError(name, f"must be between {low} and {high}, got {value}")
        return value

    return parse


def seconds(*, low: int = 1, high: int = 10 * 365 * 24 * 3600) -> Parser[timedelta]:
    """A duration in whole seconds."""
    parse_whole = whole(low=low, high=high)
    return lambda name, raw: timedelta(seconds=parse_whole(name, raw))


def decimal_seconds(*, low: float, high: float) -> Parser[timedelta]:
    """A duration in seconds, decimals allowed (``0.5``, ``2``, ``2.5``), within [low, high]."""

    def parse(name: str, raw: str) -> timedelta:
        try:
            value = float(raw)
        except ValueError:
            raise ConfigurationError(name, f"expected a number of seconds, got {raw!r}") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise ConfigurationError(
                name, f"must be between {low:g} and {high:g} seconds, got {raw!r}"
            )
        return timedelta(seconds=value)

    return parse


def minutes(*, low: int, high: int) -> Parser[timedelta]:
    """A duration in whole minutes."""
    parse_whole = whole(low=low, high=high)
    return lambda name, raw: timedelta(minutes=parse_whole(name, raw))


def fraction(name: str, raw: str) -> float:
    """A number between 0 and 1 (``0.1`` is 10%)."""
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(name, f"expected a number between 0 and 1, got {raw!r}") from None
    if not math.isfinite(value) or not 0 <= value <= 1:
        raise ConfigurationError(name, f"must be between 0 and 1 (0.1 is 10%), got {raw!r}")
    return value


def choice(*choices: str) -> Parser[str]:
    """One of ``choices``, case-insensitive."""

    def parse(name: str, raw: str) -> str:
        value = raw.lower()
        if value not in choices:
            raise ConfigurationError(name, f"expected one of {', '.join(choices)}, got {raw!r}")
        return value

    return parse


def host(name: str, raw: str) -> str:
    """A host name or address, with nothing that belongs in a URL around it."""
    if any(c in raw for c in "/@ "):
        raise ConfigurationError(name, f"expected a host name, got {raw!r}")
    return raw


def token(name: str, raw: str) -> str | None:
    """A secret bearer token."""
    if not TOKEN.match(raw):
        # The value itself is never echoed: it is a secret, even when malformed.
        raise ConfigurationError(
            name,
            "must be 16-512 characters of letters, digits and -._~+/= (make one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)",
        )
    return raw


def text(name: str, raw: str) -> str | None:
    """Any text (already stripped)."""
    return raw


def http_url(name: str, raw: str) -> str | None:
    """An http(s) URL with a host, checked now so a typo is not found by an outage."""
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # Not echoed: such a URL usually embeds its credential.
        raise ConfigurationError(name, "must be an http:// or https:// URL with a host")
    return raw

"""The access levels of endpoints and the roles of callers (:mod:`.auth` checks them)."""

from __future__ import annotations

from enum import IntEnum, StrEnum

ACCESS_KEY = "x-hexbus-access"
"""The OpenAPI extension naming an operation's :class:`Access` (see ``app.document``)."""


class Access(StrEnum):
    """What an endpoint needs (the table in :mod:`.auth`)."""

    OPEN = "open"
    COUNTS = "counts"
    READ = "read"
    OPERATE = "operate"


class Role(IntEnum):
    """Who is asking, by the token sent."""

    PUBLIC = 0
    READER = 1
    OPERATOR = 2

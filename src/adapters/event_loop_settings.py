"""The settings of the event loop ``async def`` handlers run on (:mod:`.event_loop`).

Declared beside the loop they configure (ADR 0013); the composition root reads the group
and ``hexbus config`` lists it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

import attrs

from .environment import Setting, SettingsGroup, boolean, decimal_seconds, setting
from .event_loop import SLOW_CALLBACK

ASYNC_DEBUG: Final = Setting(
    name="HEXBUS_ASYNC_DEBUG",
    parse=boolean,
    default=False,
    description="run async handlers' event loop in asyncio's debug mode: a callback holding "
    "the loop past HEXBUS_ASYNC_SLOW_CALLBACK (a blocking call in an async handler) is "
    "logged as a warning on the 'asyncio' logger",
)
ASYNC_SLOW_CALLBACK: Final = Setting(
    name="HEXBUS_ASYNC_SLOW_CALLBACK",
    parse=decimal_seconds(low=0.001, high=60.0),
    default=SLOW_CALLBACK,
    description="seconds a callback may hold the async handlers' loop before debug mode logs it",
    show=lambda value: f"{value.total_seconds():g}",
)


@attrs.frozen(kw_only=True)
class EventLoopSettings(SettingsGroup):
    """How the loop of ``async def`` handlers runs (one per process)."""

    title = "async handlers"

    debug: bool = setting(ASYNC_DEBUG)
    slow_callback: timedelta = setting(ASYNC_SLOW_CALLBACK)

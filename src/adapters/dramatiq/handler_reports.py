"""Handlers' progress and log lines, kept in their event's status record on Redis.

An observer of the worker: what a handler reports through ``hexbus.handler_context()``
reaches it as ``handler_progress`` / ``handler_logged``, and each report is one ``report.lua``
call on the event's ``{ns}:status:{event_id}`` hash (fields ``{handler}|p`` and
``{handler}|l``), so it expires with the status (ADR 0024). The settle path is untouched:
a handler that reports nothing costs nothing here.
"""

from __future__ import annotations

import json
import logging

import redis

from ...application.handler_context import MAX_LOG_LINES
from ...application.observers import NullObserver
from ...domain.events import DomainEvent
from ...ports.clock import Clock
from ...ports.handlers import HandlerSpec
from .keys import RedisKeys
from .millis import epoch_ms
from .scripts import Scripts

log = logging.getLogger("hexbus.worker")


class RedisHandlerReports(NullObserver):
    """Writes reports; a Redis error is logged and the handler goes on (a side channel)."""

    def __init__(self, scripts: Scripts, keys: RedisKeys, clock: Clock) -> None:
        self._scripts = scripts
        self._keys = keys
        self._clock = clock

    def handler_progress(
        self, event: DomainEvent, handler: HandlerSpec, attempt: int, percent: float
    ) -> None:
        """``{handler}|p`` = the percentage."""
        self._write(event, handler, "p", f"{percent:g}")

    def handler_logged(
        self, event: DomainEvent, handler: HandlerSpec, attempt: int, line: str
    ) -> None:
        """Appended to ``{handler}|l``, the newest MAX_LOG_LINES kept."""
        at = epoch_ms(self._clock.now())
        self._write(event, handler, "l", json.dumps([at, attempt, line], ensure_ascii=False))

    def _write(self, event: DomainEvent, handler: HandlerSpec, kind: str, value: str) -> None:
        try:
            self._scripts.report(
                keys=[self._keys.status(event.event_id)],
                args=[handler.name, kind, value, MAX_LOG_LINES],
            )
        except redis.RedisError as error:
            log.warning(
                "could not keep a report of handler %s for event %s: %s",
                handler.name,
                event.event_id,
                type(error).__name__,
            )

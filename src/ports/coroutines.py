"""How a synchronous dispatcher runs an ``async def`` handler's coroutine.

Handlers may be plain functions or ``async def``; both register the same way. Whoever runs
handlers (:class:`~hexbus.application.delivery.HandlerRunner`) calls the handler, and when
that gives a coroutine, hands it to a :class:`CoroutineRunner` and waits for its outcome: the
worker's runs it on the process's event loop, the in-memory bus's on the publisher's loop
(ADR 0023).
"""

from __future__ import annotations

from collections.abc import Coroutine
from datetime import timedelta
from typing import Any, Protocol


class CoroutineRunner(Protocol):
    """Runs one handler coroutine to its end and returns what it returned."""

    def run(self, coroutine: Coroutine[Any, Any, object], timeout: timedelta | None) -> object:
        """Block the calling thread until ``coroutine`` is done; raise what it raised.

        Past ``timeout`` the coroutine is cancelled and :class:`~hexbus.HandlerTimeout` is
        raised. The caller's context variables are visible inside the coroutine.
        """
        ...

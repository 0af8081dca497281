"""The Dramatiq/Redis event bus, awaited: :class:`DramatiqEventBus` on ``redis.asyncio``.

What it sends is what the sync bus sends, built by the same :mod:`.publish_plan`: the same
Lua scripts (``publish.lua``, ``publish_later.lua``, ``publish_unrouted.lua``, ``cancel.lua``,
``reschedule.lua``), the same keys, the same wire format, so the two buses of one deployment
interoperate (an event published by either is handled, deduplicated and scheduled like any
other) and workers cannot tell them apart (ADR 0022). One script call per event, one
pipelined round trip per ``publish_all``; retries, the ``HEXBUS_PUBLISH_TIMEOUT`` deadline and
the errors (:class:`~hexbus.EventBusUnavailable`, :class:`~hexbus.EventBusRejected`) are the
sync bus's, with ``asyncio.sleep`` between attempts so the caller's loop runs on.

A ``redis.asyncio`` client belongs to the loop it is first used on: build one bus per loop
(one per process in a web application).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar
from uuid import UUID

import redis.asyncio
from redis.commands.core import AsyncScript

from ...application.observers import ObserverGroup
from ...application.unrouted import UnroutedPolicy
from ...domain.errors import EventBusUnavailable
from ...domain.event_types import EventTypeRegistry, event_types
from ...domain.events import DomainEvent
from ...domain.serialization import EventSerializer
from ...ports.clock import Clock
from ...ports.event_bus import PublishResult
from ...ports.observer import BusObserver
from ..clocks import SystemClock
from .connection import with_retries_async
from .keys import RedisKeys
from .publish_plan import CALL_MEANINGS, BatchPlan, CompiledTable, PublishPlan, ScriptCall
from .routes import STALE, STALE_TRIES, RouteTable
from .scripts import load_script
from .settings import PUBLISH_TIMEOUT
from .tracking import Tracking

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_RETENTION = timedelta(days=7)
_SCRIPTS = ("publish", "publish_later", "publish_unrouted", "cancel", "reschedule")
"""The scripts a publisher runs (the rest are the workers' and the operators')."""


class AsyncDramatiqEventBus:
    """An :class:`~hexbus.AsyncEventBus` and
    :class:`~hexbus.ports.async_event_bus.AsyncEventScheduler` over Redis, for Dramatiq
    workers. It needs the event classes (``registry``), never the handlers (ADR 0015)."""

    def __init__(
        self,
        client: redis.asyncio.Redis,
        *,
        registry: EventTypeRegistry | None = None,
        keys: RedisKeys | None = None,
        serializer: EventSerializer | None = None,
        clock: Clock | None = None,
        observers: Iterable[BusObserver] = (),
        retention: timedelta = DEFAULT_RETENTION,
        publish_timeout: timedelta = PUBLISH_TIMEOUT.default,
        publish_attempts: int | None = None,
        tracking: Tracking | None = None,
        unrouted: UnroutedPolicy | None = None,
    ) -> None:
        self.client = client
        self.keys = keys or RedisKeys()
        self.serializer = serializer or EventSerializer(registry or event_types)
        self.clock: Clock = clock or SystemClock()
        self.observer = ObserverGroup(observers)
        self.plan = PublishPlan(
            keys=self.keys,
            serializer=self.serializer,
            clock=self.clock,
            observer=self.observer,
            retention=retention,
            tracking=tracking or Tracking(),
            unrouted=unrouted or UnroutedPolicy(),
        )
        self._scripts: dict[str, AsyncScript] = {
            name: client.register_script(load_script(name)) for name in _SCRIPTS
        }
        self._table: _AsyncRouteCache[CompiledTable] = _AsyncRouteCache(self._read_routes)
        bounded = functools.partial(
            with_retries_async, deadline=publish_timeout, attempts=publish_attempts
        )
        self._publish_one = bounded(self._run_script, **CALL_MEANINGS["publish"])
        self._cancel = bounded(self._run_script, **CALL_MEANINGS["cancel"])
        self._reschedule = bounded(self._run_script, **CALL_MEANINGS["reschedule"])
        self._publish_batch = bounded(self._run_pipeline, **CALL_MEANINGS["publish_all"])
        self._read_table = bounded(self._read_route_table, **CALL_MEANINGS["read_routes"])

    # --- the AsyncEventBus port -------------------------------------------------------------

    async def publish(
        self,
        event: DomainEvent,
        *,
        delay: timedelta | None = None,
        at: datetime | None = None,
    ) -> PublishResult:
        """Store ``event`` for the routes of its type (now, or due at ``delay``/``at``):
        :meth:`DramatiqEventBus.publish <hexbus.adapters.dramatiq.DramatiqEventBus.publish>`,
        awaited, with the same errors within the same deadline."""
        plan = self.plan
        envelope = plan.envelope(event)
        due_at = plan.due_at(delay, at)
        token = plan.token()

        async def attempt(table: CompiledTable) -> tuple[ScriptCall, Any]:
            call = plan.prepare(event, envelope, due_at, table, token)
            return call, await self._publish_one(call)

        call, accepted = await _fresh(self._table, attempt, lambda answer: answer[1] == STALE)
        return plan.result(event, call, bool(accepted))

    async def publish_all(self, events: Iterable[DomainEvent]) -> Sequence[PublishResult]:
        """Publish a batch in one pipelined round trip; duplicates within it are reported."""
        batch = BatchPlan(self.plan, list(events))
        table = await self._table.current()
        while not batch.done:
            if batch.tries:
                table = await self._table.refresh(table)
            batch.answered(await self._publish_batch(batch.calls(table)))
        return batch.results()

    # --- the AsyncEventScheduler port -------------------------------------------------------

    async def cancel(self, event_id: UUID) -> bool:
        """Remove a scheduled event before it is due; False when it is not pending."""
        removed = await self._cancel(self.plan.cancel_call(event_id))
        if removed:
            self.observer.cancelled(event_id)
        return bool(removed)

    async def reschedule(
        self, event_id: UUID, *, delay: timedelta | None = None, at: datetime | None = None
    ) -> bool:
        """Move a pending event to a new due time; False when it is not pending."""
        due_at = self.plan.due_at(delay, at)
        if due_at is None:
            raise ValueError("reschedule needs delay= or at=")
        return bool(await self._reschedule(self.plan.reschedule_call(event_id, due_at)))

    # --- operations ---------------------------------------------------------------------------

    async def redeliver(self, event: DomainEvent) -> None:
        """Enqueue an event for its routes again, past the publish de-duplication (handlers
        that succeeded for it are still skipped); see ``DramatiqEventBus.redeliver``."""
        plan = self.plan
        envelope = plan.envelope(event)
        token = plan.token()

        async def attempt(table: CompiledTable) -> Any:
            call = plan.prepare(event, envelope, None, table, token)
            if call.unrouted:
                return None
            return await self._publish_one(plan.redelivery(call, event, token))

        await _fresh(self._table, attempt, lambda answer: answer == STALE)

    async def aclose(self) -> None:
        """Close the client's connections."""
        await self.client.aclose()

    # --- internals -----------------------------------------------------------------------------

    async def _read_route_table(self) -> RouteTable:
        pipe = self.client.pipeline(transaction=True)
        pipe.get(self.keys.routes_version)
        pipe.hgetall(self.keys.routes)
        version, raw = await pipe.execute()
        return RouteTable.parse(version, raw)

    async def _read_routes(self) -> CompiledTable:
        return self.plan.compile(await self._read_table())

    async def _run_script(self, call: ScriptCall) -> Any:
        return await self._scripts[call.script](keys=call.keys, args=call.args)

    async def _run_pipeline(self, calls: list[ScriptCall]) -> list[Any]:
        pipe = self.client.pipeline(transaction=False)
        for call in calls:
            await self._scripts[call.script](keys=call.keys, args=call.args, client=pipe)
        return list(await pipe.execute())


class _AsyncRouteCache(Generic[T]):
    """:class:`~.routes.RouteCache` for one loop: read on first use, again when stale.

    Two tasks finding the same table stale may both read it: harmless (same answer), and
    it spares a lock that would tie the cache to one loop."""

    def __init__(self, read: Callable[[], Awaitable[T]]) -> None:
        self._read = read
        self._table: T | None = None

    async def current(self) -> T:
        if self._table is None:
            self._table = await self._read()
        return self._table

    async def refresh(self, stale: T) -> T:
        if self._table is stale or self._table is None:
            self._table = await self._read()
        return self._table


async def _fresh(
    cache: _AsyncRouteCache[T],
    attempt: Callable[[T], Awaitable[R]],
    is_stale: Callable[[R], bool],
) -> R:
    """:func:`~.routes.fresh`, awaited: retry with a fresh table while the answer is stale."""
    table = await cache.current()
    for _ in range(STALE_TRIES):
        answer = await attempt(table)
        if not is_stale(answer):
            return answer
        table = await cache.refresh(table)
    raise EventBusUnavailable(
        f"the route table changed under {STALE_TRIES} publish attempts in a row (workers "
        "declaring routes right now); nothing was written, so publishing again is safe"
    )

"""The contract suite's harness for the async Dramatiq/Redis adapter.

The deployment is :class:`~hexbus.testing.dramatiq_harness.DramatiqHarness`'s (real Redis,
real worker threads, the container's ``worker_runtime`` when given), with its handlers
registered as coroutines; the bus under test and the publisher are
:class:`~hexbus.adapters.dramatiq.AsyncDramatiqEventBus` on ``redis.asyncio`` clients of their
own, in the same key namespace, so the sync deployment and the async publisher must agree on
every key, script and wire format for a test to pass.
"""

from __future__ import annotations

import redis

from ..adapters.dramatiq.async_event_bus import AsyncDramatiqEventBus
from ..adapters.dramatiq.connection import connect_async
from ..adapters.dramatiq.worker import WorkerRuntime
from .async_harness import AsyncBusHarness, AsyncHandlersProcessor
from .dramatiq_harness import DramatiqHarness, WorkerFactory


class AsyncDramatiqHarness(AsyncBusHarness):
    """Async publishers over Redis at ``url``, coroutine handlers on the workers."""

    def __init__(
        self,
        url: str,
        *,
        threads: int = 4,
        workers: WorkerFactory = WorkerRuntime,
    ) -> None:
        inner = DramatiqHarness(
            redis.Redis.from_url(url),
            threads=threads,
            workers=workers,
            processor=AsyncHandlersProcessor(),
        )
        self.async_bus = AsyncDramatiqEventBus(connect_async(url), keys=inner.keys)
        self.async_publisher = AsyncDramatiqEventBus(connect_async(url), keys=inner.keys)
        super().__init__(
            inner,
            bus=self.async_bus,
            publisher=self.async_publisher,
            redeliver=self.async_bus.redeliver,
            real_time=True,
            close=self._release,
        )

    async def _release(self) -> None:
        await self.async_bus.aclose()
        await self.async_publisher.aclose()


__all__ = ["AsyncDramatiqHarness"]

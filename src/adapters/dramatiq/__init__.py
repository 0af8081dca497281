"""The Dramatiq/Redis adapter: durable delivery by worker processes, same contract.

Import this package only where Redis is wanted (the composition root, workers): it loads
dramatiq and redis.
"""

from .async_event_bus import AsyncDramatiqEventBus
from .event_bus import DramatiqEventBus
from .keys import RedisKeys
from .maintenance import MaintenanceTimings
from .worker import WorkerRuntime, handler_queues

__all__ = [
    "AsyncDramatiqEventBus",
    "DramatiqEventBus",
    "MaintenanceTimings",
    "RedisKeys",
    "WorkerRuntime",
    "handler_queues",
]

"""The HTTP adapter: a REST API over the monitoring and dead-letter ports, and a dashboard.

An entry point like the CLI: :func:`create_app` takes the composition root's container and
reads and acts on the bus only through its ports (:class:`QueueMonitor`, :class:`QueueControl`,
:class:`DeadLetters`), so the same app serves the in-memory and the Redis adapter.

Without a token only queue counts and health are served; ``HEXBUS_API_READ_TOKEN`` reads
event status, dead letters (without payloads) and the settings; the operator token
``HEXBUS_API_TOKEN`` also sees payloads and changes state; with no token configured those are
refused rather than left open (:mod:`.auth`, ADR 0016).
FastAPI and uvicorn come with the ``dashboard`` extra (``pip install 'hexbus[dashboard]'``);
without it, importing this package raises :class:`~hexbus.MissingExtra` saying so (ADR 0013).
With it, importing the package loads no FastAPI until :func:`create_app` is asked for, so a
worker that only reads this adapter's settings (``hexbus config`` lists them) stays light.
"""

from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

from ...domain.errors import MissingExtra

if find_spec("fastapi") is None or find_spec("uvicorn") is None:
    raise MissingExtra("hexbus.adapters.http", "dashboard")

if TYPE_CHECKING:
    from .app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app  # noqa: PLC0415 - FastAPI loads only when an app is built

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Where a worker thread says its handler returned, before it waits for its success record.

Recording a success is a round trip the thread must wait for (the ack is the success record,
ADR 0003), and under load the threads finish together and wait together: if nothing were
fetched meanwhile, each cycle would be the records' round trip, then the fetch's, then the
batch start's, one after the other. Told here, the worker pool counts the thread as free and
fetches the next messages while the record is on the wire (ADR 0019).

Made before the settlement (which tells it) and given to the pool (which listens), so the
parts are still built in one direction (ADR 0012).
"""

from __future__ import annotations

from collections.abc import Callable


class HandlerReturns:
    """A hook with at most one listener; nobody listening costs a call that does nothing."""

    def __init__(self) -> None:
        self._listener: Callable[[], None] | None = None

    def listen(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` on the thread whose handler returned, from now on."""
        self._listener = listener

    def __call__(self) -> None:
        listener = self._listener
        if listener is not None:
            listener()

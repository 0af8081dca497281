"""What a bus does with an event no handler subscribes to (ADR 0015).

An event type with no subscriber is legal, as in any pub/sub system: publishing it is
``ACCEPTED``. It is never dropped in silence, though: both adapters count it per type
(``hexbus stats``, the API, ``hexbus_events_unrouted_total``) and log it once per type per
period, and by default they keep it, for a retention, so that a handler subscribing later (a
worker started after the publisher, a deploy that adds the handler to the workers last) still
gets it.
"""

from __future__ import annotations

from datetime import timedelta

import attrs


@attrs.frozen(kw_only=True)
class UnroutedPolicy:
    """``keep``: hold unrouted events for ``retention`` and hand them to the first handlers that
    subscribe to their type (``HEXBUS_UNROUTED=keep``, the default); else only count them
    (``count``)."""

    keep: bool = True
    retention: timedelta = timedelta(days=7)

    def __attrs_post_init__(self) -> None:
        if self.retention <= timedelta(0):
            raise ValueError("the unrouted retention must be positive")

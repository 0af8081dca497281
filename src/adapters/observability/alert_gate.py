"""At most one alert per period for each thing alerted about, counting the ones held back.

A handler that dead-letters a thousand events in a minute is one incident, not a thousand
pages: whoever is on call needs the first one at once and then a count, not a flood that hides
every other alert. The gate is keyed by what the alert is about (kind and queue, or kind and
handler), so a second failing handler is still reported at once.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from datetime import datetime, timedelta

import attrs


@attrs.define
class _Key:
    last_sent: datetime
    held: int = 0


class AlertGate:
    """Decides whether an occurrence is alerted now; thread-safe."""

    def __init__(self, period: timedelta) -> None:
        if period <= timedelta(0):
            raise ValueError("the alert period must be positive")
        self.period = period
        self._keys: dict[Hashable, _Key] = {}
        self._lock = threading.Lock()

    def admit(self, key: Hashable, now: datetime) -> int | None:
        """None when an alert for ``key`` went out less than a period ago (this occurrence is
        counted for later); otherwise how many occurrences the alert sent now stands for: this
        one plus those held back since the last."""
        with self._lock:
            state = self._keys.get(key)
            if state is None:
                self._keys[key] = _Key(last_sent=now)
                return 1
            if now - state.last_sent < self.period:
                state.held += 1
                return None
            count = state.held + 1
            state.last_sent, state.held = now, 0
            return count

    @property
    def holding(self) -> bool:
        """Whether any occurrence is held back (cheap: read without the lock, as a hint)."""
        return any(state.held for state in list(self._keys.values()))

    def due(self, now: datetime) -> list[tuple[Hashable, int, datetime]]:
        """Held-back occurrences whose period is over: (key, count, last alert time) each.

        Without this, the occurrences after the last alert would never be reported if no new
        one came along to carry their count. Taking them restarts the key's period.
        """
        out: list[tuple[Hashable, int, datetime]] = []
        with self._lock:
            for key, state in self._keys.items():
                if state.held and now - state.last_sent >= self.period:
                    out.append((key, state.held, state.last_sent))
                    state.last_sent, state.held = now, 0
        return out

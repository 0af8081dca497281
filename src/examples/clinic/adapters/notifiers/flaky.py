"""A notifier that fails when told to: outages on demand for tests and the demo.

Real providers go down, throttle and reject numbers; the bus's retries and dead letters exist
for that. Wrapping the real (or recording) notifier in this one lets a test say "the next two
sends fail", "SMS is down" or "this address does not exist" and watch what the bus does,
without a mock and without waiting.
"""

from __future__ import annotations

import threading

from ...domain.errors import InvalidRecipient, NotificationFailed
from ...ports.notifier import Channel, Notification, Notifier


class FlakyNotifier:
    """A :class:`Notifier` that forwards to ``inner`` unless one of its failures applies.

    Checked in this order: a rejected recipient raises :class:`InvalidRecipient` (never worth
    retrying); a channel that is down, then a pending "fail the next N", raise
    :class:`NotificationFailed` (worth retrying). A failed send reaches nothing.
    """

    def __init__(self, inner: Notifier) -> None:
        self.inner = inner
        self._lock = threading.Lock()
        self._fail_next = 0
        self._down: set[Channel] = set()
        self._rejected: set[str] = set()
        self.attempts = 0
        """Sends asked for, failed or not."""
        self.failures = 0
        """Sends that raised."""

    # --- breaking it -----------------------------------------------------------------------

    def fail_next(self, count: int) -> None:
        """The next ``count`` sends (any channel, any recipient) raise NotificationFailed."""
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        with self._lock:
            self._fail_next = count

    def take_down(self, channel: Channel) -> None:
        """Every send on ``channel`` raises NotificationFailed until :meth:`restore`."""
        with self._lock:
            self._down.add(channel)

    def reject(self, recipient: str) -> None:
        """Every send to ``recipient`` raises InvalidRecipient until :meth:`accept`."""
        with self._lock:
            self._rejected.add(recipient)

    # --- fixing it -------------------------------------------------------------------------

    def restore(self, channel: Channel) -> None:
        """``channel`` works again."""
        with self._lock:
            self._down.discard(channel)

    def accept(self, recipient: str) -> None:
        """``recipient`` is reachable again."""
        with self._lock:
            self._rejected.discard(recipient)

    def heal(self) -> None:
        """Forget every failure asked for."""
        with self._lock:
            self._fail_next = 0
            self._down.clear()
            self._rejected.clear()

    # --- the Notifier port -----------------------------------------------------------------

    def send(self, notification: Notification) -> None:
        """Fail as told, or forward to the wrapped notifier."""
        with self._lock:
            self.attempts += 1
            error = self._failure_for(notification)
            if error is not None:
                self.failures += 1
        if error is not None:
            raise error
        self.inner.send(notification)

    def _failure_for(self, notification: Notification) -> Exception | None:
        channel = notification.channel.value
        if notification.to in self._rejected:
            return InvalidRecipient(
                f"{channel} recipient rejected by the provider: correct the contact, then retry"
            )
        if notification.channel in self._down:
            return NotificationFailed(f"{channel} provider is unavailable")
        if self._fail_next:
            self._fail_next -= 1
            return NotificationFailed(f"{channel} provider timed out")
        return None

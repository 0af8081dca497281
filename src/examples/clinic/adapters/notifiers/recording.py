"""A notifier that remembers what it sent: the fake for tests and the demo.

It de-duplicates by :attr:`Notification.key`, as a real provider's idempotency key would: a
handler that sent a message and then failed (or was redelivered) sends it again on its next
attempt, and the patient must still get one message. Counting ``duplicates`` shows how often
that saved someone a second text.
"""

from __future__ import annotations

import threading

from ...ports.notifier import Channel, Notification


class RecordingNotifier:
    """A :class:`Notifier` that keeps every distinct notification, in order."""

    def __init__(self) -> None:
        self._sent: dict[str, Notification] = {}
        self._lock = threading.Lock()
        self.duplicates = 0
        """How many sends repeated a key already sent (and were dropped)."""

    def send(self, notification: Notification) -> None:
        """Keep ``notification`` unless its key was sent already."""
        with self._lock:
            if notification.key in self._sent:
                self.duplicates += 1
                return
            self._sent[notification.key] = notification

    # --- helpers for assertions ------------------------------------------------------------

    @property
    def sent(self) -> tuple[Notification, ...]:
        """Every distinct notification, in the order sent."""
        with self._lock:
            return tuple(self._sent.values())

    def __len__(self) -> int:
        return len(self._sent)

    def to(self, recipient: str) -> list[Notification]:
        """Notifications sent to ``recipient``."""
        return [n for n in self.sent if n.to == recipient]

    def on(self, channel: Channel) -> list[Notification]:
        """Notifications sent on ``channel``."""
        return [n for n in self.sent if n.channel is channel]

    def with_template(self, template: str) -> list[Notification]:
        """Notifications whose key ends in ``:<template>`` (keys are ``<event_id>:<template>``)."""
        return [n for n in self.sent if n.key.endswith(f":{template}")]

    def get(self, key: str) -> Notification:
        """The notification sent with ``key``; AssertionError listing the keys otherwise."""
        with self._lock:
            found = self._sent.get(key)
            keys = list(self._sent)
        if found is None:
            raise AssertionError(f"nothing was sent with key {key!r}; sent: {keys or 'nothing'}")
        return found

    def clear(self) -> None:
        """Forget everything sent (the de-duplication keys too)."""
        with self._lock:
            self._sent.clear()
            self.duplicates = 0

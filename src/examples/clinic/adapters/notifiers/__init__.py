"""Notifier adapters: the outside services (SMS, email, WhatsApp) as this project runs them.

None of them talks to a provider: ``LoggingNotifier`` is the default (it logs that a message
went, never what it said), ``RecordingNotifier`` keeps what was sent for tests and the demo,
and ``FlakyNotifier`` wraps either to fail on purpose, so retries and dead letters can be
exercised without a real outage.
"""

from .flaky import FlakyNotifier
from .logging_notifier import LoggingNotifier, mask_recipient
from .recording import RecordingNotifier

__all__ = ["FlakyNotifier", "LoggingNotifier", "RecordingNotifier", "mask_recipient"]

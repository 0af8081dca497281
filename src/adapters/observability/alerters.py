"""Where alerts go: the log, a webhook, or a list (for tests).

The webhook is what reaches a person (Slack, Mattermost, Teams or Alertmanager-style
receivers all take a JSON POST); the log alerter is the default so that an unconfigured
installation still records every alert somewhere. Neither ever raises into the caller
(:class:`~hexbus.ports.alerts.Alerter`'s rule). Network delivery happens on a background
thread (:class:`BackgroundAlerter`): a dead letter is noticed in a worker's handler thread, and
that thread must not wait out a chat service's timeouts and retries.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import tenacity

from ...ports.alerts import Alert, Alerter, Severity

log = logging.getLogger("hexbus.alerts")

_LEVELS = {
    Severity.INFO: logging.INFO,
    Severity.WARNING: logging.WARNING,
    Severity.ERROR: logging.ERROR,
    Severity.CRITICAL: logging.CRITICAL,
}


def alert_body(alert: Alert) -> dict[str, Any]:
    """The JSON posted for ``alert``: its fields, plus ``text`` for chat webhooks that show
    only that (Slack's and Mattermost's incoming webhooks)."""
    return {
        "text": f"[{alert.severity.value.upper()}] {alert.title}: {alert.detail}",
        "source": "hexbus",
        "kind": alert.kind.value,
        "severity": alert.severity.value,
        "title": alert.title,
        "detail": alert.detail,
        "at": alert.at.isoformat(),
        "labels": dict(alert.labels),
    }


class LogAlerter:
    """Writes each alert as a log line at its severity, on logger ``hexbus.alerts``."""

    def send(self, alert: Alert) -> None:
        """Log it."""
        log.log(
            _LEVELS[alert.severity],
            "ALERT %s: %s (%s)",
            alert.title,
            alert.detail,
            alert.kind.value,
            extra={"alert_kind": alert.kind.value, "alert_labels": dict(alert.labels)},
        )


class RecordingAlerter:
    """Keeps alerts in a list: the fake for tests."""

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def send(self, alert: Alert) -> None:
        """Record it."""
        self.alerts.append(alert)


class _Retryable(Exception):
    """A response worth trying again (a 5xx, or 429 Too Many Requests)."""


class WebhookAlerter:
    """POSTs each alert as JSON to ``url``, retrying network errors and 5xx/429 responses.

    Each attempt has ``timeout`` seconds; ``attempts`` in all, with exponential waits between.
    After the last one it logs the failure and returns (alerts are best effort; the dead letter
    or the queue stats an alert points at stay where they are). The URL is never logged: chat
    webhooks carry their credential in it.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        attempts: int = 3,
        backoff: float = 0.5,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._url = url
        self._where = urlsplit(url).hostname or "the webhook"
        self._client = client or httpx.Client(timeout=timeout)
        self._timeout = timeout
        self._retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(max(attempts, 1)),
            wait=tenacity.wait_exponential(multiplier=backoff, max=30),
            retry=tenacity.retry_if_exception_type((httpx.TransportError, _Retryable)),
            sleep=sleep,
            reraise=True,
        )

    def send(self, alert: Alert) -> None:
        """Deliver it, or log why not."""
        body = alert_body(alert)
        try:
            self._retrying(self._post, body)
        except (httpx.HTTPError, _Retryable) as error:
            log.error(
                "alert %r not delivered to %s: %s: %s",
                alert.title,
                self._where,
                type(error).__name__,
                error,
            )
        except Exception:  # never into the bus, whatever went wrong
            log.exception("alert %r not delivered to %s", alert.title, self._where)

    def _post(self, body: dict[str, Any]) -> None:
        response = self._client.post(self._url, json=body, timeout=self._timeout)
        if response.status_code == 429 or response.status_code >= 500:
            raise _Retryable(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            # A 4xx will not get better by retrying: the URL or the payload is wrong.
            log.error(
                "alert rejected by %s with HTTP %d; check HEXBUS_ALERT_WEBHOOK_URL",
                self._where,
                response.status_code,
            )

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()


class BackgroundAlerter:
    """Hands alerts to ``inner`` on a thread of its own, so ``send`` returns at once.

    At most ``capacity`` alerts wait; beyond that they are logged and dropped (something is
    badly wrong, and the first ones already say so). Pending alerts are delivered at exit,
    for up to ``drain_timeout`` seconds.
    """

    def __init__(self, inner: Alerter, *, capacity: int = 100, drain_timeout: float = 10.0) -> None:
        self._inner = inner
        self._queue: queue.Queue[Alert | None] = queue.Queue(maxsize=capacity)
        self._drain_timeout = drain_timeout
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def send(self, alert: Alert) -> None:
        """Queue it for delivery."""
        self._ensure_thread()
        try:
            self._queue.put_nowait(alert)
        except queue.Full:
            log.error("alert queue full; dropped %r: %s", alert.title, alert.detail)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued alert was handed on; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self) -> None:
        """Deliver what is queued (up to the drain timeout) and stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return
        try:
            self._queue.put(None, timeout=self._drain_timeout)
        except queue.Full:
            return  # the thread is stuck delivering; it is a daemon and dies with the process
        thread.join(timeout=self._drain_timeout)

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="hexbus-alerts", daemon=True)
                self._thread.start()
                atexit.register(self.close)

    def _run(self) -> None:
        while True:
            alert = self._queue.get()
            try:
                if alert is None:
                    return
                self._inner.send(alert)
            except Exception:
                log.exception("alerter %r failed", self._inner)
            finally:
                self._queue.task_done()

"""Health for machines and for operators (ADR 0016, superseding that part of ADR 0011).

* ``/health/live``: the process is up and answering (200), nothing else is asked. For a
  liveness probe: a restart cures nothing that Redis or a handler does.
* ``/health/ready``: Redis answers a PING within ``HEXBUS_READY_MAX_LATENCY`` (200), else 503.
  For a load balancer: this process can serve the API now.
* ``/health``: the operator's view, four checks: Redis (reachable, round-trip time), workers
  (heartbeats seen recently), backlog and failure rate (per queue, against the alert
  thresholds). *down* means nothing can be published (Redis unreachable) and answers 503;
  *degraded* means events are accepted but will not be handled as expected (no live worker, a
  threshold crossed, stats unreadable) and answers 200, with ``failing`` naming each failing
  check and why: a queue failing its handlers is exactly when operators need the API, so it
  must not take the API out of a load balancer.

On the in-memory bus there is no Redis and handlers run in-process, so those two checks say so
instead of failing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Literal

import redis
from pydantic import BaseModel, Field

from ...domain.errors import HexbusError
from ...ports.monitoring import QueueMonitor, QueueStats
from ..redaction import redact_text
from .badges import Thresholds, backlog

Status = Literal["ok", "degraded", "down"]


class RedisCheck(BaseModel):
    """Whether Redis answers a PING, and how fast."""

    status: Literal["ok", "down", "not used"]
    reachable: bool | None = None
    latency_ms: float | None = None
    error: str | None = None


class WorkersCheck(BaseModel):
    """Worker processes whose heartbeat is recent."""

    status: Literal["ok", "down", "in-process"]
    alive: int | None = None
    workers: list[str] | None = None


class BacklogCheck(BaseModel):
    """The largest backlog (messages waiting) of any queue, against the threshold."""

    status: Literal["ok", "warning", "unknown"]
    threshold: int
    largest: int | None = None
    queue: str | None = None
    over: list[str] = []


class FailureRateCheck(BaseModel):
    """The highest failure rate of any queue over the stats window, against the threshold."""

    status: Literal["ok", "warning", "unknown"]
    threshold: float
    highest: float | None = None
    queue: str | None = None
    over: list[str] = []


class HealthChecks(BaseModel):
    """Each check's finding."""

    redis: RedisCheck
    workers: WorkersCheck
    backlog: BacklogCheck
    failure_rate: FailureRateCheck


class FailingCheck(BaseModel):
    """One check that is not ok, and why."""

    check: Literal["redis", "workers", "backlog", "failure_rate"]
    reason: str


class HealthOut(BaseModel):
    """The overall status, what is failing, and each check behind it."""

    status: Status
    failing: list[FailingCheck] = Field(description="Each check that is not ok, and why.")
    checks: HealthChecks


class LiveOut(BaseModel):
    """The process answers."""

    status: Literal["live"] = "live"


class ReadyOut(BaseModel):
    """Whether this process can serve now: Redis reachable within the latency limit."""

    status: Literal["ready", "not ready"]
    redis: RedisCheck
    max_latency_ms: float


class HealthProbe:
    """Runs the checks; on Redis give it the ``client`` and the ``live_workers`` query."""

    def __init__(
        self,
        monitor: QueueMonitor,
        thresholds: Thresholds,
        *,
        client: redis.Redis | None = None,
        live_workers: Callable[[], list[str]] | None = None,
        ready_max_latency: timedelta = timedelta(milliseconds=500),
        secrets: tuple[str, ...] = (),
    ) -> None:
        self._monitor = monitor
        self._thresholds = thresholds
        self._redis = client
        self._live_workers = live_workers
        self._max_latency_ms = ready_max_latency.total_seconds() * 1000
        self._secrets = secrets

    def ready(self) -> ReadyOut:
        """Redis reachable within the latency limit (always, on the in-memory bus)."""
        check = self._check_redis()
        fast = check.latency_ms is None or check.latency_ms <= self._max_latency_ms
        ready = check.status != "down" and fast
        return ReadyOut(
            status="ready" if ready else "not ready",
            redis=check,
            max_latency_ms=round(self._max_latency_ms, 3),
        )

    def check(self) -> HealthOut:
        """Every check, then the overall status."""
        redis_check = self._check_redis()
        reachable = redis_check.status != "down"
        workers = self._check_workers() if reachable else WorkersCheck(status="down")
        stats: list[QueueStats] | None = None
        if reachable:
            try:
                stats = self._monitor.queue_stats()
            except (HexbusError, redis.RedisError):
                stats = None  # shown as "unknown", and the status as degraded
        checks = HealthChecks(
            redis=redis_check,
            workers=workers,
            backlog=self._check_backlog(stats),
            failure_rate=self._check_failure_rate(stats),
        )
        return HealthOut(status=_overall(checks), failing=_failing(checks), checks=checks)

    def _check_redis(self) -> RedisCheck:
        if self._redis is None:
            return RedisCheck(status="not used")
        started = time.perf_counter()
        try:
            self._redis.ping()
        except redis.RedisError as error:
            return RedisCheck(
                status="down",
                reachable=False,
                error=redact_text(f"{type(error).__name__}: {error}", self._secrets),
            )
        latency = (time.perf_counter() - started) * 1000
        return RedisCheck(status="ok", reachable=True, latency_ms=round(latency, 3))

    def _check_workers(self) -> WorkersCheck:
        if self._live_workers is None:
            return WorkersCheck(status="in-process")
        try:
            alive = self._live_workers()
        except redis.RedisError:
            return WorkersCheck(status="down")
        return WorkersCheck(status="ok" if alive else "down", alive=len(alive), workers=alive)

    def _check_backlog(self, stats: list[QueueStats] | None) -> BacklogCheck:
        limit = self._thresholds.backlog
        if stats is None:
            return BacklogCheck(status="unknown", threshold=limit)
        over = [s.queue for s in stats if backlog(s) > limit]
        largest = max(stats, key=backlog, default=None)
        return BacklogCheck(
            status="warning" if over else "ok",
            threshold=limit,
            largest=backlog(largest) if largest else 0,
            queue=largest.queue if largest and backlog(largest) else None,
            over=over,
        )

    def _check_failure_rate(self, stats: list[QueueStats] | None) -> FailureRateCheck:
        limit = self._thresholds.failure_rate
        if stats is None:
            return FailureRateCheck(status="unknown", threshold=limit)
        over = [s.queue for s in stats if s.failure_rate > limit]
        highest = max(stats, key=lambda s: s.failure_rate, default=None)
        return FailureRateCheck(
            status="warning" if over else "ok",
            threshold=limit,
            highest=round(highest.failure_rate, 4) if highest else 0.0,
            queue=highest.queue if highest and highest.failure_rate else None,
            over=over,
        )


def _failing(checks: HealthChecks) -> list[FailingCheck]:
    failing = []
    if checks.redis.status == "down":
        failing.append(FailingCheck(check="redis", reason=f"unreachable: {checks.redis.error}"))
    if checks.workers.status == "down":
        failing.append(FailingCheck(check="workers", reason="no worker heartbeat seen recently"))
    backlog, rate = checks.backlog, checks.failure_rate
    if backlog.status == "unknown" or rate.status == "unknown":
        what = "stats unreadable"
        if backlog.status == "unknown":
            failing.append(FailingCheck(check="backlog", reason=what))
        if rate.status == "unknown":
            failing.append(FailingCheck(check="failure_rate", reason=what))
    if backlog.status == "warning":
        failing.append(
            FailingCheck(
                check="backlog",
                reason=f"over {backlog.threshold} waiting on {', '.join(backlog.over)}",
            )
        )
    if rate.status == "warning":
        failing.append(
            FailingCheck(
                check="failure_rate",
                reason=f"over {rate.threshold:.0%} of recent runs failed on {', '.join(rate.over)}",
            )
        )
    return failing


def _overall(checks: HealthChecks) -> Status:
    if checks.redis.status == "down":
        return "down"
    if (
        checks.workers.status == "down"
        or checks.backlog.status != "ok"
        or checks.failure_rate.status != "ok"
    ):
        return "degraded"
    return "ok"

"""``/health``: can this deployment do its work right now, and if not, why.

Four checks, each with its own status so a load balancer reads one word and an operator the
reason: Redis (reachable, round-trip time), workers (heartbeats seen recently), backlog and
failure rate (per queue, against the alert thresholds). *down* means nothing can be published
(Redis unreachable); *degraded* means events are accepted but will not be handled as expected
(no live worker, a threshold crossed, stats unreadable). Both answer 503; *ok* answers 200.
On the in-memory bus there is no Redis and handlers run in-process, so those two checks say so
instead of failing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

import redis
from pydantic import BaseModel

from ...domain.errors import HexbusError
from ...ports.monitoring import QueueMonitor, QueueStats
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


class HealthOut(BaseModel):
    """The overall status and each check behind it."""

    status: Status
    checks: HealthChecks


class HealthProbe:
    """Runs the checks; on Redis give it the ``client`` and the ``live_workers`` query."""

    def __init__(
        self,
        monitor: QueueMonitor,
        thresholds: Thresholds,
        *,
        client: redis.Redis | None = None,
        live_workers: Callable[[], list[str]] | None = None,
    ) -> None:
        self._monitor = monitor
        self._thresholds = thresholds
        self._redis = client
        self._live_workers = live_workers

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
        return HealthOut(status=_overall(checks), checks=checks)

    def _check_redis(self) -> RedisCheck:
        if self._redis is None:
            return RedisCheck(status="not used")
        started = time.perf_counter()
        try:
            self._redis.ping()
        except redis.RedisError as error:
            return RedisCheck(
                status="down", reachable=False, error=f"{type(error).__name__}: {error}"
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

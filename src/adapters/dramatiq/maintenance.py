"""Background upkeep every worker process runs: heartbeat, due entries, dead workers.

* Heartbeat: a dedicated thread writes this process's heartbeat every ``heartbeat_interval``.
  Dramatiq only heartbeats as a side effect of fetching, so a process whose threads are all
  busy with long handlers would look dead and have its work run twice.
* Mover: at each due time, due schedule entries (retries, delayed events, rate-limited runs)
  move into their queues (``move_due.lua``; safe with any number of movers). It sleeps until
  the next due time and is woken by an earlier one (:mod:`.mover`, ADR 0019).
* Recovery: every ``recover_interval``, the in-flight messages of brokers whose heartbeat is
  older than ``heartbeat_timeout``, or gone, go back to the head of their queues
  (``recover.lua``). Their acks sets are found through ``{ns}:acks:registry``, which every
  fetch adds to, so a broker whose heartbeat was deleted is recovered too (ADR 0017). A queue
  whose keys hold the wrong type is skipped and reported; every other one is recovered.
* Routes (a worker's, ADR 0015): at start and with every heartbeat the process declares the
  routes of the handlers it serves (``declare_routes.lua``, which also hands kept unrouted
  events to the routes of their type), removes the routes no worker declared for
  ``route_grace`` and drops kept events past ``unrouted_retention``.
* Statistics: every ``stats_prune_interval``, the per-minute counts older than their
  retention leave every queue's stats hash (``prune_stats.lua``): they are fields, which
  have no TTL of their own (keys.py).

So a SIGKILLed worker's messages run again within heartbeat_timeout + recover_interval
(defaults 10 s + 1 s), instead of Dramatiq's 60 s plus minutes of chance (ADR 0007).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import timedelta

import attrs
import redis

from ...ports.clock import Clock
from ..clocks import SystemClock
from .keys import RedisKeys
from .messages import MESSAGE_TEMPLATE
from .millis import epoch_ms
from .mover import MOVE_RETRY_MS, DueMover
from .routes import Declaration, RedisRoutes
from .scripts import Scripts
from .tracking import Tracking, minute_of

log = logging.getLogger("hexbus.maintenance")


@attrs.frozen(kw_only=True)
class MaintenanceTimings:
    """How often upkeep runs, and when a silent broker counts as dead."""

    heartbeat_interval: timedelta = timedelta(seconds=1)
    heartbeat_timeout: timedelta = timedelta(seconds=10)
    move_interval: timedelta = timedelta(seconds=1)
    """The longest the mover sleeps when no entry is due sooner: a safety net, since it wakes
    at each due time and when an earlier one is announced (ADR 0019)."""
    recover_interval: timedelta = timedelta(seconds=1)
    move_batch: int = 100
    """Due entries one ``move_due.lua`` call moves. Redis runs nothing else during a call, and
    its length grows with the entries it moves, so a burst of due entries is moved in short
    calls between which the workers already fetch and start what was moved, rather than in
    long ones that hold every client and the burst's first job until they end (ADR 0019)."""
    status_ttl: timedelta = timedelta(days=7)
    stats_prune_interval: timedelta = timedelta(minutes=1)
    route_grace: timedelta = timedelta(hours=1)
    """How long a route stays once no live worker declares it (``HEXBUS_ROUTE_GRACE``)."""
    unrouted_retention: timedelta = timedelta(days=7)
    """How long an unrouted event is kept (``HEXBUS_UNROUTED_RETENTION``): a delayed one the
    mover finds still unrouted when due, and the horizon of the kept events it hands out."""

    def __attrs_post_init__(self) -> None:
        if self.heartbeat_timeout < 3 * self.heartbeat_interval:
            raise ValueError("heartbeat_timeout must be at least 3 heartbeat intervals")
        if self.route_grace < self.heartbeat_timeout:
            raise ValueError("route_grace must be at least the heartbeat timeout")


class Maintenance:
    """Runs the upkeep loops on daemon threads until stopped."""

    def __init__(
        self,
        client: redis.Redis,
        keys: RedisKeys,
        *,
        broker_id: str,
        queues: Iterable[str],
        timings: MaintenanceTimings | None = None,
        clock: Clock | None = None,
        routes: RedisRoutes | None = None,
        declaration: Declaration | None = None,
        tracking: Tracking | None = None,
    ) -> None:
        self._client = client
        self._keys = keys
        self._scripts = Scripts.register(client)
        self._broker_id = broker_id
        self._queues = sorted(set(queues))
        self.timings = timings or MaintenanceTimings()
        self._clock = clock or SystemClock()
        self._routes = routes
        self._declaration = declaration if routes is not None else None
        self._stats_retention = (tracking or Tracking()).stats_retention
        # What the scripts fill in as they go, from the one place that names each key and
        # writes the message format (ADR 0012).
        move_args: list[str | int] = [
            int(self.timings.status_ttl.total_seconds() * 1000),
            MESSAGE_TEMPLATE,
            keys.queue_template,
            keys.messages_template,
            keys.wake_template,
            keys.stats_template,
            keys.status_template,
            keys.unrouted_kept_template,
            int(self.timings.unrouted_retention.total_seconds() * 1000),
            keys.unrouted_given_template,
            MOVE_RETRY_MS,
        ]
        self._mover = DueMover(
            client,
            keys,
            self._scripts,
            args=move_args,
            batch=self.timings.move_batch,
            clock=self._clock,
            wait_limit=self.timings.move_interval,
        )
        self._recover_args: list[str | int] = [
            int(self.timings.heartbeat_timeout.total_seconds() * 1000),
            keys.acks_template,
            keys.queue_template,
            keys.messages_template,
            keys.wake_template,
        ]
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []
        self._reported: frozenset[str] = frozenset()

    def start(self) -> None:
        """Announce the queues and the routes, and start the loops.

        The routes are declared before this returns, so an event published once the worker
        has started is routed to it.
        """
        if self._queues:
            self._client.sadd(self._keys.queues, *self._queues)
        self.beat()
        self.declare_routes()
        t = self.timings
        loops: list[tuple[str, timedelta, object]] = [
            ("heartbeat", t.heartbeat_interval, self.beat),
            ("recovery", t.recover_interval, self.recover),
            ("stats", t.stats_prune_interval, self.prune_stats),
        ]
        if self._routes is not None:
            loops.append(("routes", t.heartbeat_interval, self.upkeep_routes))
        for name, interval, step in loops:
            self._spawn(name, self._loop, interval, step)
        self.start_mover()

    def start_mover(self) -> None:
        """Start the mover alone (``hexbus scheduler`` runs only this loop)."""
        self._spawn("mover", self._mover.run, self._stopped)

    def _spawn(self, name: str, target: object, *args: object) -> None:
        assert callable(target)
        thread = threading.Thread(target=target, args=args, name=f"hexbus-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        """Stop the loops (the heartbeat stays until it expires or the broker is reaped)."""
        self._stopped.set()
        for thread in self._threads:
            thread.join(timeout=2)

    def forget(self) -> bool:
        """Remove this broker's heartbeat after a clean shutdown, unless its acks sets still
        hold messages (a handler outlived the shutdown timeout, or Redis was away when one
        was to be put back): then the heartbeat is left to go stale, so that recovery returns
        them. Without a heartbeat, nothing would ever look at those acks sets again."""
        pipe = self._client.pipeline(transaction=False)
        for queue in self._queues:
            pipe.scard(self._keys.acks(self._broker_id, queue))
        counts = [int(n) for n in pipe.execute()]
        pairs = zip(self._queues, counts, strict=True)
        empty = [f"{self._broker_id}|{queue}" for queue, n in pairs if not n]
        if empty:
            self._client.srem(self._keys.acks_registry, *empty)
        in_flight = sum(counts)
        if in_flight:
            log.warning(
                "%d message(s) still in flight at exit: recovery returns them once this "
                "worker's heartbeat is %s old",
                in_flight,
                self.timings.heartbeat_timeout,
            )
            return False
        self._client.zrem(self._keys.heartbeats, self._broker_id)
        return True

    def withdraw_routes(self) -> None:
        """Take this process's route declaration back as it leaves (its routes stay until no
        live worker has declared them for the grace period, or ``hexbus routes prune``)."""
        if self._routes is not None and self._declaration is not None:
            self._routes.withdraw(self._declaration.broker_id)

    # --- one step of each loop (public so tests and ``hexbus scheduler`` can drive them) ----

    def beat(self) -> None:
        """Write this process's heartbeat."""
        self._client.zadd(self._keys.heartbeats, {self._broker_id: self._now_ms()})

    def move_due(self) -> int:
        """Move every due schedule entry into its queue; returns how many."""
        moved, _ = self._mover.move_due()
        return moved

    def declare_routes(self) -> int:
        """Declare (refresh) this process's routes; returns how many kept unrouted events
        that handed to them."""
        if self._routes is None or self._declaration is None:
            return 0
        declared = self._routes.declare(self._declaration)
        if declared.changed:
            log.info(
                "routes declared: %s",
                ", ".join(
                    f"{r.event_type} -> {r.handler} ({r.queue})" for r in self._declaration.routes
                ),
            )
        if declared.delivered:
            log.warning(
                "handed %d kept unrouted event(s) to the routes of their type",
                declared.delivered,
            )
        return declared.delivered

    def prune_routes(self) -> list[str]:
        """Remove the routes no worker declared for the grace period; returns their handlers."""
        if self._routes is None:
            return []
        pruned = self._routes.prune_stale()
        if pruned:
            log.warning(
                "pruned the routes of %s: no live worker declared them for %s",
                ", ".join(pruned),
                self.timings.route_grace,
            )
        return pruned

    def upkeep_routes(self) -> None:
        """One step of the routes loop: refresh this process's routes, prune stale ones, and
        drop kept unrouted events past their retention."""
        self.declare_routes()
        self.prune_routes()
        if self._routes is not None:
            self._routes.trim_unrouted()

    def recover(self) -> int:
        """Give dead brokers' in-flight messages back; returns how many.

        An acks set whose queue has a key of the wrong type is left (and logged, once each
        time the set of such problems changes); all others are recovered."""
        reply = self._scripts.recover(
            keys=[
                self._keys.heartbeats,
                self._keys.queues,
                self._keys.route_workers,
                self._keys.acks_registry,
            ],
            args=[self._now_ms(), *self._recover_args],
        )
        recovered = int(reply[0])
        problems = frozenset(
            p.decode("utf-8", "backslashreplace") if isinstance(p, bytes) else str(p)
            for p in reply[1:]
        )
        if problems != self._reported:
            for problem in sorted(problems - self._reported):
                log.error("cannot recover the in-flight messages of %s; fix the key", problem)
            self._reported = problems
        if recovered:
            log.warning("recovered %d in-flight message(s) of dead workers", recovered)
        return recovered

    def prune_stats(self) -> int:
        """Remove the per-minute counts older than their retention from every queue's
        stats; returns how many fields went."""
        oldest = minute_of(self._clock.now() - self._stats_retention)
        return int(
            self._scripts.prune_stats(
                keys=[self._keys.queues],
                args=[self._keys.stats_template, oldest, *self._queues],
            )
        )

    @property
    def recovery_problems(self) -> frozenset[str]:
        """The acks sets the last recovery could not empty, each with its reason."""
        return self._reported

    def _loop(self, interval: timedelta, step: object) -> None:
        seconds = interval.total_seconds()
        assert callable(step)
        while not self._stopped.wait(seconds):
            try:
                step()
            except redis.RedisError as error:
                log.warning(
                    "maintenance step %s failed: %s", getattr(step, "__name__", step), error
                )

    def _now_ms(self) -> int:
        return epoch_ms(self._clock.now())

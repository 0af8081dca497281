"""Subscriptions held by Redis: the routes workers declare and publishers fan out from.

A route says that events of one type go to one handler on one queue (its priority suffix
included). Routes belong to the broker, as bindings do in RabbitMQ (ADR 0015): each worker
declares the handlers it serves when it starts and again with every heartbeat
(``declare_routes.lua``), and a publisher reads the table (``{ns}:routes:table``) instead of
building the workers' handler registry, so it needs the event classes only.

* **Publishers cache the table with its version** (:class:`RouteCache`). Every publish script
  gets the version it was built from and compares it with ``{ns}:routes:version`` in the same
  step: when they differ it writes nothing and answers "stale", and the publisher reads the
  table again (one ``MULTI`` of ``GET`` and ``HGETALL``) and publishes again. In the steady
  state publishing stays one round trip per event, ``publish_all`` one per batch.
* **Workers disagreeing on a handler** (a rolling deploy): the route is the declaration of the
  live worker that started last; an older one keeps draining its own queue.
* **Pruning**: a route no worker has declared for ``HEXBUS_ROUTE_GRACE`` is removed by any
  worker's upkeep (``prune_routes.lua``), or at once by ``hexbus routes prune``. Messages
  already queued for it stay in their queue.
* **Unrouted events** (no route has their type) are accepted, counted per type and, unless
  ``HEXBUS_UNROUTED=count``, kept for ``HEXBUS_UNROUTED_RETENTION``; every route of their type
  declared within it is handed each of them once (a cursor per handler).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Generic, TypeVar

import attrs
import redis

from ...application.unrouted import UnroutedPolicy
from ...domain.errors import EventBusUnavailable
from ...ports.clock import Clock
from ...ports.handlers import HandlerSpec
from ...ports.monitoring import UnroutedStats
from ...ports.routes import RouteDeclarer, RouteInfo
from ..clocks import SystemClock
from .connection import translated
from .keys import RedisKeys
from .messages import MESSAGE_TEMPLATE, queue_for
from .millis import epoch_ms, ms
from .scripts import Scripts

T = TypeVar("T")
R = TypeVar("R")

NO_VERSION: Final = ""
"""The version of a table no worker has written yet (``{ns}:routes:version`` absent)."""
STALE: Final = -1
"""What a publish script answers when the route table changed since the caller read it."""
STALE_TRIES: Final = 5
"""How many times a publish reads a changed table again before giving up (routes change with
deploys, a few times a day: more than one re-read in a row means they are changing right now)."""
DELIVER_BATCH: Final = 500
"""At most this many kept events handed out per declaration call (a short script)."""


@attrs.frozen
class Route:
    """Events of ``event_type`` go to ``handler`` on ``queue`` (priority suffix included)."""

    handler: str
    event_type: str
    queue: str

    @classmethod
    def of(cls, spec: HandlerSpec) -> Route:
        """The route a registered handler asks for."""
        return cls(spec.name, spec.event_type, queue_for(spec))


@attrs.frozen
class RouteRecord:
    """A route as the table stores it: ``queue|since ms|owner|owner started ms|event type``
    (the type last: it is the one part that may hold a ``|``)."""

    route: Route
    since_ms: int
    owner: str
    owner_started_ms: int

    @classmethod
    def parse(cls, handler: str, text: str) -> RouteRecord | None:
        """The record, or None for a value that is not one."""
        parts = text.split("|", 4)
        if len(parts) != 5:
            return None
        queue, since, owner, started, event_type = parts
        try:
            return cls(Route(handler, event_type, queue), int(since), owner, int(started))
        except ValueError:
            return None


@attrs.frozen
class RouteTable:
    """The routes as one read found them, with the version they had then."""

    version: str
    routes: tuple[Route, ...]

    @classmethod
    def parse(cls, version: bytes | str | None, raw: Mapping[Any, Any]) -> RouteTable:
        """From ``GET {ns}:routes:version`` and ``HGETALL {ns}:routes:table``."""
        routes = []
        for handler, value in raw.items():
            record = RouteRecord.parse(_text(handler), _text(value))
            if record is not None:
                routes.append(record.route)
        return cls(
            NO_VERSION if version is None else _text(version),
            tuple(sorted(routes, key=lambda r: r.handler)),
        )

    def by_type(self) -> dict[str, tuple[Route, ...]]:
        """Event type -> its routes, by handler name (the order messages are written in)."""
        grouped: dict[str, list[Route]] = {}
        for route in self.routes:
            grouped.setdefault(route.event_type, []).append(route)
        return {event_type: tuple(routes) for event_type, routes in grouped.items()}


class RouteCache(Generic[T]):
    """The table a publisher last read (in whatever form it compiles it to), read on first use
    and again only when a publish script says it is stale.

    Thread-safe: of several threads that find the same table stale, one reads it again and
    the others use what it read.
    """

    def __init__(self, read: Callable[[], T]) -> None:
        self._read = read
        self._table: T | None = None
        self._lock = threading.Lock()

    def current(self) -> T:
        """The cached table; read now if this publisher never read one."""
        table = self._table
        if table is None:
            with self._lock:
                if self._table is None:
                    self._table = self._read()
                table = self._table
        return table

    def refresh(self, stale: T) -> T:
        """A fresh table instead of ``stale`` (read again unless another thread just did)."""
        with self._lock:
            if self._table is stale or self._table is None:
                self._table = self._read()
            return self._table


def fresh(cache: RouteCache[T], attempt: Callable[[T], R], is_stale: Callable[[R], bool]) -> R:
    """``attempt(table)`` with the cached table, again with a fresh one while it is stale.

    A stale attempt wrote nothing (the scripts check the version first), so trying again is
    safe. Raises :class:`EventBusUnavailable` if the table changes under every try.
    """
    table = cache.current()
    answer = attempt(table)
    for _ in range(STALE_TRIES - 1):
        if not is_stale(answer):
            return answer
        table = cache.refresh(table)
        answer = attempt(table)
    if not is_stale(answer):
        return answer
    raise EventBusUnavailable(
        f"the route table changed under {STALE_TRIES} publish attempts in a row (workers "
        "declaring routes right now); nothing was written, so publishing again is safe"
    )


@attrs.frozen(kw_only=True)
class Declaration:
    """The routes one worker process declares: its handlers on the queues it serves."""

    broker_id: str
    started: datetime
    routes: tuple[Route, ...]
    queues: tuple[str, ...] = ()
    """The queues the worker consumes (shown by the workers view)."""
    threads: int | None = None
    """Its worker threads, when it said (shown by the workers view)."""

    @classmethod
    def of(
        cls,
        specs: Iterable[HandlerSpec],
        queues: Iterable[str],
        *,
        broker_id: str,
        started: datetime,
        threads: int | None = None,
    ) -> Declaration:
        """The handlers among ``specs`` whose queue is one of ``queues``: a worker declares
        what it serves, not every handler its app registers."""
        served = set(queues)
        listed = tuple(sorted(served))
        routes = tuple(
            sorted(
                (Route.of(spec) for spec in specs if queue_for(spec) in served),
                key=lambda r: r.handler,
            )
        )
        return cls(
            broker_id=broker_id, started=started, routes=routes, queues=listed, threads=threads
        )

    @property
    def started_ms(self) -> int:
        """When the worker started, ms."""
        return epoch_ms(self.started)

    def record(self) -> str:
        """What ``{ns}:routes:workers`` keeps of it, for ``hexbus routes``."""
        return json.dumps(
            {
                "started": self.started_ms,
                "routes": [[r.handler, r.queue, r.event_type] for r in self.routes],
                "queues": list(self.queues),
                "threads": self.threads,
            },
            separators=(",", ":"),
        )


@attrs.frozen
class Declared:
    """What one declaration did: whether the table changed, how many kept events it handed out."""

    changed: bool
    delivered: int


class RedisRoutes:
    """The route table in Redis: read by publishers, declared by workers, listed and pruned by
    operators (the :class:`~hexbus.ports.routes.RouteDirectory` port)."""

    def __init__(
        self,
        client: redis.Redis,
        keys: RedisKeys,
        *,
        clock: Clock | None = None,
        heartbeat_timeout: timedelta = timedelta(seconds=10),
        grace: timedelta = timedelta(hours=1),
        unrouted: UnroutedPolicy | None = None,
        deliver_batch: int = DELIVER_BATCH,
    ) -> None:
        if grace < heartbeat_timeout:
            raise ValueError("the route grace period must be at least the heartbeat timeout")
        self._client = client
        self._keys = keys
        self._scripts = Scripts.register(client)
        self._clock = clock or SystemClock()
        self.heartbeat_timeout = heartbeat_timeout
        self.grace = grace
        self.unrouted = unrouted or UnroutedPolicy()
        self._deliver_batch = deliver_batch
        self._declare_keys = [
            keys.routes,
            keys.routes_version,
            keys.routes_seen,
            keys.route_workers,
            keys.heartbeats,
        ]
        self._templates = [
            MESSAGE_TEMPLATE,
            keys.queue_template,
            keys.messages_template,
            keys.wake_template,
            keys.published_template,
            keys.status_template,
            keys.unrouted_kept_template,
            keys.unrouted_given_template,
        ]

    # --- publishers -----------------------------------------------------------------------

    def read(self) -> RouteTable:
        """The table and its version, read together (``MULTI``: one round trip)."""
        pipe = self._client.pipeline(transaction=True)
        pipe.get(self._keys.routes_version)
        pipe.hgetall(self._keys.routes)
        version, raw = pipe.execute()
        return RouteTable.parse(version, raw)

    # --- workers ----------------------------------------------------------------------------

    def declare(self, declaration: Declaration, *, rounds: int = 20) -> Declared:
        """Declare (or refresh) a worker's routes; hand the kept events of their types to the
        routes, ``deliver_batch`` per call, for at most ``rounds`` calls (the next beat goes
        on with the rest)."""
        args: list[str | int] = [
            declaration.broker_id,
            declaration.started_ms,
            0,  # now, filled per call
            ms(self.heartbeat_timeout),
            "",  # a fresh version token, per call
            declaration.record(),
            ms(self.unrouted.retention),
            self._deliver_batch,
            *self._templates,
        ]
        for route in declaration.routes:
            args += [route.handler, route.queue, route.event_type]
        changed, delivered = False, 0
        for _ in range(rounds):
            args[2] = epoch_ms(self._clock.now())
            args[4] = uuid.uuid4().hex
            did_change, handed, more = self._scripts.declare_routes(
                keys=self._declare_keys, args=args
            )
            changed = changed or bool(did_change)
            delivered += int(handed)
            if not more:
                break
        return Declared(changed, delivered)

    def withdraw(self, broker_id: str) -> None:
        """A worker leaving cleanly takes its declaration back (its routes stay until no live
        worker has declared them for the grace period)."""
        self._client.hdel(self._keys.route_workers, broker_id)

    def prune_stale(self) -> list[str]:
        """Remove the routes no worker declared for the grace period (maintenance)."""
        return self._prune(self.grace)

    def trim_unrouted(self) -> int:
        """Drop kept unrouted events past their retention (maintenance); returns how many."""
        return int(
            self._scripts.trim_unrouted(
                keys=[self._keys.unrouted],
                args=[
                    self._keys.unrouted_kept_template,
                    self._keys.unrouted_given_template,
                    epoch_ms(self._clock.now() - self.unrouted.retention),
                ],
            )
        )

    # --- the RouteDirectory port (operators) -------------------------------------------------

    @translated
    def routes(self) -> list[RouteInfo]:
        """Every route with the live workers declaring it: one round trip."""
        return self._listing()[0]

    def _listing(self) -> tuple[list[RouteInfo], dict[str, int]]:
        """The routes, and when each was last declared (ms, as stored)."""
        horizon = epoch_ms(self._clock.now() - self.heartbeat_timeout)
        pipe = self._client.pipeline(transaction=False)
        pipe.hgetall(self._keys.routes)
        pipe.zrange(self._keys.routes_seen, 0, -1, withscores=True)
        pipe.hgetall(self._keys.route_workers)
        pipe.zrangebyscore(self._keys.heartbeats, horizon, "+inf")
        raw_routes, raw_seen, raw_workers, raw_live = pipe.execute()
        seen = {_text(name): int(score) for name, score in raw_seen}
        live = {_text(broker) for broker in raw_live}
        declarers: dict[str, list[RouteDeclarer]] = {}
        for broker, record in raw_workers.items():
            worker = _text(broker)
            if worker not in live:
                continue
            try:
                declared = json.loads(record)
                since = _time(int(declared["started"]))
                for handler, queue, event_type in declared["routes"]:
                    declarers.setdefault(handler, []).append(
                        RouteDeclarer(
                            worker=worker, since=since, queue=queue, event_type=event_type
                        )
                    )
            except (ValueError, KeyError, TypeError):
                continue  # not a declaration of ours: shown as nothing
        out = []
        for handler, value in raw_routes.items():
            name = _text(handler)
            record = RouteRecord.parse(name, _text(value))
            if record is None:
                continue
            out.append(
                RouteInfo(
                    handler=name,
                    event_type=record.route.event_type,
                    queue=record.route.queue,
                    since=_time(record.since_ms),
                    last_declared=_time(seen[name]) if name in seen else None,
                    owner=record.owner,
                    declared_by=tuple(
                        sorted(declarers.get(name, ()), key=lambda d: (d.since or _EPOCH, d.worker))
                    ),
                )
            )
        return sorted(out, key=lambda r: (r.event_type, r.handler)), seen

    @translated
    def prune(self, handlers: Collection[str] | None = None) -> list[str]:
        """Remove now the routes of ``handlers`` (default: all) that no live worker declares,
        without waiting for the grace period; a route declared again meanwhile stays."""
        listed, seen = self._listing()
        candidates = [
            route.handler
            for route in listed
            if not route.live and (handlers is None or route.handler in handlers)
        ]
        if not candidates:
            return []
        args: list[str | int] = [0, uuid.uuid4().hex]
        for handler in candidates:
            args += [handler, seen.get(handler, 0)]
        return self._run_prune(args)

    # --- unrouted events ---------------------------------------------------------------------

    def unrouted_stats(self) -> list[UnroutedStats]:
        """Per type: events accepted with no route, and those still kept (one round trip)."""
        flat = self._scripts.unrouted_stats(
            keys=[self._keys.unrouted], args=[self._keys.unrouted_kept_template]
        )
        stats = [
            UnroutedStats(event_type=_text(flat[i]), count=int(flat[i + 1]), kept=int(flat[i + 2]))
            for i in range(0, len(flat), 3)
        ]
        return sorted(stats, key=lambda s: s.event_type)

    # --- internals ----------------------------------------------------------------------------

    def _prune(self, older_than: timedelta) -> list[str]:
        return self._run_prune([epoch_ms(self._clock.now() - older_than), uuid.uuid4().hex])

    def _run_prune(self, args: list[str | int]) -> list[str]:
        removed = self._scripts.prune_routes(
            keys=[self._keys.routes, self._keys.routes_version, self._keys.routes_seen],
            args=args,
        )
        return sorted(_text(name) for name in removed)


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)

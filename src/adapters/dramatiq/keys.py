"""Every Redis key hexbus reads or writes, named in one place (ADR 0008).

All keys share one prefix, the namespace (``HEXBUS_NAMESPACE``, default ``hexbus``), which is
also the Dramatiq broker's namespace, so one ``SCAN MATCH hexbus:*`` finds everything of one
deployment. Dramatiq's own keys keep Dramatiq's format (``{ns}:{queue}``, ``{ns}:{queue}.msgs``,
``{ns}:__acks__.{broker}.{queue}``, ``{ns}:__heartbeats__``), because its consumer reads them.
hexbus's own keys always have a ``:`` after the first segment, and queue names cannot contain
one, so the two families never collide.

========================== ====== =========================================== ==============
key                        type   holds                                       retention
========================== ====== =========================================== ==============
{ns}:{queue}               LIST   message ids waiting (Dramatiq's format)     until fetched
{ns}:{queue}.msgs          HASH   message id -> Dramatiq message JSON          until acked
{ns}:__acks__.{b}.{queue}  SET    ids fetched by broker b, not yet acked      until ack/recovery
{ns}:__heartbeats__        ZSET   broker id -> last heartbeat (ms)            reaped when dead
{ns}:published:{event_id}  STRING token|type|ms|handlers (dedup)              idempotency TTL
{ns}:done:{event_id}       HASH   handler name -> success time (ms)           idempotency TTL
{ns}:schedule              ZSET   entry id -> due time (ms)                   until moved
{ns}:schedule:items        HASH   entry id -> header line + envelope          until moved
{ns}:schedule:wake         PUBSUB channel: a new earliest due time (ms)       not stored
{ns}:dead                  ZSET   dead letter id -> failed time (ms)          dead-letter TTL
{ns}:dead:items            HASH   dead letter id -> dead letter JSON          dead-letter TTL
{ns}:rate:{bucket}         ZSET   run id -> start time (ms), sliding window   one period
{ns}:wake:{queue}          LIST   doorbell for idle consumers (<= 16 tokens)  trimmed on write
{ns}:schedules             HASH   recurring schedule -> last tick (ms)        permanent
{ns}:status:{event_id}     HASH   per-handler state, attempts, error, times,  7 d (done: 24 h, N)
                                  progress and log lines (report.lua)
{ns}:recent                ZSET   fully succeeded event ids by time           newest N kept
{ns}:caused:{event_id}     ZSET   'id|type' of events it caused -> published  status TTL,
                                  ms (publish scripts, ADR 0024)              newest 1,000
{ns}:stats:{queue}         HASH   counters: scheduled, dead; and per minute   counters
                                  {min}:succeeded, :failed, :dead,            permanent,
                                  :duration_ms (min = epoch seconds // 60)    minutes 2 h
{ns}:paused                SET    paused queue names                          until resumed
{ns}:queues                SET    every queue a worker has served             permanent
{ns}:acks:registry         SET    '<broker>|<queue>' of every acks set in use  until recovered
{ns}:runs:{queue}          HASH   message id -> handler starts not settled    until settled
{ns}:routes:table          HASH   handler -> queue|since|owner|started|type   until pruned
{ns}:routes:version        STRING route table version (a fresh token)         permanent
{ns}:routes:seen           ZSET   handler -> last declared (ms)               until pruned
{ns}:routes:workers        HASH   broker id -> its declaration (JSON)         until it exits
{ns}:unrouted:counts       HASH   event type -> accepted with no route        permanent
{ns}:unrouted:kept:{type}  ZSET   kept unrouted events, by sequence number    unrouted TTL
{ns}:unrouted:given:{type} HASH   handler -> last kept event handed to it     unrouted TTL
========================== ====== =========================================== ==============

The ``routes:*`` keys are the subscriptions (ADR 0015): workers declare the handlers they serve
(``declare_routes.lua``), publishers fan out from them, and ``prune_routes.lua`` removes those
no live worker has declared for the grace period.

``{ns}:published:{event_id}:redelivery:{token}`` (STRING, 1 s) is the throw-away dedup key of
one :meth:`DramatiqEventBus.redeliver` call.

Scripts get their keys from here: as KEYS when the caller knows them, and as templates when the
script only learns the name as it goes (the queue of a schedule entry or a dead letter, a dead
broker's acks sets, the kept events of a type, every queue's statistics): a template is the
key with ``<queue>``, ``<event>``, ``<type>`` or ``<broker>`` where that name goes
(``hexbus:stats:<queue>``), made by the same method that makes the key, so the two cannot
disagree and no script writes a key name of its own (ADR 0008, 0012).
"""

from __future__ import annotations

from typing import Final
from uuid import UUID

import attrs

DEFAULT_NAMESPACE: Final = "hexbus"

QUEUE_HOLE: Final = "<queue>"
"""Where a queue name goes in a key template."""
EVENT_HOLE: Final = "<event>"
"""Where an event id goes in a key template."""
BROKER_HOLE: Final = "<broker>"
"""Where a broker (worker process) id goes in a key template."""
TYPE_HOLE: Final = "<type>"
"""Where an event type goes in a key template."""


def stats_fields(minutes: range) -> list[str]:
    """The fields of a queue's stats hash (:meth:`RedisKeys.stats`) that a stats call reads:
    its two counters, then each minute's succeeded, failed and duration_ms, oldest first
    (``queue_stats.lua`` sums them in threes). The scripts that count write the same names."""
    fields = ["scheduled", "dead"]
    for minute in minutes:
        fields += [f"{minute}:succeeded", f"{minute}:failed", f"{minute}:duration_ms"]
    return fields


def _no_holes(instance: object, attribute: object, namespace: str) -> None:
    if "<" in namespace or ">" in namespace:
        raise ValueError(f"a namespace cannot contain '<' or '>' (key templates): {namespace!r}")


@attrs.frozen
class RedisKeys:
    """Key names for one namespace."""

    namespace: str = attrs.field(default=DEFAULT_NAMESPACE, validator=_no_holes)

    # --- Dramatiq's keys (format owned by Dramatiq's Redis broker) -------------------------

    def queue(self, queue: str) -> str:
        """The list of waiting message ids of ``queue``."""
        return f"{self.namespace}:{queue}"

    def messages(self, queue: str) -> str:
        """The hash of message bodies of ``queue``."""
        return f"{self.namespace}:{queue}.msgs"

    def acks(self, broker_id: str, queue: str) -> str:
        """The set of ids broker ``broker_id`` fetched from ``queue`` and has not acked."""
        return f"{self.namespace}:__acks__.{broker_id}.{queue}"

    @property
    def heartbeats(self) -> str:
        """Broker id -> last heartbeat, in ms."""
        return f"{self.namespace}:__heartbeats__"

    # --- hexbus's keys ----------------------------------------------------------------------

    def published(self, event_id: UUID | str) -> str:
        """Set when an event is accepted; its presence makes a publish a duplicate."""
        return f"{self.namespace}:published:{event_id}"

    def redelivery(self, event_id: UUID | str, token: str) -> str:
        """A throw-away dedup key for one redelivery of an event (it expires at once)."""
        return f"{self.published(event_id)}:redelivery:{token}"

    def done(self, event_id: UUID | str) -> str:
        """Handlers that succeeded for an event."""
        return f"{self.namespace}:done:{event_id}"

    @property
    def schedule(self) -> str:
        """Entries due later (delayed events, retries, rate-limited runs), by due time."""
        return f"{self.namespace}:schedule"

    @property
    def schedule_items(self) -> str:
        """What each schedule entry enqueues when due."""
        return f"{self.namespace}:schedule:items"

    @property
    def schedule_wake(self) -> str:
        """The pub/sub channel the movers listen on: a script that makes an entry the earliest
        publishes its due time there (a channel, not a key: nothing is stored)."""
        return f"{self.namespace}:schedule:wake"

    @property
    def dead(self) -> str:
        """Dead letter ids by failure time."""
        return f"{self.namespace}:dead"

    @property
    def dead_items(self) -> str:
        """Dead letter bodies."""
        return f"{self.namespace}:dead:items"

    def rate(self, bucket: str) -> str:
        """The sliding window of one rate-limit bucket."""
        return f"{self.namespace}:rate:{bucket}"

    def status(self, event_id: UUID | str) -> str:
        """One event's per-handler status."""
        return f"{self.namespace}:status:{event_id}"

    def caused(self, causation_id: UUID | str) -> str:
        """The events one event caused (``id|type`` -> published ms), written by the publish
        scripts when the published event names a cause (ADR 0024)."""
        return f"{self.namespace}:caused:{causation_id}"

    @property
    def recent(self) -> str:
        """Fully succeeded events, newest last, trimmed to the kept count."""
        return f"{self.namespace}:recent"

    def stats(self, queue: str) -> str:
        """A queue's standing counters (scheduled, dead) and its work per minute: fields
        ``{minute}:succeeded``, ``:failed``, ``:dead`` and ``:duration_ms`` (minute = epoch
        seconds // 60), so that the stats window is one read (ADR 0008); the workers'
        upkeep removes minutes older than the statistics' retention (``prune_stats.lua``)."""
        return f"{self.namespace}:stats:{queue}"

    @property
    def paused(self) -> str:
        """Queues whose messages workers must not take."""
        return f"{self.namespace}:paused"

    @property
    def schedules(self) -> str:
        """Recurring schedules' last ticks."""
        return f"{self.namespace}:schedules"

    def wake(self, queue: str) -> str:
        """A short list idle consumers block on, pushed whenever ``queue`` gets a message."""
        return f"{self.namespace}:wake:{queue}"

    @property
    def queues(self) -> str:
        """Every queue some worker served: lets recovery visit them without KEYS."""
        return f"{self.namespace}:queues"

    @property
    def acks_registry(self) -> str:
        """``<broker>|<queue>`` of every acks set a fetch wrote to and recovery has not yet
        emptied: recovery finds in-flight messages of any broker through it, a broker whose
        heartbeat is gone included, without SCAN (ADR 0017)."""
        return f"{self.namespace}:acks:registry"

    def runs(self, queue: str) -> str:
        """Message id -> how many times a handler started on it without its run being settled:
        each count past the first is a worker that died while handling it (ADR 0017)."""
        return f"{self.namespace}:runs:{queue}"

    # --- routes: the subscriptions workers declare (ADR 0015) -------------------------------

    @property
    def routes(self) -> str:
        """Handler name -> ``queue|since ms|owner broker|owner started ms|event type``."""
        return f"{self.namespace}:routes:table"

    @property
    def routes_version(self) -> str:
        """A fresh token each time a route is added, changed or removed; publishers compare
        it with the version of the table they cached."""
        return f"{self.namespace}:routes:version"

    @property
    def routes_seen(self) -> str:
        """Handler name -> when a worker last declared it (ms): what pruning reads."""
        return f"{self.namespace}:routes:seen"

    @property
    def route_workers(self) -> str:
        """Broker id -> the routes that worker declares, and since when (JSON)."""
        return f"{self.namespace}:routes:workers"

    @property
    def unrouted(self) -> str:
        """Event type -> how many events of it were accepted while no route had its type."""
        return f"{self.namespace}:unrouted:counts"

    def unrouted_kept(self, event_type: str) -> str:
        """Unrouted events of ``event_type`` kept for handlers that subscribe later, each
        scored by a sequence number of its type."""
        return f"{self.namespace}:unrouted:kept:{event_type}"

    def unrouted_given(self, event_type: str) -> str:
        """Handler -> the sequence number of the last kept event of ``event_type`` handed to
        it: each handler gets each kept event once."""
        return f"{self.namespace}:unrouted:given:{event_type}"

    # --- templates, for scripts that learn a name as they go ------------------------------

    @property
    def queue_template(self) -> str:
        """:meth:`queue` with ``<queue>``."""
        return self.queue(QUEUE_HOLE)

    @property
    def messages_template(self) -> str:
        """:meth:`messages` with ``<queue>``."""
        return self.messages(QUEUE_HOLE)

    @property
    def acks_template(self) -> str:
        """:meth:`acks` with ``<broker>`` and ``<queue>``."""
        return self.acks(BROKER_HOLE, QUEUE_HOLE)

    @property
    def wake_template(self) -> str:
        """:meth:`wake` with ``<queue>``."""
        return self.wake(QUEUE_HOLE)

    @property
    def stats_template(self) -> str:
        """:meth:`stats` with ``<queue>``."""
        return self.stats(QUEUE_HOLE)

    @property
    def done_template(self) -> str:
        """:meth:`done` with ``<event>``."""
        return self.done(EVENT_HOLE)

    @property
    def status_template(self) -> str:
        """:meth:`status` with ``<event>``."""
        return self.status(EVENT_HOLE)

    @property
    def published_template(self) -> str:
        """:meth:`published` with ``<event>``."""
        return self.published(EVENT_HOLE)

    @property
    def unrouted_kept_template(self) -> str:
        """:meth:`unrouted_kept` with ``<type>``."""
        return self.unrouted_kept(TYPE_HOLE)

    @property
    def unrouted_given_template(self) -> str:
        """:meth:`unrouted_given` with ``<type>``."""
        return self.unrouted_given(TYPE_HOLE)

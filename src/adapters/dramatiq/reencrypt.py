"""Re-sealing every stored event with the newest key: ``hexbus keys rotate`` (ADR 0016).

Redis holds events in three hashes (ADR 0008): each queue's messages (``{ns}:{queue}.msgs``,
Dramatiq's JSON with the envelope as its second argument), the schedule's entries
(``{ns}:schedule:items``, a header line then the envelope) and the dead letters
(``{ns}:dead:items``, whose ``message`` is the envelope's text); and in one sorted set per
event type, the unrouted events kept for later subscribers (``{ns}:unrouted:kept:{type}``,
ADR 0015; each member a header line then the envelope, found from the types the unrouted
counts name, not by scanning). :class:`Reencryption` walks them with HSCAN and ZSCAN, hands each
envelope to ``reseal`` (the encryption adapter's: the envelope sealed by the primary key, or
None when it already is) and writes the result back with ``reseal.lua``, which writes only if
the value is still the one read (a kept event keeps its score).

So it can stop at any moment and lose nothing: every write replaces one value whole, atomically,
with the same event; nothing is deleted. Running it again resumes: what is already under the
newest key is recognised by its key id and skipped without being decrypted, and a value that
changed under it (a worker took the message) is read afresh by the next run. Workers keep
running throughout: they open both keys while both are configured.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from importlib import resources
from typing import Any

import attrs
import redis

from ...domain.errors import EventError
from ...ports.dead_letters import Progress
from .keys import RedisKeys

Reseal = Callable[[dict[str, Any]], dict[str, Any] | None]
"""An envelope sealed with the newest key, or None when it already is; EventError when it
cannot be opened."""


@attrs.define
class RotationReport:
    """What one run did."""

    scanned: int = 0
    rewritten: int = 0
    current: int = 0
    """Already under the newest key (or holding no event, such as an unreadable body)."""
    changed: int = 0
    """Changed while being read (a worker took it): the next run reads it afresh."""
    unreadable: int = 0
    """Sealed with a key that is not configured: kept as they are."""


@attrs.frozen
class _Target:
    key: str
    kind: str  # "message", "schedule", "dead letter" or "kept"


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class Reencryption:
    """Re-seals what one namespace stores (see the module docstring)."""

    def __init__(self, client: redis.Redis, keys: RedisKeys, reseal: Reseal) -> None:
        self._client = client
        self._keys = keys
        self._reseal = reseal
        source = resources.files(__package__).joinpath("lua", "reseal.lua").read_text("utf-8")
        self._write = client.register_script(source)

    def targets(self) -> list[_Target]:
        """Everything that holds events: each queue's messages, the schedule, the dead, and
        the kept unrouted events of every type that was ever published with no route."""
        pattern = self._keys.messages("*")
        queues = sorted({_text(k) for k in self._scan(pattern)})
        types = sorted(_text(t) for t in self._client.hkeys(self._keys.unrouted))
        return [
            *(_Target(key, "message") for key in queues),
            _Target(self._keys.schedule_items, "schedule"),
            _Target(self._keys.dead_items, "dead letter"),
            *(_Target(self._keys.unrouted_kept(t), "kept") for t in types),
        ]

    def total(self) -> int:
        """How many values there are to look at now."""
        return sum(self._size(t) for t in self.targets())

    def run(self, progress: Progress | None = None) -> RotationReport:
        """One pass over everything stored; ``progress(done, total)`` after each value."""
        report = RotationReport()
        targets = self.targets()
        total = sum(self._size(t) for t in targets)
        for target in targets:
            for field, value in self._values(target):
                report.scanned += 1
                try:
                    updated = self._updated(target.kind, value)
                except EventError:
                    report.unreadable += 1
                    updated = None
                else:
                    if updated is None:
                        report.current += 1
                if updated is not None:
                    if self._write(keys=[target.key], args=[field, value, updated]):
                        report.rewritten += 1
                    else:
                        report.changed += 1
                if progress is not None:
                    progress(report.scanned, max(total, report.scanned))
        return report

    # --- internals ---------------------------------------------------------------------------

    def _scan(self, pattern: str) -> Iterator[Any]:
        return self._client.scan_iter(match=pattern, count=500, _type="HASH")

    def _size(self, target: _Target) -> int:
        if target.kind == "kept":
            return int(self._client.zcard(target.key))
        return int(self._client.hlen(target.key))

    def _values(self, target: _Target) -> Iterator[tuple[bytes, bytes]]:
        """(field, value) pairs; a sorted set's members are their own values (field b"")."""
        kept = target.kind == "kept"
        cursor = 0
        while True:
            reply: Any = (
                self._client.zscan(target.key, cursor, count=200)
                if kept
                else self._client.hscan(target.key, cursor, count=200)
            )
            cursor, items = reply
            if kept:
                yield from ((b"", member) for member, _score in items)
            else:
                yield from items.items()
            if cursor == 0:
                return

    def _updated(self, kind: str, value: bytes) -> str | None:
        text = value.decode("utf-8")
        if kind in ("schedule", "kept"):
            header, newline, envelope_text = text.partition("\n")
            envelope = _loads(envelope_text)
            resealed = self._resealed(envelope)
            return None if resealed is None else header + newline + _compact(resealed)
        record = _loads(text)
        if not isinstance(record, dict):
            return None
        if kind == "message":
            args = record.get("args")
            if not isinstance(args, list) or len(args) < 2:
                return None
            resealed = self._resealed(args[1])
            if resealed is None:
                return None
            return _compact({**record, "args": [args[0], resealed, *args[2:]]})
        message = record.get("message")
        resealed = self._resealed(_loads(message) if isinstance(message, str) else None)
        if resealed is None:
            return None
        return json.dumps({**record, "message": _compact(resealed)}, separators=(",", ":"))

    def _resealed(self, envelope: Any) -> dict[str, Any] | None:
        if not isinstance(envelope, dict) or not isinstance(envelope.get("event_type"), str):
            return None  # not an event (an unreadable body kept as it came): nothing to seal
        return self._reseal(envelope)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None

"""What a caller is shown of an event and of an error, by its role (ADR 0016).

Payload fields are the operator's: the read role sees an event's header (type, version, id,
times, correlation and causation ids) and never its fields; an encrypted payload is decrypted
for the operator only, here, at the moment it is served. Error texts and tracebacks quote
whatever a handler had at hand (a patient's name, a diagnosis, server paths), so they are
shown to token holders only with ``HEXBUS_SHOW_ERRORS=true``.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import attrs

from ...domain.errors import EventError
from ...domain.serialization import HEADER_FIELDS, EventSerializer
from .roles import Role

Hidden = Literal["payload", "message"]


@attrs.frozen
class View:
    """How much of stored events and errors one caller may see."""

    role: Role
    show_errors: bool
    serializer: EventSerializer

    def error(self, text: str | None) -> str | None:
        """``text`` when errors are shown, else None."""
        return text if self.show_errors and self.role >= Role.READER else None

    def message(self, stored: str) -> tuple[str | None, list[Hidden]]:
        """The event as this caller may see it (JSON text), and what was left out."""
        try:
            envelope: Any = json.loads(stored)
        except ValueError:
            envelope = None
        is_event = isinstance(envelope, dict) and isinstance(envelope.get("event_type"), str)
        if self.role is Role.OPERATOR:
            if not is_event:
                return stored, []
            try:
                revealed = self.serializer.reveal(envelope)
            except EventError:
                return stored, []  # sealed with a key this server lacks: as stored, unreadable
            return _compact(revealed), []
        if not is_event:
            return None, ["message"]
        header = {name: envelope[name] for name in HEADER_FIELDS if name in envelope}
        return _compact(header), ["payload"]


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

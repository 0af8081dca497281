"""JSON for the records hexbus keeps in Redis (dead letters), with strict reading."""

from __future__ import annotations

import json
from typing import Any

from ...domain.serialization import make_event_converter
from ...ports.dead_letters import DeadLetter

_converter = make_event_converter()


def dump_dead_letter(dead_letter: DeadLetter) -> str:
    """A dead letter as compact JSON."""
    return json.dumps(_converter.unstructure(dead_letter), separators=(",", ":"))


def load_dead_letter(data: str | bytes) -> DeadLetter:
    """A dead letter from its JSON."""
    fields: dict[str, Any] = json.loads(data)
    return _converter.structure(fields, DeadLetter)

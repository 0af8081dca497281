"""The README's tour runs as written: its Python blocks, in order, in one namespace."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def _tour_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    tour = text[text.index("## Five-minute tour") : text.index("## Running on Redis")]
    return re.findall(r"```python\n(.*?)```", tour, flags=re.DOTALL)


def test_the_tour_runs_as_written() -> None:
    blocks = _tour_blocks()
    assert len(blocks) >= 3
    namespace: dict[str, object] = {"__name__": "readme_tour"}

    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)

    assert namespace["receipts"].sent == ["INV-1", "INV-2"]  # type: ignore[attr-defined]


def _async_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Async applications")
    section = text[start : text.index("\n## ", start)]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_the_async_section_runs_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = _async_blocks()
    assert len(blocks) == 2
    # A real module, as the snippet would be in an app: pydantic resolves the request model
    # through sys.modules; and the default (in-memory) bus, whatever the environment says.
    module = types.ModuleType("readme_async")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.delenv("USE_QUEUE_EVENT_BUS", raising=False)

    for block in blocks:  # the second asserts: both deliveries answered, one handler run
        exec(compile(block, str(README), "exec"), module.__dict__)

    assert module.thanked == ["P-1"]

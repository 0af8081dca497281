"""The README's tour runs as written: its Python blocks, in order, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

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

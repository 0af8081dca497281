"""A stand-in for the AI analysis service: canned findings, every request recorded.

The clinic shows how heavy analyses are queued and prioritised, not a model; this
adapter answers at once (or after ``seconds``, to watch a timeout) and keeps what it was asked,
in order, so a test can tell which requests ran first.
"""

from __future__ import annotations

import threading
import time

import attrs


@attrs.frozen
class AnalysisRun:
    """One request the analyzer received."""

    request_id: str
    patient_id: str
    kind: str
    urgent: bool


class CannedAnalyzer:
    """The :class:`Analyzer` port answering ``"no anomaly found"`` for every request."""

    def __init__(self, *, seconds: float = 0.0) -> None:
        self.seconds = seconds
        self._runs: list[AnalysisRun] = []
        self._lock = threading.Lock()

    def analyze(self, *, request_id: str, patient_id: str, kind: str, urgent: bool) -> str:
        """Record the request and return canned findings."""
        if self.seconds:
            time.sleep(self.seconds)
        with self._lock:
            self._runs.append(AnalysisRun(request_id, patient_id, kind, urgent))
        return f"{kind}: no anomaly found (canned findings, no model attached)"

    @property
    def runs(self) -> tuple[AnalysisRun, ...]:
        """Every request analysed, in order."""
        with self._lock:
            return tuple(self._runs)

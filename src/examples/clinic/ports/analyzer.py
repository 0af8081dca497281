"""The AI analysis service as a port: slow, external, and sometimes down."""

from __future__ import annotations

from typing import Protocol


class Analyzer(Protocol):
    """Runs an AI analysis of a patient's data and returns its findings as text.

    It may take minutes (its handlers have a long timeout); raising any error means the
    service failed this time and the handler's retry policy decides what happens next.
    """

    def analyze(self, *, request_id: str, patient_id: str, kind: str, urgent: bool) -> str:
        """The findings of ``kind`` analysis for ``patient_id``."""
        ...

"""Events of the AI analysis: a request (urgent or not) and its result."""

from __future__ import annotations

import attrs

from .....domain.events import DomainEvent
from .....domain.validation import flag, non_empty_text


@attrs.frozen(kw_only=True)
class AiAnalysisRequested(DomainEvent):
    """A doctor asked for an AI analysis (``kind``: "x-ray", "ecg", ...) of a patient's data.

    ``urgent`` requests are handled by a high-priority worker group of their own, so they
    never wait behind a backlog of routine ones.
    """

    event_type = "ai.analysis_requested"

    request_id: str = attrs.field(validator=non_empty_text)
    patient_id: str = attrs.field(validator=non_empty_text)
    doctor_id: str = attrs.field(validator=non_empty_text)
    kind: str = attrs.field(validator=non_empty_text)
    urgent: bool = attrs.field(default=False, validator=flag)


@attrs.frozen(kw_only=True)
class AiAnalysisCompleted(DomainEvent):
    """The analysis of ``request_id`` finished with these ``findings``."""

    event_type = "ai.analysis_completed"

    request_id: str = attrs.field(validator=non_empty_text)
    patient_id: str = attrs.field(validator=non_empty_text)
    doctor_id: str = attrs.field(validator=non_empty_text)
    urgent: bool = attrs.field(validator=flag)
    findings: str = attrs.field(validator=non_empty_text)

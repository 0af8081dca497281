"""Events of reporting: the weekly report's tick and each clinic's report."""

from __future__ import annotations

from datetime import datetime

import attrs

from .....domain.events import DomainEvent
from .....domain.validation import aware_datetime, non_empty_text, non_negative_int


@attrs.frozen(kw_only=True)
class WeeklyReportDue(DomainEvent):
    """The weekly report's tick (Mondays 07:00 UTC); the week reported ends at ``occurred_at``."""

    event_type = "report.weekly_due"


@attrs.frozen(kw_only=True)
class WeeklyReportCompiled(DomainEvent):
    """One clinic's appointments that started in [``week_start``, ``week_end``), by outcome."""

    event_type = "report.weekly_compiled"

    clinic_id: str = attrs.field(validator=non_empty_text)
    week_start: datetime = attrs.field(validator=aware_datetime)
    week_end: datetime = attrs.field(validator=aware_datetime)
    booked: int = attrs.field(validator=non_negative_int)
    unpaid: int = attrs.field(validator=non_negative_int)
    confirmed: int = attrs.field(validator=non_negative_int)
    attended: int = attrs.field(validator=non_negative_int)
    no_shows: int = attrs.field(validator=non_negative_int)
    cancelled: int = attrs.field(validator=non_negative_int)

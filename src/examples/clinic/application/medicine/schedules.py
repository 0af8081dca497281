"""The medicine stock's recurring jobs: expiry at 00:00, low stock at 06:00 (UTC).

Both catch up once: if no scheduler ran at midnight, the expiry check runs when one is back
rather than waiting a day.
"""

from __future__ import annotations

from typing import Final

from .....application.recurring import RecurringSchedule, RecurringScheduler, Tick
from .....ports.schedules import CatchUp
from ...domain.medicine.events import LowStockCheckDue, MedicineExpiryCheckDue

EXPIRY_CHECK: Final = "medicine.expiry_check"
LOW_STOCK_CHECK: Final = "medicine.low_stock_check"


def expiry_check(tick: Tick) -> MedicineExpiryCheckDue:
    """The tick's event: its id and time are the tick's (so it fires once everywhere)."""
    return MedicineExpiryCheckDue(event_id=tick.event_id, occurred_at=tick.at)


def low_stock_check(tick: Tick) -> LowStockCheckDue:
    """The tick's event: its id and time are the tick's (so it fires once everywhere)."""
    return LowStockCheckDue(event_id=tick.event_id, occurred_at=tick.at)


def register_medicine_schedules(recurring: RecurringScheduler) -> tuple[RecurringSchedule, ...]:
    """Add the medicine schedules to ``recurring``; call once per scheduler."""
    return (
        recurring.add(
            RecurringSchedule(
                name=EXPIRY_CHECK,
                cron="0 0 * * *",
                make_event=expiry_check,
                catch_up=CatchUp.RUN_ONCE,
                description="batches expiring within 30 and 7 days are reported",
            )
        ),
        recurring.add(
            RecurringSchedule(
                name=LOW_STOCK_CHECK,
                cron="0 6 * * *",
                make_event=low_stock_check,
                catch_up=CatchUp.RUN_ONCE,
                description="medicines below their reorder level are reported",
            )
        ),
    )

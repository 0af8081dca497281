"""Medicine stock: batches with expiry dates, thresholds, and the daily checks' findings."""

from .events import LowStockCheckDue, MedicineExpiringSoon, MedicineExpiryCheckDue, MedicineStockLow
from .stock import EXPIRY_WINDOWS, Batch, Medicine

__all__ = [
    "EXPIRY_WINDOWS",
    "Batch",
    "LowStockCheckDue",
    "Medicine",
    "MedicineExpiringSoon",
    "MedicineExpiryCheckDue",
    "MedicineStockLow",
]

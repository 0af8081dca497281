"""The clinic's adapters: in-memory repositories, notifiers and a canned AI analyzer.

The clinic shows the bus, not a database or an SMS provider, so its repositories keep
everything in dicts, the notifiers log or record what they would send (``FlakyNotifier``
fails on purpose), and the analyzer answers at once.
"""

from .analyzer import AnalysisRun, CannedAnalyzer
from .notifiers import FlakyNotifier, LoggingNotifier, RecordingNotifier, mask_recipient
from .repositories import (
    InMemoryAppointmentRepository,
    InMemoryInvoiceRepository,
    InMemoryMedicineRepository,
    InMemorySlotOfferRepository,
    InMemoryWaitlistRepository,
)

__all__ = [
    "AnalysisRun",
    "CannedAnalyzer",
    "FlakyNotifier",
    "InMemoryAppointmentRepository",
    "InMemoryInvoiceRepository",
    "InMemoryMedicineRepository",
    "InMemorySlotOfferRepository",
    "InMemoryWaitlistRepository",
    "LoggingNotifier",
    "RecordingNotifier",
    "mask_recipient",
]

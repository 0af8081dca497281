"""In-memory adapters: the synchronous event bus, the stores it needs, the reference domain's
repositories, and a canned AI analyzer."""

from .analyzer import AnalysisRun, CannedAnalyzer
from .dead_letters import InMemoryDeadLetters
from .event_bus import InMemoryEventBus
from .idempotency import InMemoryIdempotencyStore
from .recorded import HandlerRun
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
    "HandlerRun",
    "InMemoryAppointmentRepository",
    "InMemoryDeadLetters",
    "InMemoryEventBus",
    "InMemoryIdempotencyStore",
    "InMemoryInvoiceRepository",
    "InMemoryMedicineRepository",
    "InMemorySlotOfferRepository",
    "InMemoryWaitlistRepository",
]

"""The clinic's five repositories on PostgreSQL keep their ports' promises, in and out of a
unit of work: copies out, ids unique, changes stored by ``save``, queries in order, and a
rolled-back transaction stores nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from hexbus.adapters.clocks import SystemClock
from hexbus.adapters.postgres.engine import Engine, create_engine
from hexbus.adapters.postgres.unit_of_work import PostgresUnitOfWork
from hexbus.domain.serialization import EventSerializer
from hexbus.examples.clinic.adapters.postgres.repositories import (
    PostgresAppointmentRepository,
    PostgresInvoiceRepository,
    PostgresMedicineRepository,
    PostgresSlotOfferRepository,
    PostgresWaitlistRepository,
)
from hexbus.examples.clinic.adapters.postgres.schema import setup_database
from hexbus.examples.clinic.domain.booking import (
    Appointment,
    AppointmentStatus,
    Contact,
    Invoice,
    InvoiceLine,
)
from hexbus.examples.clinic.domain.errors import (
    AlreadyExists,
    AppointmentNotFound,
    InvoiceNotFound,
    MedicineNotFound,
    OfferNotFound,
    WaitlistEntryNotFound,
)
from hexbus.examples.clinic.domain.medicine.stock import Batch, Medicine
from hexbus.examples.clinic.domain.waitlist.entry import EntryStatus, WaitlistEntry
from hexbus.examples.clinic.domain.waitlist.offer import Slot, SlotOffer
from hexbus.testing.postgres_server import PostgresServer

pytestmark = pytest.mark.postgres

ANA = Contact(name="Ana", email="ana@example.com")
RUIZ = Contact(name="Dr. Ruiz", email="ruiz@clinic.example")
T0 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def engine(postgres_server: PostgresServer) -> Iterator[Engine]:
    """One database for the module, with the clinic's schema."""
    built = create_engine(postgres_server.create_database("clinic_repositories"), pool_size=2)
    setup_database(built)
    yield built
    built.dispose()


@pytest.fixture
def uow(engine: Engine) -> PostgresUnitOfWork:
    """A unit of work over emptied clinic tables."""
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "TRUNCATE clinic_appointments, clinic_invoices, clinic_waitlist_entries, "
            "clinic_slot_offers, clinic_medicines"
        )
    return PostgresUnitOfWork(engine, EventSerializer(), SystemClock())


def appointment(appointment_id: str, starts_at: datetime = T0) -> Appointment:
    return Appointment(
        id=appointment_id, patient_id="pat-1", patient=ANA, doctor_id="doc-1", doctor=RUIZ,
        clinic_id="clinic-1", starts_at=starts_at, price=Decimal("60.00"), currency="EUR",
    )  # fmt: skip


def test_appointments(uow: PostgresUnitOfWork) -> None:
    repository = PostgresAppointmentRepository(uow)
    repository.add(appointment("apt-2", T0 + timedelta(hours=2)))
    repository.add(appointment("apt-1"))
    with pytest.raises(AlreadyExists):
        repository.add(appointment("apt-1"))
    loaded = repository.get("apt-1")
    loaded.confirm("txn-1")
    assert repository.get("apt-1").status is AppointmentStatus.PENDING, "not saved yet"
    repository.save(loaded)

    assert repository.get("apt-1") == loaded
    assert [a.id for a in repository.starting_between(T0, T0 + timedelta(hours=3))] == [
        "apt-1",
        "apt-2",
    ]
    assert [a.id for a in repository.starting_between(T0, T0 + timedelta(hours=1))] == ["apt-1"]
    with pytest.raises(AppointmentNotFound):
        repository.get("apt-9")
    with pytest.raises(AppointmentNotFound):
        repository.save(appointment("apt-9"))


def test_a_rolled_back_unit_of_work_stores_nothing(uow: PostgresUnitOfWork) -> None:
    repository = PostgresAppointmentRepository(uow)

    def failing() -> None:
        with uow:
            repository.add(appointment("apt-1"))
            with pytest.raises(AlreadyExists):
                repository.add(appointment("apt-1"))  # does not abort the transaction
            assert repository.get("apt-1").id == "apt-1"
            raise RuntimeError("the use case failed")

    with pytest.raises(RuntimeError):
        failing()
    with pytest.raises(AppointmentNotFound):
        repository.get("apt-1")


def test_invoices(uow: PostgresUnitOfWork) -> None:
    repository = PostgresInvoiceRepository(uow)
    invoice = Invoice(
        id="inv-1", patient_id="pat-1", patient=ANA, currency="EUR", due_on=date(2026, 3, 31),
        lines=(InvoiceLine(description="Consultation", quantity=2, unit_price=Decimal("30.50")),),
        issued_at=T0, appointment_id="apt-1",
    )  # fmt: skip
    repository.add(invoice)

    assert repository.get("inv-1") == invoice
    with pytest.raises(AlreadyExists):
        repository.add(invoice)
    with pytest.raises(InvoiceNotFound):
        repository.get("inv-2")


def test_waitlist_entries(uow: PostgresUnitOfWork) -> None:
    repository = PostgresWaitlistRepository(uow)
    for n in (2, 1, 3):
        repository.add(
            WaitlistEntry(
                id=f"w-{n}", patient_id=f"p-{n}", patient=ANA, clinic_id="clinic-1",
                doctor_id="doc-1", joined_at=T0 + timedelta(minutes=n),
            )
        )  # fmt: skip
    third = repository.get("w-3")
    third.status = EntryStatus.BOOKED
    repository.save(third)

    assert [e.id for e in repository.waiting("clinic-1", "doc-1")] == ["w-1", "w-2"]
    assert repository.waiting("clinic-1", "doc-2") == []
    with pytest.raises(WaitlistEntryNotFound):
        repository.get("w-9")


def test_slot_offers(uow: PostgresUnitOfWork) -> None:
    repository = PostgresSlotOfferRepository(uow)
    slot = Slot(clinic_id="clinic-1", doctor_id="doc-1", doctor=RUIZ, starts_at=T0,
                price=Decimal("60.00"), currency="EUR")  # fmt: skip
    for n in (2, 1):
        repository.add(
            SlotOffer(
                id=f"o-{n}", slot=slot, entry_id=f"w-{n}", patient_id=f"p-{n}", patient=ANA,
                offered_at=T0 - timedelta(hours=n), expires_at=T0,
            )
        )  # fmt: skip

    assert [o.id for o in repository.for_slot(slot.key)] == ["o-2", "o-1"]
    assert repository.get("o-1").slot == slot
    with pytest.raises(OfferNotFound):
        repository.get("o-9")


def test_medicines(uow: PostgresUnitOfWork) -> None:
    repository = PostgresMedicineRepository(uow)
    for name in ("b", "a"):
        repository.add(
            Medicine(
                id=f"m-{name}", name=name, clinic_id="clinic-1", pharmacist=RUIZ,
                low_stock_threshold=5,
                batches=(Batch(batch_id="b1", expires_on=date(2026, 4, 1), quantity=3),),
            )
        )  # fmt: skip
    medicine = repository.get("m-a")
    repository.save(medicine)

    assert [m.id for m in repository.all()] == ["m-b", "m-a"], "in the order added"
    assert repository.get("m-a").batches[0].expires_on == date(2026, 4, 1)
    with pytest.raises(MedicineNotFound):
        repository.get("m-z")

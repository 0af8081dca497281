"""The clinic example: a hospital booking application built on hexbus, as yours would be.

Appointments are booked, paid through a provider's webhook, reminded 24 h and 1 h before and
cancelled when unpaid after 30 minutes; invoices are issued; a freed slot goes to the waitlist
15 minutes at a time; the medicine stock is checked every night; AI analyses run on a slow
queue of their own; a report is compiled every Monday. Every notification goes by SMS, email
or WhatsApp through a port.

It is laid out as an application should be, in the same layers as hexbus itself and above
it (an import-linter contract keeps it so): ``domain`` (entities, events, the clinic's errors)
< ``ports`` (repositories, notifier, analyzer) < ``application`` (use cases, handlers, timers,
schedules) < ``adapters`` (in memory) < ``container`` (its composition root) and ``demo``.
Inside hexbus's source tree it imports the library relatively; in your application you would
write ``from hexbus import ...``.

Wire it into any hexbus process with ``--app hexbus.examples.clinic:register``, or in code::

    from hexbus.adapters.clocks import VirtualClock
    from hexbus.container import create_container
    from hexbus.examples.clinic import build_clinic
    from hexbus.examples.clinic.adapters import RecordingNotifier

    container = create_container(env={}, clock=VirtualClock())  # the clinic runs on its clock
    clinic = build_clinic(container, notifier=RecordingNotifier())
    clinic.book_appointment()(appointment_id="apt-1", ...)

``hexbus demo`` narrates it on the in-memory bus (:mod:`hexbus.examples.clinic.demo`).
"""

from .container import QUEUE_CONCURRENCY, ClinicContainer, build_clinic, register
from .domain.booking import (
    AppointmentCancelled,
    AppointmentConfirmed,
    AppointmentCreated,
    Contact,
    InvoiceIssued,
    InvoiceLine,
    PaymentSucceeded,
)
from .domain.errors import ClinicError

__all__ = [
    "QUEUE_CONCURRENCY",
    "AppointmentCancelled",
    "AppointmentConfirmed",
    "AppointmentCreated",
    "ClinicContainer",
    "ClinicError",
    "Contact",
    "InvoiceIssued",
    "InvoiceLine",
    "PaymentSucceeded",
    "build_clinic",
    "register",
]

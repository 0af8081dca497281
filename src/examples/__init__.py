"""Applications built on hexbus the way yours would be: nothing in the library imports them.

``hexbus.examples.clinic`` is a hospital booking application (appointments, payments,
invoices, reminders, a waitlist, medicine stock, AI analysis, weekly reports) with its own
domain, ports, application and adapters, wired onto a hexbus container by one function,
:func:`hexbus.examples.clinic.register` (``--app hexbus.examples.clinic:register``).
"""

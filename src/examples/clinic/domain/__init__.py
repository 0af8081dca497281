"""The clinic's domain: its entities, the events they publish, and its errors.

One sub-package per context: ``booking`` (appointments, payments, invoices and their timers),
``waitlist``, ``medicine``, ``analysis`` and ``reporting``. Events are hexbus
:class:`~hexbus.DomainEvent` values; nothing here knows which bus carries them.
"""

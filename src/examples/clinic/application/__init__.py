"""The clinic's use cases, handlers, timers and recurring schedules, one sub-package per context.

Each context has a ``register_*_handlers`` function that puts its handlers on a hexbus
:class:`~hexbus.DomainEventsProcessor` with their queues, retries, timeouts and limits, and
(booking, medicine, reporting) a ``register_*_schedules`` one for its recurring jobs. Only
ports are imported here: the clinic's composition root (:mod:`hexbus.examples.clinic.container`)
decides which notifier, repositories and bus they get.
"""

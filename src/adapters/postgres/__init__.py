"""The PostgreSQL store: a unit of work with a transactional outbox, its relay, an inbox.

Units of work (:class:`~.unit_of_work.PostgresUnitOfWork`) write the events a use case
publishes to the ``hexbus_outbox`` table in the use case's own transaction; the relay
(:class:`~.relay.OutboxRelay`, ``hexbus outbox relay``) publishes committed rows to the bus,
woken by LISTEN/NOTIFY; :class:`~.unit_of_work.PostgresInbox` records which handlers ran for
which events in the handlers' transaction (ADR 0020, ADR 0021). The schema is applied with
Alembic (:func:`~.schema.upgrade`, ``hexbus outbox migrate``).

SQLAlchemy, psycopg and Alembic come with the ``postgres`` extra
(``pip install 'hexbus[postgres]'``); without it, importing any module of this package but
:mod:`.settings` raises :class:`~hexbus.MissingExtra` saying so.
"""

"""The clinic's repositories on PostgreSQL, in the same transaction as hexbus's outbox.

Every repository joins the unit of work open in its thread
(:class:`hexbus.adapters.postgres.unit_of_work.PostgresUnitOfWork`), so a use case's state
and the events it publishes commit together; called outside one, each method is its own
transaction. Entities are stored as JSON documents (the same strict cattrs converter the
events use) beside the few columns the queries need; :func:`.schema.setup_database` applies
hexbus's migrations and the clinic's (ADR 0020). Needs the ``postgres`` extra.
"""

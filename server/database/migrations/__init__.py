"""Alembic migrations of the server's database (run them with ``winledger admin migrate``)."""

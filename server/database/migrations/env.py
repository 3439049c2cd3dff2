"""Alembic's entry point. Migrations run through ``server.database.migrate`` (``winledger admin migrate`` and
``winledger serve``), which hands over a connection already inside its transaction."""

from __future__ import annotations

from alembic import context

from server.database import tables as db

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("winledger's migrations run through `winledger admin migrate --db URL`")

context.configure(
    connection=connection,
    target_metadata=db.metadata,
    # SQLite alters a table by copying it; Alembic's batch mode does that for an ALTER.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

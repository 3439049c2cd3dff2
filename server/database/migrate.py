"""Schema migrations (Alembic) and opening a store at the schema this code needs.

Every schema this project has shipped is an Alembic revision in
``server/database/migrations/versions``. A database made before the migrations existed
(schema version 1 or 2, kept in ``winledger_meta``) is stamped at its version
first, then upgraded like any other.

SQLite, the embedded default, is upgraded by whatever opens it (``serve``, an
admin command): a new user needs no extra step, and SQLite's one writer makes
the upgrade safe. On PostgreSQL, where several server processes share the
database, only ``winledger admin migrate`` (or ``serve --migrate``) upgrades;
everything else refuses an out-of-date schema with a message naming that
command. An upgrade runs in one transaction (PostgreSQL's DDL is
transactional) under an advisory lock, so two that start at once run one
after the other, and the second finds nothing to do.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from server.database import tables as db
from server.exceptions import ServerError

_MIGRATE_LOCK = 0x77696E6C  # the advisory lock id that serializes migrations on PostgreSQL
_LEGACY = {1: "0001", 2: "0002"}
"""Schema versions of databases made before the migrations, and the revision each one is."""


class SchemaOutOfDate(ServerError):
    """The database's schema is older than this code (PostgreSQL, without ``--migrate``)."""


class SchemaTooNew(ServerError):
    """The database was migrated by a newer winledger than this one."""


@dataclass(frozen=True)
class SchemaStatus:
    current: str | None
    """The database's revision (None: an empty database)."""
    head: str
    """The revision this code needs."""

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def _config(connection: Connection | None = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "server.database:migrations")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def _known(revision: str) -> bool:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        return ScriptDirectory.from_config(_config()).get_revision(revision) is not None
    except CommandError:
        return False


def _current(connection: Connection) -> tuple[str | None, bool]:
    """The database's revision, and whether it comes from a pre-migrations ``schema_version``."""
    from alembic.runtime.migration import MigrationContext

    revision = MigrationContext.configure(connection).get_current_revision()
    if revision is not None:
        return revision, False
    if not inspect(connection).has_table(db.meta.name):
        return None, False
    version = connection.scalar(select(db.meta.c.value).where(db.meta.c.key == "schema_version"))
    if version is None:
        return None, False
    if int(version) not in _LEGACY:
        raise SchemaTooNew(f"The database has schema version {version}, which this winledger does not know")
    return _LEGACY[int(version)], True


def _upgrade(connection: Connection) -> tuple[str | None, str]:
    from alembic import command

    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATE_LOCK})
    before, legacy = _current(connection)
    if before is not None and not _known(before):
        raise SchemaTooNew(
            f"The database is at schema revision {before}, newer than this winledger knows; upgrade winledger"
        )
    config = _config(connection)
    if legacy and before is not None:
        command.stamp(config, before)
    command.upgrade(config, "head")
    head = head_revision()
    _record(connection, head)
    return before, head


def _record(connection: Connection, head: str) -> None:
    """Keep ``winledger_meta``: the store's epoch (made once) and its schema version."""
    rows = dict(connection.execute(select(db.meta.c.key, db.meta.c.value)).all())
    version = str(int(head))
    if "epoch" not in rows:
        connection.execute(db.meta.insert(), [{"key": "epoch", "value": str(uuid.uuid4())}])
    if "schema_version" not in rows:
        connection.execute(db.meta.insert(), [{"key": "schema_version", "value": version}])
    elif rows["schema_version"] != version:
        connection.execute(update(db.meta).where(db.meta.c.key == "schema_version").values(value=version))


async def upgrade(engine: AsyncEngine) -> tuple[str | None, str]:
    """Bring the database to the newest schema; ``(revision before, revision after)``."""
    async with engine.connect() as connection:
        connection = await connection.execution_options(write=True)
        async with connection.begin():
            return await connection.run_sync(_upgrade)


async def status(engine: AsyncEngine) -> SchemaStatus:
    async with engine.connect() as connection, connection.begin():
        current, _ = await connection.run_sync(_current)
    return SchemaStatus(current, head_revision())


def out_of_date_message(state: SchemaStatus, url: str) -> str:
    where = "is empty" if state.current is None else f"is at schema revision {state.current}"
    from sqlalchemy.engine import make_url

    shown = make_url(url).render_as_string(hide_password=True)
    return (
        f"The database {where}; this winledger needs revision {state.head}. "
        f"Run `winledger admin migrate --db {shown}` once (or start one server with "
        "`winledger serve --migrate`), then start the servers."
    )


async def open_store(engine: AsyncEngine, url: str, *, migrate: bool = False) -> str:
    """Make sure the schema is current and return the store's epoch.

    SQLite is upgraded in place whatever ``migrate`` says; PostgreSQL only
    with ``migrate``, else ``SchemaOutOfDate``.
    """
    if migrate or engine.dialect.name == "sqlite":
        await upgrade(engine)
    else:
        state = await status(engine)
        if not state.up_to_date:
            if state.current is not None and not _known(state.current):
                raise SchemaTooNew(
                    f"The database is at schema revision {state.current}, newer than this winledger "
                    "knows; upgrade winledger"
                )
            raise SchemaOutOfDate(out_of_date_message(state, url))
    async with engine.connect() as connection, connection.begin():
        epoch = await connection.scalar(select(db.meta.c.value).where(db.meta.c.key == "epoch"))
    assert epoch is not None
    return str(epoch)

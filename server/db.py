"""Tables, engine and schema creation.

SQLite is the embedded default: WAL mode, ``synchronous=FULL`` (an
acknowledged event survives a power cut) and explicit ``BEGIN IMMEDIATE`` for
write transactions, so that a writer takes the lock up front instead of
failing on upgrade. The SQL stays portable through SQLAlchemy Core.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    event,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

SCHEMA_VERSION = 1

metadata = MetaData()

meta = Table(
    "winledger_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(200), nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", String(32), nullable=False),
    # The user's newest seq. Seqs are gap-free from 1, so it is also the event count.
    Column("last_seq", BigInteger, nullable=False),
    # Sum mod 2**128 of every stored event's hash, kept in the push transaction.
    Column("digest", String(32), nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", Integer, nullable=False, index=True),
    Column("secret_hash", String(64), nullable=False),
    Column("label", String(200)),
    Column("created_at", String(32), nullable=False),
    Column("expires_at", String(32)),
    Column("last_used_at", String(32)),
    Column("revoked_at", String(32)),
)

events = Table(
    "events",
    metadata,
    # An integer row id (not the text event id) as primary key: inserts stay fast.
    Column("pk", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("user_id", Integer, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("device_id", String(36), nullable=False),
    Column("device_seq", BigInteger, nullable=False),
    Column("type", String(64), nullable=False),
    Column("v", Integer, nullable=False),
    Column("project_id", String(36)),
    Column("clock", BigInteger, nullable=False),
    # The normalized event (nine client fields) as compact JSON, served as stored.
    Column("body", LargeBinary, nullable=False),
    Column("hash", String(32), nullable=False),
    Column("received_at", String(32), nullable=False),
    Index("ix_events_user_seq", "user_id", "seq", unique=True),
    Index("ix_events_user_event", "user_id", "event_id", unique=True),
    Index("ix_events_user_device", "user_id", "device_id", "device_seq", unique=True),
)

EVENT_INSERT_COLUMNS = (
    "user_id",
    "seq",
    "event_id",
    "device_id",
    "device_seq",
    "type",
    "v",
    "project_id",
    "clock",
    "body",
    "hash",
    "received_at",
)


def create_engine(url: str) -> AsyncEngine:
    engine = create_async_engine(url)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver: BEGIN is emitted below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get("write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def placeholders(connection: AsyncConnection, count: int) -> str:
    """Driver-level parameter markers for a hot-path ``exec_driver_sql``."""
    style = connection.dialect.paramstyle
    if style == "qmark":
        return ", ".join("?" * count)
    if style in ("numeric", "numeric_dollar"):
        mark = ":" if style == "numeric" else "$"
        return ", ".join(f"{mark}{i}" for i in range(1, count + 1))
    return ", ".join(["%s"] * count)


async def create_schema(engine: AsyncEngine) -> str:
    """Create missing tables and the store's epoch; return the epoch."""
    async with engine.connect() as connection:
        connection = await connection.execution_options(write=True)
        async with connection.begin():
            await connection.run_sync(metadata.create_all)
            rows = dict((await connection.execute(select(meta.c.key, meta.c.value))).all())
            if "epoch" not in rows:
                epoch = str(uuid.uuid4())
                await connection.execute(
                    meta.insert(),
                    [
                        {"key": "epoch", "value": epoch},
                        {"key": "schema_version", "value": str(SCHEMA_VERSION)},
                    ],
                )
                return epoch
            return str(rows["epoch"])

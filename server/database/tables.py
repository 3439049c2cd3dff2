"""Tables and the engine. (The schema is created and upgraded by ``server.database.migrate``.)

SQLite is the embedded default: WAL mode, ``synchronous=FULL`` (an
acknowledged event survives a power cut) and explicit ``BEGIN IMMEDIATE`` for
write transactions, so that a writer takes the lock up front instead of
failing on upgrade. The SQL stays portable through SQLAlchemy Core.
"""

from __future__ import annotations

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
    Text,
    event,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

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
    # The event id an `event.redacted` names (null for every other type): a push looks up the
    # redactions of the events it brings, and rewrites them on insert (ADR 0007).
    Column("target", String(36)),
    Index("ix_events_user_seq", "user_id", "seq", unique=True),
    Index("ix_events_user_event", "user_id", "event_id", unique=True),
    Index("ix_events_user_device", "user_id", "device_id", "device_seq", unique=True),
    # The projector re-reads one project's events, and a user's retractions, without a scan.
    Index("ix_events_user_project", "user_id", "project_id"),
    Index("ix_events_user_type", "user_id", "type"),
    Index("ix_events_user_target", "user_id", "target"),
)

# Read models (see server/projections/projector.py). A user's model rows and checkpoint change only together,
# in one write transaction, so a reader in one snapshot sees models that reflect exactly `seq`.
projection_checkpoints = Table(
    "projection_checkpoints",
    metadata,
    Column("user_id", Integer, primary_key=True, autoincrement=False),
    # Every event with a seq up to here is reflected in the user's project_models rows.
    Column("seq", BigInteger, nullable=False),
    # PROJECTION_VERSION of the code that folded those rows.
    Column("version", Integer, nullable=False),
)

project_models = Table(
    "project_models",
    metadata,
    Column("user_id", Integer, primary_key=True),
    # The project id, or '' for the bucket of wins and learnings captured without a project.
    Column("project_key", String(36), primary_key=True),
    Column("model", LargeBinary, nullable=False),
    # The project's summary (null for the '' bucket), so that listing projects decodes no timeline.
    Column("summary", LargeBinary),
)

projection_leases = Table(
    "projection_leases",
    metadata,
    # Whoever holds a user's row is the only one projecting or rebuilding that user until it expires.
    Column("user_id", Integer, primary_key=True, autoincrement=False),
    Column("holder", String(100), nullable=False),
    Column("expires_at_ms", BigInteger, nullable=False),
    # A rebuild waiting for the lease; the projector hands the lease over to it after its batch.
    Column("requested_by", String(100)),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    # The review pages' sign-ins (server/http/web/sessions.py): a hash of the cookie's id, never the id.
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", Integer, nullable=False, index=True),
    Column("token_id", String(32), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("expires_at", String(32), nullable=False),
    Index("ix_web_sessions_expires_at", "expires_at"),
)

shares = Table(
    "shares",
    metadata,
    # Read-only links to a review draft (server/accounts/shares.py): `id` is public (list, revoke), the
    # link's token is never stored, only its SHA-256, like every token and session id.
    Column("id", String(32), primary_key=True),
    Column("user_id", Integer, nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("period_from", String(10), nullable=False),
    Column("period_to", String(10), nullable=False),
    # The project ids it is limited to, as a JSON array; null: every project of the period.
    Column("project_ids", Text),
    Column("created_at", String(32), nullable=False),
    Column("expires_at", String(32), nullable=False),
    Column("revoked_at", String(32)),
    Column("view_count", BigInteger, nullable=False),
    Column("last_viewed_at", String(32)),
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
    "target",
)


POOL_SIZE = 8
"""Connections each server process keeps open to PostgreSQL (plus up to ``POOL_OVERFLOW`` more)."""
POOL_OVERFLOW = 4
WRITERS = 6
"""Write transactions one process runs at once on PostgreSQL; the rest of the pool serves reads."""


def create_engine(url: str) -> AsyncEngine:
    # hide_parameters: an error's message (logged on a 503) must not carry event bodies or token ids.
    options: dict[str, Any] = {"hide_parameters": True}
    if url.startswith("postgresql"):
        # pre_ping: a connection the database dropped (a restart, a failover) is replaced, not used.
        options |= {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW, "pool_pre_ping": True}
        if url.startswith("postgresql+asyncpg"):
            # asyncpg prepares every statement and keeps it for the connection's life, and after five
            # runs PostgreSQL may switch a prepared statement to a generic plan, made once from the
            # table as it was then and kept until an ANALYZE. One made while a user's log was empty
            # took 1.1 s to look up a push's 500 ids among 100,000 events, where a custom plan takes
            # 28 ms: pushes of 1,000 events fell from 9,000 to 500 events/s as the log grew. Custom
            # plans cost a planning per statement (tens of microseconds) and always see the table.
            options["connect_args"] = {"server_settings": {"plan_cache_mode": "force_custom_plan"}}
    engine = create_async_engine(url, **options)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


async def insert_ignore(connection: AsyncConnection, table: Table, values: dict[str, Any]) -> None:
    """INSERT that does nothing when a row with the same primary key exists (no error, no abort)."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        await connection.execute(pg_insert(table).values(**values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        await connection.execute(sqlite_insert(table).values(**values).on_conflict_do_nothing())
    else:
        raise NotImplementedError(f"winledger does not support the {dialect} database")


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

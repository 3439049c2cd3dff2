"""The recorder on SQLAlchemy's async engine: PostgreSQL, and SQLite where no file is at hand (in memory).

Writers in turn: on PostgreSQL a push reads the user's row ``FOR UPDATE``:
pushes of one user, from any connection of any process, take turns on that
row lock and commit in seq order, while pushes of different users run in
parallel (``single_writer`` is False). On SQLite every write transaction
starts with ``BEGIN IMMEDIATE`` (the engine's ``write`` option, see
``server.database.tables``), which orders writers from other processes (the
admin CLI); the event store queues this process's own on one lock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from schema import ValidEvent
from server.database import tables as db
from server.eventlog import rules
from server.eventlog.recorder import (
    Answered,
    Append,
    Appended,
    Page,
    Recorder,
    served_event,
    served_page,
    utc_now,
)
from server.eventlog.rules import Existing


class SQLAlchemyRecorder(Recorder):
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.single_writer = engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as connection:
            connection = await connection.execution_options(write=True)
            async with connection.begin():
                yield connection

    async def append(self, push: Append) -> Appended:
        async with self._transaction() as connection:
            return await _apply(connection, push)

    async def append_group(self, pushes: Sequence[Append]) -> list[Answered]:
        answers: list[Answered] = []
        async with self._transaction() as connection:
            for push in pushes:
                try:
                    async with connection.begin_nested():
                        answer = await _apply(connection, push)
                except Exception as exc:
                    answers.append((None, exc))  # rolled back to its savepoint alone
                else:
                    answers.append((answer, None))
        return answers

    async def read_page(self, user_id: int, after: int, limit: int) -> Page:
        async with self.engine.connect() as connection, connection.begin():
            last_seq, digest = await _user_log_head(connection, user_id)
            rules.check_cursor(after, last_seq)
            # `seq <= last_seq`: on PostgreSQL (READ COMMITTED) this statement may see a push that
            # committed after the head was read; the page stops at the head it reports.
            result = await connection.execute(
                select(db.events.c.seq, db.events.c.body, db.events.c.received_at)
                .where(db.events.c.user_id == user_id, db.events.c.seq > after, db.events.c.seq <= last_seq)
                .order_by(db.events.c.seq)
                .limit(limit)
            )
            rows = [(seq, served_event(seq, bytes(body), at)) for seq, body, at in result.all()]
        cursor = rows[-1][0] if rows else after
        return Page(served_page(rows), len(rows), cursor, last_seq, digest)

    async def head(self, user_id: int) -> tuple[int, str]:
        async with self.engine.connect() as connection, connection.begin():
            return await _user_log_head(connection, user_id)

    def close(self) -> None:
        """Nothing to stop: the engine is disposed by its owner."""


async def _apply(connection: AsyncConnection, push: Append) -> Appended:
    """One push inside a write transaction."""
    user_id, items, after = push
    last_seq, digest = await _user_log_head(connection, user_id, for_update=True)
    rules.check_cursor(after, last_seq)
    valid = rules.valid_events(items)
    if not valid:
        return Appended(rules.all_rejected(items), last_seq, False)
    existing = await _existing(connection, user_id, valid)
    judged = rules.judge(user_id, items, existing, last_seq, digest, utc_now())
    if judged.rows:
        sql = (
            f"INSERT INTO events ({', '.join(db.EVENT_INSERT_COLUMNS)}) "
            f"VALUES ({db.placeholders(connection, len(db.EVENT_INSERT_COLUMNS))})"
        )
        await connection.exec_driver_sql(sql, judged.rows)
        for event_id, (body, hash_value) in judged.rewrites.items():
            await connection.execute(
                update(db.events)
                .where(db.events.c.user_id == user_id, db.events.c.event_id == event_id)
                .values(body=body, hash=format(hash_value, "032x"))
            )
        await connection.execute(
            update(db.users)
            .where(db.users.c.id == user_id)
            .values(last_seq=judged.last_seq, digest=judged.digest)
        )
    return Appended(judged.outcomes, judged.last_seq, bool(judged.rows))


async def _user_log_head(
    connection: AsyncConnection, user_id: int, *, for_update: bool = False
) -> tuple[int, str]:
    query = select(db.users.c.last_seq, db.users.c.digest).where(db.users.c.id == user_id)
    if for_update:
        # The user's row is the lock that orders concurrent pushes on servers with row locks
        # (PostgreSQL); SQLite's BEGIN IMMEDIATE already serializes writers.
        query = query.with_for_update()
    row = (await connection.execute(query)).one()
    return int(row[0]), row[1]


async def _existing(connection: AsyncConnection, user_id: int, valid: list[ValidEvent]) -> Existing:
    """What the stored log holds that the batch is judged against (``rules.Existing``)."""
    wanted = rules.lookups(valid)
    e = db.events.c
    existing = Existing()
    for chunk in wanted.ids:
        result = await connection.execute(
            select(e.event_id, e.body, e.seq, e.hash).where(e.user_id == user_id, e.event_id.in_(chunk))
        )
        existing.by_id.update(
            {event_id: (bytes(body), seq, int(h, 16)) for event_id, body, seq, h in result.all()}
        )
    for chunk in wanted.own:
        targets = await connection.execute(select(e.target).where(e.user_id == user_id, e.target.in_(chunk)))
        existing.redacted.update(targets.scalars())
    for device_id, seq_chunk in wanted.seqs_by_device:
        holders = await connection.execute(
            select(e.device_seq, e.event_id).where(
                e.user_id == user_id, e.device_id == device_id, e.device_seq.in_(seq_chunk)
            )
        )
        existing.by_device.update({(device_id, seq): event_id for seq, event_id in holders.all()})
    return existing

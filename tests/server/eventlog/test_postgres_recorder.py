"""The plain-asyncpg recorder (``server.eventlog.postgres``) held equal to the engine's (the reference)
on the same PostgreSQL: for any pushes (repeats, id and device-seq conflicts, redactions before and
after their targets, rejected items, cursors ahead), the same outcomes, log heads and stored rows, and
the same pages byte for byte but for ``received_at``; by INSERT and by COPY."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import insert, select

from schema import EMPTY_DIGEST, Rejection, ValidEvent, digest_of, validate_fields
from server.database import migrate
from server.database import tables as db
from server.eventlog import postgres
from server.eventlog.postgres import PostgresRecorder
from server.eventlog.recorder import Append, Appended, Recorder
from server.eventlog.rules import CursorAhead
from server.eventlog.sqlalchemy import SQLAlchemyRecorder
from tests.factories import Device, an_event
from tests.server.eventlog.support import validated
from tests.strategies import user_logs, uuids
from tests.support.databases import PostgresDatabases

Push = tuple[list[ValidEvent | Rejection], int | None]


@pytest.fixture(scope="module")
def database(postgres_databases: PostgresDatabases) -> Iterator[str]:
    url = postgres_databases.create()

    async def upgrade() -> None:
        engine = db.create_engine(url)
        await migrate.upgrade(engine)
        await engine.dispose()

    asyncio.run(upgrade())
    yield url


@st.composite
def pushes(draw: st.DrawFn) -> list[Push]:
    """One user's log cut into pushes in its order (so that a redaction may be stored before its
    target comes), each with extras drawn from the log and its look-alikes: the same event again,
    another event under one of its ids or on one of its device seqs, a rejected item."""
    fields = draw(user_logs(max_events=14))
    # A redaction that comes before its target: the target is stored redacted when it comes.
    at = draw(st.integers(0, len(fields) - 1))
    redaction = an_event(
        "event.redacted", id=draw(uuids), device_id=draw(uuids), data={"target": fields[at]["id"]}
    )
    fields.insert(draw(st.integers(0, at)), redaction)
    log = [_valid(event) for event in fields]
    first = log[0].fields
    pool: list[ValidEvent | Rejection] = [*log]
    for other in draw(user_logs(max_events=3)):
        pool.append(_valid({**other, "id": first["id"]}))
        pool.append(_valid({**other, "device_id": first["device_id"], "device_seq": first["device_seq"]}))
    pool.append(Rejection("invalid_field", "`type` is unknown - at `$.events[0].type`", first["id"]))
    cuts = sorted(draw(st.sets(st.integers(1, len(log)), max_size=4)) | {len(log)})
    batches: list[Push] = []
    for start, end in zip([0, *cuts], cuts, strict=False):
        extras = draw(st.lists(st.sampled_from(pool), max_size=4))
        after = draw(st.none() | st.integers(0, 20))
        batches.append(([*log[start:end], *extras], after))
    return batches


def _valid(fields: dict[str, Any]) -> ValidEvent:
    item = validate_fields(fields)
    assert isinstance(item, ValidEvent), item
    return item


async def _user(engine: Any, name: str) -> int:
    async with engine.begin() as connection:
        result = await connection.execute(
            insert(db.users).values(name=name, created_at="x", last_seq=0, digest=EMPTY_DIGEST)
        )
        return int(result.inserted_primary_key[0])


async def _replay(recorder: Recorder, user_id: int, batches: list[Push]) -> list[Any]:
    answers: list[Any] = []
    for items, after in batches:
        try:
            appended: Appended = await recorder.append(Append(user_id, items, after))
        except CursorAhead as exc:
            answers.append(("cursor_ahead", exc.after, exc.last_seq))
        else:
            outcomes = [(o.id, o.status, o.seq, o.code, o.message) for o in appended.outcomes]
            answers.append((outcomes, appended.last_seq, appended.stored))
    return answers


async def _stored(engine: Any, user_id: int) -> list[tuple[Any, ...]]:
    e = db.events.c
    columns = [c for c in db.events.c if c.name not in ("pk", "user_id", "received_at")]
    async with engine.connect() as connection:
        rows = await connection.execute(select(*columns).where(e.user_id == user_id).order_by(e.seq))
        return [tuple(row) for row in rows]


async def _pages(recorder: Recorder, user_id: int) -> list[tuple[bytes, int, int, int, str]]:
    pages, after = [], 0
    while True:
        page = await recorder.read_page(user_id, after, 7)
        served = re.sub(rb'"received_at":"[^"]*"', b"", page.events)
        pages.append((served, page.count, page.cursor, page.last_seq, page.digest))
        if not page.more:
            return pages
        after = page.cursor


@given(pushes(), st.sampled_from([1, postgres.COPY_FROM]))
def test_the_asyncpg_recorder_stores_and_answers_as_the_engines_does(
    database: str, batches: list[Push], copy_from: int
) -> None:
    async def run() -> None:
        engine = db.create_engine(database)
        reference, candidate = SQLAlchemyRecorder(engine), PostgresRecorder(engine)
        try:
            ours, theirs = await _user(engine, "ours"), await _user(engine, "theirs")
            assert await _replay(candidate, ours, batches) == await _replay(reference, theirs, batches)
            assert await candidate.head(ours) == await reference.head(theirs)
            assert await _stored(engine, ours) == await _stored(engine, theirs)
            assert await _pages(candidate, ours) == await _pages(reference, theirs)
            async with engine.begin() as connection:
                await connection.execute(db.events.delete())
                await connection.execute(db.users.delete())
        finally:
            candidate.close()
            await engine.dispose()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(postgres, "COPY_FROM", copy_from)  # 1: every push by COPY
        asyncio.run(run())


def test_processes_pushing_one_user_at_once_store_each_event_once_in_seq_order(database: str) -> None:
    """Four servers (a pool each, as ``--workers`` processes) push overlapping batches of one user at
    once: every event is accepted once and a duplicate elsewhere with the same seq, the seqs run from 1
    without a gap, and the head's digest is that of the stored events."""
    devices = [Device() for _ in range(4)]
    events = [event for device in devices for event in device.events(30)]
    batches = [validated(events[start : start + 6]) for start in range(0, len(events), 3)]

    async def run() -> None:
        engines = [db.create_engine(database) for _ in range(4)]
        recorders = [PostgresRecorder(engine) for engine in engines]
        try:
            user = await _user(engines[0], "racing")
            pushes = [
                recorders[i % 4].append(Append(user, batch, None)) for i, batch in enumerate(batches * 2)
            ]
            answers = await asyncio.gather(*pushes)
            accepted: dict[str, int] = {}
            for answer in answers:
                for outcome in answer.outcomes:
                    assert outcome.status in ("accepted", "duplicate"), outcome.status
                    if outcome.status == "accepted":
                        assert outcome.id not in accepted
                        accepted[str(outcome.id)] = int(outcome.seq or 0)
            assert sorted(accepted.values()) == list(range(1, len(events) + 1))
            for answer in answers:
                assert all(accepted[str(o.id)] == o.seq for o in answer.outcomes)
            stored = await _stored(engines[0], user)
            assert [row[0] for row in stored] == list(range(1, len(events) + 1))
            hashes = [int(row[db.events.c.keys().index("hash") - 2], 16) for row in stored]
            assert await recorders[0].head(user) == (len(events), digest_of(hashes))
        finally:
            for recorder, engine in zip(recorders, engines, strict=True):
                recorder.close()
                await engine.dispose()

    asyncio.run(run())

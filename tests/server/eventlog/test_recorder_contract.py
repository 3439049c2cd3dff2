"""The recorder contract: every backend's recorder, run through one set of tests.

``sqlite`` is the plain-sqlite3 recorder (a SQLite file, writer and reader threads);
``postgresql`` the plain-asyncpg recorder (its own pool); ``sqlalchemy-sqlite`` and
``sqlalchemy-postgresql`` the engine's recorder on each database (the PostgreSQL ones when
``WINLEDGER_TEST_POSTGRES_URL`` is set).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy import insert

from schema import DEVICE_SEQ_CONFLICT, EMPTY_DIGEST, ID_CONFLICT, Rejection, digest_of
from schema.redaction import REDACTED, redacted_body
from server.database import migrate
from server.database import tables as db
from server.eventlog import event_store, recorder_for
from server.eventlog.direct import sqlite_path
from server.eventlog.postgres import PostgresRecorder
from server.eventlog.recorder import Append, Appended, Recorder
from server.eventlog.rules import CursorAhead
from server.eventlog.sqlalchemy import SQLAlchemyRecorder
from server.eventlog.sqlite import SQLiteRecorder
from server.eventlog.store import EventStore
from tests.factories import Device, an_event
from tests.server.eventlog.support import valid, validated
from tests.support.databases import PostgresDatabases, sqlite_url

RECORDERS = ("sqlite", "postgresql", "sqlalchemy-sqlite", "sqlalchemy-postgresql")
ADA, GRACE = 1, 2

Scenario = Callable[[Recorder], Awaitable[None]]


@pytest.fixture(params=RECORDERS)
def recorded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[Scenario], None]]:
    """Runs a scenario on a new database with two users, ada (1) and grace (2), on one recorder."""
    kind: str = request.param
    if kind.endswith("postgresql"):
        databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
        url = databases.create()
    else:
        url = sqlite_url(tmp_path / "log.db")

    async def run(scenario: Scenario) -> None:
        engine = db.create_engine(url)
        recorder: Recorder
        if kind == "sqlite":
            path = sqlite_path(engine)
            assert path is not None
            recorder = SQLiteRecorder(engine, path)
        elif kind == "postgresql":
            recorder = PostgresRecorder(engine)
        else:
            recorder = SQLAlchemyRecorder(engine)
        try:
            await migrate.upgrade(engine)
            async with engine.begin() as connection:
                for name in ("ada", "grace"):
                    await connection.execute(
                        insert(db.users).values(name=name, created_at="x", last_seq=0, digest=EMPTY_DIGEST)
                    )
            await scenario(recorder)
        finally:
            recorder.close()
            await engine.dispose()

    yield lambda scenario: asyncio.run(run(scenario))


async def append(recorder: Recorder, user_id: int, events: list[Any], after: int | None = None) -> Appended:
    return await recorder.append(Append(user_id, validated(events), after))


def statuses(appended: Appended) -> list[tuple[str, int | None]]:
    return [(outcome.status, outcome.seq) for outcome in appended.outcomes]


async def everything(recorder: Recorder, user_id: int) -> list[dict[str, Any]]:
    page = await recorder.read_page(user_id, 0, 10_000)
    return msgspec.json.decode(page.events)  # type: ignore[no-any-return]


def test_an_append_is_given_gap_free_seqs_and_the_digest_of_its_events(
    recorded: Callable[[Scenario], None],
) -> None:
    async def scenario(recorder: Recorder) -> None:
        events, later = Device().events(3), Device().events(2)
        appended = await append(recorder, ADA, events)
        assert statuses(appended) == [("accepted", 1), ("accepted", 2), ("accepted", 3)]
        assert (appended.last_seq, appended.stored) == (3, True)
        assert statuses(await append(recorder, ADA, later)) == [("accepted", 4), ("accepted", 5)]
        stored = await everything(recorder, ADA)
        assert [event["seq"] for event in stored] == [1, 2, 3, 4, 5]
        assert [event["id"] for event in stored] == [event["id"] for event in events + later]
        assert all(isinstance(event["received_at"], str) for event in stored)
        assert await recorder.head(ADA) == (5, digest_of(valid(event).hash for event in events + later))

    recorded(scenario)


def test_a_repeat_is_a_duplicate_with_its_first_seq_and_stores_nothing(
    recorded: Callable[[Scenario], None],
) -> None:
    async def scenario(recorder: Recorder) -> None:
        events = Device().events(2)
        await append(recorder, ADA, events)
        head = await recorder.head(ADA)
        again = await append(recorder, ADA, events)
        assert statuses(again) == [("duplicate", 1), ("duplicate", 2)]
        assert (again.last_seq, again.stored) == (2, False)
        assert await recorder.head(ADA) == head

    recorded(scenario)


def test_an_id_or_a_device_seq_taken_by_other_content_is_rejected(
    recorded: Callable[[Scenario], None],
) -> None:
    async def scenario(recorder: Recorder) -> None:
        device = Device()
        first = device.event()
        await append(recorder, ADA, [first])
        same_id = {**first, "data": {"text": "Other words", "source": "text"}}
        same_device_seq = an_event(device_id=first["device_id"], device_seq=first["device_seq"])
        appended = await append(recorder, ADA, [same_id, same_device_seq])
        assert [outcome.code for outcome in appended.outcomes] == [ID_CONFLICT, DEVICE_SEQ_CONFLICT]
        assert "`$.events[1].device_seq`" in str(appended.outcomes[1].message)
        assert (appended.last_seq, appended.stored) == (1, False)

    recorded(scenario)


def test_repeats_inside_one_batch_are_judged_against_its_earlier_events(
    recorded: Callable[[Scenario], None],
) -> None:
    async def scenario(recorder: Recorder) -> None:
        event = an_event()
        appended = await append(recorder, ADA, [event, event])
        assert statuses(appended) == [("accepted", 1), ("duplicate", 1)]
        assert len(await everything(recorder, ADA)) == 1

    recorded(scenario)


def test_rejected_items_are_answered_in_place_and_never_stored(recorded: Callable[[Scenario], None]) -> None:
    async def scenario(recorder: Recorder) -> None:
        refused = Rejection("invalid_event", "Expected a string - at `$.events[0].id`", None)
        alone = await recorder.append(Append(ADA, [refused], None))
        assert [(o.status, o.code) for o in alone.outcomes] == [("rejected", "invalid_event")]
        assert (alone.last_seq, alone.stored) == (0, False)
        mixed = await recorder.append(Append(ADA, [refused, valid(an_event())], None))
        assert statuses(mixed) == [("rejected", None), ("accepted", 1)]

    recorded(scenario)


def test_each_user_has_a_log_of_its_own(recorded: Callable[[Scenario], None]) -> None:
    async def scenario(recorder: Recorder) -> None:
        shared = an_event()
        await append(recorder, ADA, [*Device().events(3), shared])
        theirs = await append(recorder, GRACE, [shared])
        assert statuses(theirs) == [("accepted", 1)]
        assert [e["id"] for e in await everything(recorder, GRACE)] == [shared["id"]]
        assert (await recorder.head(ADA))[0] == 4 and (await recorder.head(GRACE))[0] == 1

    recorded(scenario)


def test_pages_follow_the_cursor_and_stop_at_the_head(recorded: Callable[[Scenario], None]) -> None:
    async def scenario(recorder: Recorder) -> None:
        await append(recorder, ADA, Device().events(7))
        seen, after, pages = [], 0, 0
        while True:
            page = await recorder.read_page(ADA, after, 3)
            seen += [event["seq"] for event in msgspec.json.decode(page.events)]
            pages += 1
            assert page.count == len(seen) - (pages - 1) * 3 and page.last_seq == 7
            after = page.cursor
            if not page.more:
                break
        assert seen == list(range(1, 8)) and pages == 3
        last = await recorder.read_page(ADA, 7, 3)
        assert (last.events, last.count, last.cursor, last.more) == (b"[]", 0, 7, False)
        assert last.digest == (await recorder.head(ADA))[1]

    recorded(scenario)


def test_a_cursor_beyond_the_head_is_refused_and_nothing_is_stored(
    recorded: Callable[[Scenario], None],
) -> None:
    async def scenario(recorder: Recorder) -> None:
        await append(recorder, ADA, [an_event()])
        with pytest.raises(CursorAhead):
            await recorder.read_page(ADA, 2, 10)
        with pytest.raises(CursorAhead):
            await append(recorder, ADA, [an_event()], after=2)
        assert (await recorder.head(ADA))[0] == 1
        assert statuses(await append(recorder, ADA, [an_event()], after=1)) == [("accepted", 2)]

    recorded(scenario)


def test_a_group_commits_together_and_a_failing_push_rolls_back_alone(
    recorded: Callable[[Scenario], None],
) -> None:
    async def scenario(recorder: Recorder) -> None:
        ada, grace = Device().events(2), Device().events(3)
        answers = await recorder.append_group(
            [
                Append(ADA, validated(ada), None),
                Append(ADA, validated(Device().events(1)), 5),  # beyond the head: refused alone
                Append(GRACE, validated(grace), None),
                Append(ADA, validated(ada), None),  # after the first push of the same group
            ]
        )
        results = [None if answer is None else statuses(answer) for answer, _ in answers]
        assert results == [
            [("accepted", 1), ("accepted", 2)],
            None,
            [("accepted", 1), ("accepted", 2), ("accepted", 3)],
            [("duplicate", 1), ("duplicate", 2)],
        ]
        assert isinstance(answers[1][1], CursorAhead)
        assert (await recorder.head(ADA))[0] == 2 and (await recorder.head(GRACE))[0] == 3

    recorded(scenario)


def test_a_redaction_rewrites_its_stored_target_and_the_digest_follows(
    recorded: Callable[[Scenario], None],
) -> None:
    async def scenario(recorder: Recorder) -> None:
        device = Device()
        target = device.event(data={"text": "Dana from Acme", "source": "text"})
        await append(recorder, ADA, [target])
        redaction = device.event("event.redacted", data={"target": target["id"]})
        assert statuses(await append(recorder, ADA, [redaction])) == [("accepted", 2)]
        stored = await everything(recorder, ADA)
        assert stored[0]["data"]["text"] == REDACTED
        hashes = [redacted_body(valid(target).body)[1], valid(redaction).hash]
        assert (await recorder.head(ADA))[1] == digest_of(hashes)
        # The original text again is a duplicate: it is compared redacted.
        assert statuses(await append(recorder, ADA, [target])) == [("duplicate", 1)]

    recorded(scenario)


def test_event_store_picks_the_sqlite_recorder_for_a_file_and_the_engine_for_memory(tmp_path: Path) -> None:
    async def check() -> None:
        for url, expected in (
            (sqlite_url(tmp_path / "file.db"), SQLiteRecorder),
            ("sqlite+aiosqlite:///:memory:", SQLAlchemyRecorder),
        ):
            engine = db.create_engine(url)
            store = event_store(engine)
            try:
                picked = recorder_for(engine)
                picked.close()
                assert type(store.recorder) is expected and type(picked) is expected
                assert (store.direct is not None) == (expected is SQLiteRecorder)
            finally:
                store.close()
                await engine.dispose()

    asyncio.run(check())


def test_event_store_picks_the_asyncpg_recorder_for_postgresql(postgres_databases: PostgresDatabases) -> None:
    url = postgres_databases.create()

    async def check() -> None:
        engine = db.create_engine(url)
        store = event_store(engine)
        try:
            assert type(store.recorder) is PostgresRecorder and store.direct is None
            assert not store.recorder.single_writer
        finally:
            store.close()
            await engine.dispose()

    asyncio.run(check())


def test_concurrent_pushes_through_the_store_get_gap_free_seqs_per_user(
    recorded: Callable[[Scenario], None],
) -> None:
    """Through the event store, as the server pushes: group commits on SQLite, parallel transactions on
    PostgreSQL. Each user's seqs are 1..n without a gap or a repeat, whatever the interleaving."""

    async def scenario(recorder: Recorder) -> None:
        store = EventStore(recorder)
        users = [ADA, GRACE] * 8
        answers = await asyncio.gather(*(store.push(user, validated(Device().events(3))) for user in users))
        for user_id in (ADA, GRACE):
            seqs = [
                outcome.seq
                for user, (outcomes, _) in zip(users, answers, strict=True)
                if user == user_id
                for outcome in outcomes
            ]
            assert sorted(seqs) == list(range(1, 25))  # type: ignore[type-var]
            assert [event["seq"] for event in await everything(recorder, user_id)] == list(range(1, 25))

    recorded(scenario)

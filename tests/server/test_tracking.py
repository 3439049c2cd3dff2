"""The tracking recorder's contract, run against every backend from one set of tests.

Backends: ``sqlite3`` (a SQLite file: every read and write on plain ``sqlite3``, as its event log; and
``sqlite3-inline``, each statement in the event loop's thread, as the projector process runs them),
``sqlalchemy-sqlite`` (the SQLAlchemy recorder on a SQLite file), ``asyncpg`` (PostgreSQL: every read
and write on plain ``asyncpg``, on its event log's pool) and ``sqlalchemy-postgresql`` (the SQLAlchemy
recorder on PostgreSQL); the PostgreSQL ones on the database of ``WINLEDGER_TEST_POSTGRES_URL``, skipped
when it is unset). The contract
(server/projections/tracking.py): rows and checkpoint commit together, and a failure between them
leaves neither; a restart resumes from the checkpoint; one lease holder at a time; a rebuild's swap
replaces every row and the checkpoint at once, and a reader sees the old models or the new.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import msgspec
import pytest

from schema import ValidEvent, validate_fields
from schema.projections import ProjectModel, build_models
from server.accounts.auth import Accounts
from server.database import migrate
from server.database import tables as db
from server.eventlog import event_store
from server.eventlog.postgres import PostgresRecorder
from server.eventlog.sqlite import SQLiteRecorder
from server.eventlog.store import EventStore
from server.projections.leases import new_holder
from server.projections.projector import project_batch
from server.projections.rebuild import rebuild_user
from server.projections.recorders import recorder_for
from server.projections.rows import encode_rows, key_of
from server.projections.tracking import Checkpoint, CheckpointMoved, TrackingRecorder, code_version
from server.projections.tracking_postgres import PostgresTrackingRecorder
from server.projections.tracking_sqlalchemy import SqlAlchemyTrackingRecorder
from server.projections.tracking_sqlite import SqliteTrackingRecorder
from tests.factories import Device, new_id
from tests.support.databases import PostgresDatabases, sqlite_url

RECORDERS = ("sqlite3", "sqlite3-inline", "sqlalchemy-sqlite", "asyncpg", "sqlalchemy-postgresql")

Scenario = Callable[["Backend"], Coroutine[Any, Any, None]]


class Backend:
    """A database with one user, and the recorder under test over a store of it."""

    def __init__(self, kind: str, url: str) -> None:
        self.kind, self.url = kind, url
        self.engine = db.create_engine(url)
        self.store = event_store(self.engine)
        self.recorder = self._recorder(self.store)
        self.user_id = 0
        self.events: list[dict[str, Any]] = []

    def _recorder(self, store: EventStore) -> TrackingRecorder:
        if self.kind.startswith("sqlite3"):
            assert isinstance(store.recorder, SQLiteRecorder), "a SQLite file's log is plain sqlite3"
            if self.kind == "sqlite3-inline":  # as the projector process runs it
                store.recorder.reads.inline = store.recorder.writer.inline = True
            recorder: TrackingRecorder = SqliteTrackingRecorder(store)
            assert type(recorder_for(store)) is SqliteTrackingRecorder, "the backend chosen for a file"
            return recorder
        if self.kind == "asyncpg":
            assert isinstance(store.recorder, PostgresRecorder), "a PostgreSQL log is plain asyncpg"
            recorder = PostgresTrackingRecorder(store)
            assert type(recorder_for(store)) is PostgresTrackingRecorder, "the backend chosen for PostgreSQL"
            return recorder
        return SqlAlchemyTrackingRecorder(store)

    async def start(self) -> None:
        await migrate.upgrade(self.engine)
        await Accounts(self.store).create_user("ada")
        self.user_id = 1

    async def push(self, events: list[dict[str, Any]]) -> int:
        valid = [validate_fields(event) for event in events]
        assert all(isinstance(item, ValidEvent) for item in valid)
        await self.store.push(self.user_id, valid)
        self.events += events
        async with self.recorder.reading() as reading:
            return await reading.log_head(self.user_id)

    async def restart(self) -> None:
        """A new process on the same database: new engine, store and recorder."""
        await self.close()
        self.engine = db.create_engine(self.url)
        self.store = event_store(self.engine)
        self.recorder = self._recorder(self.store)

    async def stored(self) -> tuple[Checkpoint | None, dict[str, bytes]]:
        async with self.recorder.reading() as reading:
            checkpoint = await reading.read_checkpoint(self.user_id)
            models = await reading.load_models_of(self.user_id, await reading.model_keys(self.user_id))
        return checkpoint, {key: msgspec.json.encode(model) for key, model in models.items()}

    def expected(self) -> dict[str, bytes]:
        return {key_of(key): msgspec.json.encode(model) for key, model in build_models(self.events).items()}

    async def close(self) -> None:
        self.store.close()
        await self.engine.dispose()


@pytest.fixture(params=RECORDERS)
def run(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[Scenario], None]:
    kind: str = request.param
    if kind in ("asyncpg", "sqlalchemy-postgresql"):
        databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
        url = databases.create()
    else:
        url = sqlite_url(tmp_path / "tracking.db")

    def run(scenario: Scenario) -> None:
        async def main() -> None:
            backend = Backend(kind, url)
            try:
                await backend.start()
                await scenario(backend)
            finally:
                await backend.close()

        asyncio.run(main())

    return run


def a_log(count: int, projects: int = 3) -> list[dict[str, Any]]:
    device, ids = Device(), [new_id() for _ in range(projects)]
    events = [device.event("project.started", project_id=project) for project in ids]
    events += [device.event("win.captured", project_id=ids[i % projects]) for i in range(count - projects)]
    return events


def a_model(backend: Backend) -> dict[str, ProjectModel | None]:
    return {key_of(key): model for key, model in build_models(backend.events).items()}


def test_rows_and_checkpoint_commit_together(run: Callable[[Scenario], None]) -> None:
    async def scenario(backend: Backend) -> None:
        head = await backend.push(a_log(6))
        async with backend.recorder.writing() as writes:
            await writes.record(backend.user_id, a_model(backend), Checkpoint(head, code_version()), None)
        assert await backend.stored() == (Checkpoint(head, code_version()), backend.expected())

    run(scenario)


def test_a_failure_between_rows_and_checkpoint_leaves_neither(run: Callable[[Scenario], None]) -> None:
    async def scenario(backend: Backend) -> None:
        head = await backend.push(a_log(6))
        models, moved = a_model(backend), Checkpoint(head, code_version())
        # The checkpoint is not where the batch found it: the rows written before the check go too.
        with pytest.raises(CheckpointMoved):
            async with backend.recorder.writing() as writes:
                await writes.record(backend.user_id, models, moved, Checkpoint(1, code_version()))
        assert await backend.stored() == (None, {})
        # A failure after the rows and the checkpoint, before the commit, leaves neither either.
        with pytest.raises(RuntimeError, match="between"):
            async with backend.recorder.writing() as writes:
                await writes.record(backend.user_id, models, moved, None)
                raise RuntimeError("a failure between the writes and the commit")
        assert await backend.stored() == (None, {})
        # A second writer from the same starting point is refused once the first has committed.
        async with backend.recorder.writing() as writes:
            await writes.record(backend.user_id, models, moved, None)
        with pytest.raises(CheckpointMoved):
            async with backend.recorder.writing() as writes:
                await writes.record(backend.user_id, {key: None for key in models}, moved, None)
        assert await backend.stored() == (moved, backend.expected())

    run(scenario)


def test_a_restart_resumes_from_the_checkpoint(run: Callable[[Scenario], None]) -> None:
    async def scenario(backend: Backend) -> None:
        head = await backend.push(a_log(25))
        holder = new_holder("test")
        first = await project_batch(backend.recorder, backend.user_id, holder, batch=10)
        assert (first.status, first.seq, first.events) == ("more", 10, 10)
        await backend.restart()  # the lease is left behind, as by a killed process: the holder resumes
        applied, result = first.events, first
        while result.status == "more" or result is first:
            result = await project_batch(backend.recorder, backend.user_id, holder, batch=10)
            applied += result.events
        assert (result.status, result.seq, applied) == ("caught_up", head, head), "no event applied twice"
        assert await backend.stored() == (Checkpoint(head, code_version()), backend.expected())

    run(scenario)


def test_one_lease_holder_at_a_time(run: Callable[[Scenario], None]) -> None:
    async def take(backend: Backend, holder: str, *, request: bool = False, ttl_s: float = 60) -> bool:
        async with backend.recorder.writing() as writes:
            return await writes.take_lease(backend.user_id, holder, ttl_s, request=request)

    async def scenario(backend: Backend) -> None:
        assert await take(backend, "projector-a")
        assert await take(backend, "projector-a"), "a holder renews its own lease"
        assert not await take(backend, "projector-b")
        assert not await take(backend, "rebuild-c", request=True)
        async with backend.recorder.writing() as writes:
            assert not await writes.hand_over(backend.user_id, "projector-b", 60), "not b's to give"
            assert await writes.hand_over(backend.user_id, "projector-a", 60)
        assert not await take(backend, "projector-a"), "handed over to the rebuild that asked"
        assert await take(backend, "rebuild-c")
        async with backend.recorder.writing() as writes:
            await writes.release_lease(backend.user_id, "projector-b")  # not b's: nothing changes
        assert not await take(backend, "projector-b")
        async with backend.recorder.writing() as writes:
            await writes.release_all("rebuild-c")
        assert await take(backend, "projector-b", ttl_s=0.001)
        await asyncio.sleep(0.01)
        assert await take(backend, "projector-d"), "an expired lease is anyone's"
        # Racing writers of two processes: exactly one wins.
        other = Backend(backend.kind, backend.url)
        other.user_id = backend.user_id
        try:
            async with backend.recorder.writing() as writes:
                await writes.release_all("projector-d")
            won = await asyncio.gather(
                *(take(side, f"racer-{i}") for i, side in enumerate([backend, other] * 3))
            )
        finally:
            await other.close()
        assert sum(won) == 1

    run(scenario)


def test_a_rebuild_swaps_every_row_and_the_checkpoint_at_once(run: Callable[[Scenario], None]) -> None:
    async def scenario(backend: Backend) -> None:
        first = await backend.push(a_log(9))
        old = a_model(backend)
        stale = {"no-such-project": next(model for model in old.values() if model is not None)}
        async with backend.recorder.writing() as writes:
            await writes.record(
                backend.user_id, {**old, **stale}, Checkpoint(first, code_version() - 1), None
            )
        head = await backend.push(a_log(6, projects=2))
        async with contextlib.AsyncExitStack() as stack:
            reading = await stack.enter_async_context(backend.recorder.reading())
            before = await reading.read_checkpoint(backend.user_id)  # the snapshot starts here
            outcome = await rebuild_user(backend.recorder, backend.user_id, new_holder("test-rebuild"))
            keys = await reading.model_keys(backend.user_id)
            assert before == Checkpoint(first, code_version() - 1)
            assert sorted(keys) == sorted({*old, *stale}), "a reader sees the old models until it ends"
        assert (outcome.seq, outcome.events) == (head, head)
        assert await backend.stored() == (Checkpoint(head, code_version()), backend.expected())
        async with backend.recorder.writing() as writes:  # and the lease is free again
            assert await writes.take_lease(backend.user_id, "after", 60)

    run(scenario)


def test_the_folds_reads_agree_on_every_path(run: Callable[[Scenario], None]) -> None:
    async def scenario(backend: Backend) -> None:
        device, project = Device(), new_id()
        events = [*a_log(8), device.event("win.captured", project_id=None)]
        events.append(device.event("event.retracted", project_id=project, data={"target": events[4]["id"]}))
        head = await backend.push(events)
        keys = {key_of(event["project_id"]) for event in events}
        alone = await backend.recorder.project_bodies(backend.user_id, keys, head)
        async with backend.recorder.reading() as reading:
            together = await reading.project_bodies(backend.user_id, keys, head)
            sizes = dict(await reading.project_sizes(backend.user_id))
        assert sorted(alone) == sorted(together)
        assert len(alone) == len(events) - 1, "retractions are folded into no project"
        assert sum(sizes.values()) == len(events)

    run(scenario)


def test_a_projector_batch_commits_as_its_steps_would(run: Callable[[Scenario], None]) -> None:
    """``commit_batch`` (one step on SQLite, the reference steps elsewhere): lost lease, moved checkpoint,
    then rows and checkpoint with the lease kept, released, or handed over to whoever asked."""

    async def commit(backend: Backend, holder: str, new: Checkpoint, expected: Checkpoint | None) -> str:
        models = encode_rows(a_model(backend))
        async with backend.recorder.writing() as writes:
            return await writes.commit_batch(backend.user_id, holder, 60, models, new, expected)

    async def holder_of(backend: Backend, holder: str) -> bool:
        async with backend.recorder.writing() as writes:
            return await writes.take_lease(backend.user_id, holder, 60)

    async def scenario(backend: Backend) -> None:
        version = code_version()
        head = await backend.push(a_log(6))
        assert await holder_of(backend, "other")
        assert await commit(backend, "projector", Checkpoint(head, version), None) == "lost"
        assert await backend.stored() == (None, {}), "a lost lease writes nothing"
        async with backend.recorder.writing() as writes:
            await writes.release_lease(backend.user_id, "other")
        moved = Checkpoint(1, version)
        assert await commit(backend, "projector", Checkpoint(head, version), moved) == "moved"
        assert await backend.stored() == (None, {}), "a moved checkpoint writes nothing"
        assert await holder_of(backend, "other"), "and the lease is released"
        async with backend.recorder.writing() as writes:
            await writes.release_lease(backend.user_id, "other")

        assert await commit(backend, "projector", Checkpoint(head - 2, version), None) == "more"
        assert not await holder_of(backend, "other"), "more to do: the lease is kept"
        done = await commit(backend, "projector", Checkpoint(head, version), Checkpoint(head - 2, version))
        assert done == "caught_up"
        assert await backend.stored() == (Checkpoint(head, version), backend.expected())
        assert await holder_of(backend, "other"), "caught up: the lease is released"
        assert await backend.recorder.standing(backend.user_id) == (head, Checkpoint(head, version))

        head = await backend.push(a_log(4))
        previous = Checkpoint(head - 4, version)
        async with backend.recorder.writing() as writes:
            await writes.release_lease(backend.user_id, "other")
            assert await writes.take_lease(backend.user_id, "projector", 60)
            assert not await writes.take_lease(backend.user_id, "rebuild", 60, request=True)
        assert await commit(backend, "projector", Checkpoint(head, version), previous) == "busy"
        assert await backend.stored() == (Checkpoint(head, version), backend.expected())
        assert await holder_of(backend, "rebuild"), "handed over to the rebuild that asked"

    run(scenario)

"""The tracking recorder on PostgreSQL, on plain ``asyncpg``: the event log's own pooled connections
(``PostgresRecorder.borrow``), a few round trips per batch.

Through SQLAlchemy's engine every transaction began with the pool's pre-ping (three round trips), and
every statement was compiled (or found in its cache) and its rows processed: under ``push_small``'s load
the projector spent more CPU in that machinery than in folding, and its poll for work (``behind_users``,
every 50 ms in a process of its own) cost milliseconds each. Here a read transaction is
``BEGIN ISOLATION LEVEL REPEATABLE READ`` on a borrowed connection (one snapshot: the checkpoint and the
rows agree), a write transaction a plain ``BEGIN`` (READ COMMITTED, as the engine's) under the store's
turn to write (``EventStore.write_turn``). Lists travel as arrays (``= ANY($n)``, ``unnest``), never as
chunks of ``IN``; a lookup by event id probes the unique index once per value (``LATERAL ... LIMIT 1``),
as the event log's does, because ``= ANY`` there let the planner scan a user's whole log. The pool's
connections plan every statement for its values (``plan_cache_mode=force_custom_plan``, set where the
pool is opened; docs/performance.md says why).

The invariants are those of server/projections/tracking.py: the only statement that writes rows also
moves the checkpoint (``record``: the rows replaced and the checkpoint's compare-and-set, one statement),
or runs in the transaction that sets it (``swap``). tests/server/test_tracking.py runs the same contract
against every backend.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from schema.projections import ProjectModel
from server.eventlog.postgres import Connection, PostgresRecorder
from server.projections import leases
from server.projections.bodies import RETRACTED, TARGETING
from server.projections.rows import NO_PROJECT_KEY, Encoded, EncodedRow, decode_model, encoded_rows, key_of
from server.projections.tracking import (
    Checkpoint,
    CheckpointMoved,
    LogReads,
    LogRow,
    TrackingWrites,
)
from server.projections.tracking_sqlalchemy import DriverTrackingRecorder

_TARGETING = list(TARGETING)


def _checkpoint(seq: Any, version: Any) -> Checkpoint | None:
    return None if seq is None else Checkpoint(int(seq), int(version))


_STANDING = (
    "SELECT u.last_seq, c.seq, c.version FROM users AS u "
    "LEFT JOIN projection_checkpoints AS c ON c.user_id = u.id WHERE u.id = $1"
)
_BEHIND = (
    "SELECT u.id, u.last_seq, c.seq, c.version FROM users AS u "
    "LEFT JOIN projection_checkpoints AS c ON c.user_id = u.id "
    "WHERE ((c.user_id IS NULL AND u.last_seq > 0) OR u.last_seq > c.seq OR c.version != $1)"
)
# One probe of the unique (user_id, event_id) index per id.
_KEYS_OF_TARGETS = (
    "SELECT e.type, e.project_id FROM unnest($2::varchar[]) AS w(id) CROSS JOIN LATERAL ("
    "SELECT type, project_id FROM events WHERE user_id = $1 AND event_id = w.id AND seq <= $3 LIMIT 1"
    ") AS e"
)
# The project-less bucket as a branch of its own, so that each branch keeps the (user_id, project_id)
# index; with ``$5`` false (planned for its value) that branch is never run.
_PROJECT_BODIES = (
    "SELECT project_id, body FROM events WHERE user_id = $1 AND project_id = ANY($2::varchar[]) "
    "AND seq <= $3 AND type <> ALL($4::varchar[]) "
    "UNION ALL SELECT project_id, body FROM events WHERE $5 AND user_id = $1 AND project_id IS NULL "
    "AND seq <= $3 AND type <> ALL($4::varchar[])"
)
_INSERT_ROWS = (
    "INSERT INTO project_models (user_id, project_key, model, summary) "
    "SELECT $1, * FROM unnest($2::varchar[], $3::bytea[], $4::bytea[])"
)


class PostgresReads(LogReads):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    async def standing(self, user_id: int) -> tuple[int, Checkpoint | None]:
        row = await self.connection.fetchrow(_STANDING, user_id)
        return (0, None) if row is None else (int(row[0]), _checkpoint(row[1], row[2]))

    async def log_head(self, user_id: int) -> int:
        last_seq = await self.connection.fetchval("SELECT last_seq FROM users WHERE id = $1", user_id)
        return int(last_seq or 0)

    async def read_checkpoint(self, user_id: int) -> Checkpoint | None:
        row = await self.connection.fetchrow(
            "SELECT seq, version FROM projection_checkpoints WHERE user_id = $1", user_id
        )
        return None if row is None else _checkpoint(row[0], row[1])

    async def behind_users(
        self, version: int, only: Iterable[int] | None = None
    ) -> list[tuple[int, int, Checkpoint | None]]:
        if only is None:
            rows = await self.connection.fetch(f"{_BEHIND} ORDER BY u.id", version)
        else:
            only = sorted(set(only))
            rows = await self.connection.fetch(
                f"{_BEHIND} AND u.id = ANY($2::int[]) ORDER BY u.id", version, only
            )
        return [(int(user_id), int(last), _checkpoint(seq, ver)) for user_id, last, seq, ver in rows]

    async def events_after(
        self, user_id: int, after: int, upto: int | None = None, limit: int | None = None
    ) -> list[LogRow]:
        query = "SELECT seq, type, project_id, body FROM events WHERE user_id = $1 AND seq > $2"
        args: list[Any] = [user_id, after]
        if upto is not None:
            args.append(upto)
            query += f" AND seq <= ${len(args)}"
        query += " ORDER BY seq"
        if limit is not None:
            args.append(limit)
            query += f" LIMIT ${len(args)}"
        rows = await self.connection.fetch(query, *args)
        return [(int(seq), kind, project_id, bytes(body)) for seq, kind, project_id, body in rows]

    async def keys_of_targets(self, user_id: int, targets: Iterable[str], upto: int) -> set[str]:
        wanted = sorted(set(targets))
        if not wanted:
            return set()
        rows = await self.connection.fetch(_KEYS_OF_TARGETS, user_id, wanted, upto)
        return {key_of(project_id) for kind, project_id in rows if kind not in TARGETING}

    async def retraction_bodies(self, user_id: int, upto: int) -> list[bytes]:
        rows = await self.connection.fetch(
            "SELECT body FROM events WHERE user_id = $1 AND type = $2 AND seq <= $3", user_id, RETRACTED, upto
        )
        return [bytes(body) for (body,) in rows]

    async def project_bodies(self, user_id: int, keys: Iterable[str], upto: int) -> list[tuple[str, bytes]]:
        wanted = set(keys)
        ids = sorted(key for key in wanted if key != NO_PROJECT_KEY)
        if not wanted:
            return []
        rows = await self.connection.fetch(
            _PROJECT_BODIES, user_id, ids, upto, _TARGETING, NO_PROJECT_KEY in wanted
        )
        return [(key_of(project_id), bytes(body)) for project_id, body in rows]

    async def project_sizes(self, user_id: int) -> list[tuple[str, int]]:
        # Counted from the (user_id, project_id) index alone.
        rows = await self.connection.fetch(
            "SELECT project_id, count(*) FROM events WHERE user_id = $1 GROUP BY project_id", user_id
        )
        return sorted((key_of(project_id), int(count)) for project_id, count in rows)

    async def model_keys(self, user_id: int) -> list[str]:
        rows = await self.connection.fetch(
            "SELECT project_key FROM project_models WHERE user_id = $1", user_id
        )
        return [str(key) for (key,) in rows]

    async def load_models_of(self, user_id: int, keys: Iterable[str]) -> dict[str, ProjectModel]:
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        rows = await self.connection.fetch(
            "SELECT project_key, model FROM project_models "
            "WHERE user_id = $1 AND project_key = ANY($2::varchar[])",
            user_id,
            wanted,
        )
        return {str(key): decode_model(bytes(raw)) for key, raw in rows}


# The rows of ``record``: a project whose rows go is deleted, one that stays upserted. The statement's
# parts share one snapshot, so no key may be both deleted and inserted by it; an upsert leaves the same
# rows as deleting every key and inserting the new ones. The checkpoint moves in the same statement.
_REPLACE = (
    "WITH gone AS (DELETE FROM project_models WHERE user_id = $1 AND project_key = ANY($2::varchar[])), "
    "kept AS (INSERT INTO project_models (user_id, project_key, model, summary) "
    "SELECT $1, * FROM unnest($3::varchar[], $4::bytea[], $5::bytea[]) "
    "ON CONFLICT (user_id, project_key) DO UPDATE SET model = excluded.model, summary = excluded.summary) "
)
_RECORD_ROWS = _REPLACE + "SELECT 1"
_RECORD_FIRST = (
    _REPLACE + "INSERT INTO projection_checkpoints (user_id, seq, version) VALUES ($1, $6, $7) "
    "ON CONFLICT (user_id) DO NOTHING RETURNING 1"
)
_RECORD_MOVE = (
    _REPLACE + "UPDATE projection_checkpoints SET seq = $6, version = $7 "
    "WHERE user_id = $1 AND seq = $8 AND version = $9 RETURNING 1"
)


class PostgresWrites(PostgresReads, TrackingWrites):
    async def take_lease(self, user_id: int, holder: str, ttl_s: float, *, request: bool = False) -> bool:
        # Several processes may race for a lease: the row is read FOR UPDATE, so that the rest of this
        # transaction decides alone (leases.lease_decision, as on every backend). A lease's row, once made,
        # stays (server/projections/leases.py), so the insert of an expired one is needed only when the
        # read finds none; the read after it sees a racer's row once the racer commits (READ COMMITTED).
        now = leases.now_ms()
        select = (
            "SELECT holder, expires_at_ms, requested_by FROM projection_leases WHERE user_id = $1 FOR UPDATE"
        )
        row = await self.connection.fetchrow(select, user_id)
        if row is None:
            await self.connection.execute(
                "INSERT INTO projection_leases (user_id, holder, expires_at_ms) VALUES ($1, $2, 0) "
                "ON CONFLICT (user_id) DO NOTHING",
                user_id,
                holder,
            )
            row = await self.connection.fetchrow(select, user_id)
        taken, requested_by = leases.lease_decision(tuple(row), holder, now, request=request)
        if not taken:
            if requested_by != row[2]:
                await self.connection.execute(
                    "UPDATE projection_leases SET requested_by = $2 WHERE user_id = $1", user_id, requested_by
                )
            return False
        await self.connection.execute(
            "UPDATE projection_leases SET holder = $2, expires_at_ms = $3, requested_by = $4 "
            "WHERE user_id = $1",
            user_id,
            holder,
            now + int(ttl_s * 1000),
            requested_by,
        )
        return True

    async def hand_over(self, user_id: int, holder: str, ttl_s: float) -> bool:
        # leases.hand_over's read and write as one statement.
        handed = await self.connection.fetchval(
            "UPDATE projection_leases SET holder = requested_by, expires_at_ms = $3, requested_by = NULL "
            "WHERE user_id = $1 AND holder = $2 AND requested_by IS NOT NULL AND requested_by <> $2 "
            "RETURNING 1",
            user_id,
            holder,
            leases.now_ms() + int(ttl_s * 1000),
        )
        return handed is not None

    async def release_lease(self, user_id: int, holder: str) -> None:
        await self.connection.execute(
            "UPDATE projection_leases SET expires_at_ms = 0 WHERE user_id = $1 AND holder = $2",
            user_id,
            holder,
        )

    async def release_all(self, holder: str, user_ids: Sequence[int] | None = None) -> None:
        query = "UPDATE projection_leases SET expires_at_ms = 0 WHERE holder = $1"
        if user_ids is None:
            await self.connection.execute(query, holder)
        else:
            await self.connection.execute(f"{query} AND user_id = ANY($2::int[])", holder, list(user_ids))

    async def record(
        self,
        user_id: int,
        models: Mapping[str, ProjectModel | Encoded | None],
        new: Checkpoint,
        expected: Checkpoint | None,
    ) -> None:
        gone = sorted(key for key, model in models.items() if model is None)
        kept = encoded_rows(dict(sorted(models.items())))
        if not models and new == expected:
            return
        keys, bodies, summaries = (
            (list(column) for column in zip(*kept, strict=True)) if kept else ([], [], [])
        )
        args = (user_id, gone, keys, bodies, summaries)
        if new == expected:
            await self.connection.execute(_RECORD_ROWS, *args)
        elif expected is None:
            if await self.connection.fetchval(_RECORD_FIRST, *args, new.seq, new.version) is None:
                raise CheckpointMoved(f"user {user_id} has a checkpoint already")
        else:
            moved = await self.connection.fetchval(
                _RECORD_MOVE, *args, new.seq, new.version, expected.seq, expected.version
            )
            if moved is None:
                raise CheckpointMoved(f"the checkpoint of user {user_id} is no longer at seq {expected.seq}")

    async def swap(self, user_id: int, rows: Iterable[Sequence[EncodedRow]], checkpoint: Checkpoint) -> None:
        await self.connection.execute("DELETE FROM project_models WHERE user_id = $1", user_id)
        for batch in rows:
            if batch:
                await self.connection.execute(
                    _INSERT_ROWS, user_id, *(list(column) for column in zip(*batch, strict=True))
                )
        await self.connection.execute(
            "INSERT INTO projection_checkpoints (user_id, seq, version) VALUES ($1, $2, $3) "
            "ON CONFLICT (user_id) DO UPDATE SET seq = excluded.seq, version = excluded.version",
            user_id,
            checkpoint.seq,
            checkpoint.version,
        )


class PostgresTrackingRecorder(DriverTrackingRecorder):
    """On the pooled connections of the store's PostgreSQL event log (the SQLAlchemy recorder when the
    store's log is no longer a ``PostgresRecorder``: ``DriverTrackingRecorder``)."""

    log_type = PostgresRecorder

    @asynccontextmanager
    async def _reading(self, log: PostgresRecorder) -> AsyncIterator[LogReads]:
        async with (
            log.borrow() as connection,
            connection.transaction(isolation="repeatable_read", readonly=True),
        ):
            yield PostgresReads(connection)

    @asynccontextmanager
    async def _writing(self, log: PostgresRecorder) -> AsyncIterator[TrackingWrites]:
        async with self.store.write_turn(), log.borrow() as connection, connection.transaction():
            yield PostgresWrites(connection)

    async def _project_bodies(
        self, log: PostgresRecorder, user_id: int, keys: list[str], upto: int
    ) -> list[tuple[str, bytes]]:
        # One statement is one snapshot: no transaction needed around it.
        async with log.borrow() as connection:
            return await PostgresReads(connection).project_bodies(user_id, keys, upto)

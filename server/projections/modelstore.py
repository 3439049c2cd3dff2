"""The stored read models: per-user checkpoints, per-project model rows and projection leases.

Invariant: a user's ``project_models`` rows are exactly what the projections
fold from that user's events with ``seq <= checkpoint.seq`` (nothing more,
nothing less), because rows and checkpoint only ever change together in one
write transaction. A reader that reads both in one snapshot gets models that
reflect exactly ``as_of_seq``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any, NamedTuple, Union

import msgspec
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from schema.events import EVENT_TYPES, Envelope
from schema.events import TARGETING as TARGETING  # the projector and the rebuild read it here
from schema.projections import ProjectModel, ProjectSummary, summary_of
from schema.upcast import read_event
from server.database import tables as db

RETRACTED, REDACTED = TARGETING
"""The types that name another event (``data.target``) re-fold its project and are folded into none."""
NO_PROJECT_KEY = ""
"""The row key of the bucket of wins and learnings captured without a project."""
_IN_CHUNK = 500

_encoder = msgspec.json.Encoder()
_model_decoder = msgspec.json.Decoder(ProjectModel)
_summary_decoder = msgspec.json.Decoder(ProjectSummary)
_event_decoder = msgspec.json.Decoder(dict[str, Any])
_CURRENT = {name: max(versions) for name, versions in EVENT_TYPES.items()}
_typed_decoder = msgspec.json.Decoder(
    Union[tuple(versions[max(versions)] for versions in EVENT_TYPES.values())]  # noqa: UP007
)


class Checkpoint(NamedTuple):
    seq: int
    version: int


class CheckpointMoved(Exception):
    """The checkpoint changed under a projector: someone else projected this user (lost lease)."""


def key_of(project_id: str | None) -> str:
    return NO_PROJECT_KEY if project_id is None else project_id


def project_of(key: str) -> str | None:
    return None if key == NO_PROJECT_KEY else key


def decode_event(body: bytes) -> dict[str, Any]:
    return _event_decoder.decode(body)


def read_body(body: bytes) -> Envelope | None:
    """A stored event as the projections read it (``schema.upcast.read_event`` of its fields), or ``None``.

    Decoded straight into the current Struct of its type when it is at the current version (several
    times faster than a dict and then ``msgspec.convert``); anything else takes the upcasting path.
    """
    try:
        event: Envelope = _typed_decoder.decode(body)
    except msgspec.MsgspecError:
        pass
    else:
        if event.v == _CURRENT[event_type_of(event)]:
            return event
    try:
        return read_event(decode_event(body))
    except Exception:  # as the projections do: an event this code cannot read is skipped
        return None


def event_type_of(event: Envelope) -> str:
    return str(type(event).__struct_config__.tag)


def encode_model(model: ProjectModel) -> bytes:
    return _encoder.encode(model)


def decode_model(raw: bytes) -> ProjectModel:
    return _model_decoder.decode(raw)


@asynccontextmanager
async def snapshot(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A read transaction in which every statement sees the same committed state.

    SQLite's read transactions are snapshots already (WAL); PostgreSQL needs
    REPEATABLE READ, or a checkpoint and the model rows could come from two commits.
    """
    async with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection = await connection.execution_options(isolation_level="REPEATABLE READ")
        async with connection.begin():
            yield connection


# Checkpoints -----------------------------------------------------------------------------------


async def read_checkpoint(connection: AsyncConnection, user_id: int) -> Checkpoint | None:
    c = db.projection_checkpoints.c
    row = (await connection.execute(select(c.seq, c.version).where(c.user_id == user_id))).one_or_none()
    return None if row is None else Checkpoint(int(row[0]), int(row[1]))


async def write_checkpoint(
    connection: AsyncConnection, user_id: int, new: Checkpoint, expected: Checkpoint | None
) -> None:
    """Move the checkpoint from ``expected`` to ``new``; ``CheckpointMoved`` if it is not at ``expected``."""
    table = db.projection_checkpoints
    if expected is None:
        if await read_checkpoint(connection, user_id) is not None:
            raise CheckpointMoved(f"user {user_id} has a checkpoint already")
        await connection.execute(insert(table).values(user_id=user_id, seq=new.seq, version=new.version))
        return
    result = await connection.execute(
        update(table)
        .where(table.c.user_id == user_id, table.c.seq == expected.seq, table.c.version == expected.version)
        .values(seq=new.seq, version=new.version)
    )
    if result.rowcount != 1:
        raise CheckpointMoved(f"the checkpoint of user {user_id} is no longer at seq {expected.seq}")


async def force_checkpoint(connection: AsyncConnection, user_id: int, new: Checkpoint) -> None:
    """Set the checkpoint whatever it was (a rebuild's swap, under the user's lease)."""
    table = db.projection_checkpoints
    result = await connection.execute(
        update(table).where(table.c.user_id == user_id).values(seq=new.seq, version=new.version)
    )
    if result.rowcount == 0:
        await connection.execute(insert(table).values(user_id=user_id, seq=new.seq, version=new.version))


async def standing(connection: AsyncConnection, user_id: int) -> tuple[int, Checkpoint | None]:
    """The user's newest seq and checkpoint, in one statement."""
    u, c = db.users.c, db.projection_checkpoints.c
    row = (
        await connection.execute(
            select(u.last_seq, c.seq, c.version)
            .select_from(db.users.outerjoin(db.projection_checkpoints, c.user_id == u.id))
            .where(u.id == user_id)
        )
    ).one_or_none()
    if row is None:
        return 0, None
    last_seq, seq, version = row
    return int(last_seq), None if seq is None else Checkpoint(int(seq), int(version))


async def log_head(connection: AsyncConnection, user_id: int) -> int:
    last_seq = await connection.scalar(select(db.users.c.last_seq).where(db.users.c.id == user_id))
    return int(last_seq or 0)


async def list_users(connection: AsyncConnection, name: str | None = None) -> list[tuple[int, str, int]]:
    """``(id, name, newest seq)`` of every user, or of the one named."""
    u = db.users.c
    query = select(u.id, u.name, u.last_seq).order_by(u.id)
    if name is not None:
        query = query.where(u.name == name)
    return [(int(i), str(n), int(last)) for i, n, last in (await connection.execute(query)).all()]


async def behind_users(
    connection: AsyncConnection, version: int, only: Iterable[int] | None = None
) -> list[tuple[int, int, Checkpoint | None]]:
    """``(user id, newest seq, checkpoint)`` of the users (of ``only``) whose models are behind or stale."""
    u, c = db.users.c, db.projection_checkpoints.c
    query = (
        select(u.id, u.last_seq, c.seq, c.version)
        .select_from(db.users.outerjoin(db.projection_checkpoints, c.user_id == u.id))
        .where(((c.user_id.is_(None)) & (u.last_seq > 0)) | (u.last_seq > c.seq) | (c.version != version))
        .order_by(u.id)
    )
    if only is not None:
        query = query.where(u.id.in_(sorted(only)))
    rows = (await connection.execute(query)).all()
    return [
        (int(user_id), int(last), None if seq is None else Checkpoint(int(seq), int(ver)))
        for user_id, last, seq, ver in rows
    ]


# Model rows ------------------------------------------------------------------------------------


def encode_row(key: str, model: ProjectModel) -> tuple[bytes, bytes | None]:
    """A model row's ``model`` and ``summary`` columns."""
    summary = None if key == NO_PROJECT_KEY else _encoder.encode(summary_of(model))
    return encode_model(model), summary


def _row_values(key: str, model: ProjectModel) -> dict[str, Any]:
    model_bytes, summary = encode_row(key, model)
    return {"model": model_bytes, "summary": summary}


async def put_models(
    connection: AsyncConnection, user_id: int, models: dict[str, ProjectModel | None]
) -> None:
    """Replace the rows of these projects; ``None`` deletes one (nothing of the project remains)."""
    table = db.project_models
    keys = sorted(models)
    for start in range(0, len(keys), _IN_CHUNK):
        chunk = keys[start : start + _IN_CHUNK]
        await connection.execute(
            delete(table).where(table.c.user_id == user_id, table.c.project_key.in_(chunk))
        )
    rows = [
        {"user_id": user_id, "project_key": key, **_row_values(key, model)}
        for key, model in models.items()
        if model is not None
    ]
    if rows:
        await connection.execute(insert(table), rows)


async def replace_models(
    connection: AsyncConnection, user_id: int, models: dict[str | None, ProjectModel]
) -> None:
    table = db.project_models
    await connection.execute(delete(table).where(table.c.user_id == user_id))
    rows = [
        {"user_id": user_id, "project_key": key_of(project_id), **_row_values(key_of(project_id), model)}
        for project_id, model in models.items()
    ]
    if rows:
        await connection.execute(insert(table), rows)


async def delete_models(connection: AsyncConnection, user_id: int) -> None:
    await connection.execute(delete(db.project_models).where(db.project_models.c.user_id == user_id))


async def insert_rows(
    connection: AsyncConnection, user_id: int, rows: Iterable[tuple[str, bytes, bytes | None]]
) -> None:
    """Insert encoded model rows ``(project key, model, summary)`` (see ``encode_row``)."""
    values = [
        {"user_id": user_id, "project_key": key, "model": model, "summary": summary}
        for key, model, summary in rows
    ]
    if values:
        await connection.execute(insert(db.project_models), values)


async def model_keys(connection: AsyncConnection, user_id: int) -> list[str]:
    t = db.project_models.c
    result = await connection.execute(select(t.project_key).where(t.user_id == user_id))
    return [str(key) for (key,) in result.all()]


async def load_models_of(
    connection: AsyncConnection, user_id: int, keys: Iterable[str]
) -> dict[str, ProjectModel]:
    """The stored models of these project keys (those that exist)."""
    t = db.project_models.c
    wanted = sorted(set(keys))
    found: dict[str, ProjectModel] = {}
    for start in range(0, len(wanted), _IN_CHUNK):
        result = await connection.execute(
            select(t.project_key, t.model).where(
                t.user_id == user_id, t.project_key.in_(wanted[start : start + _IN_CHUNK])
            )
        )
        found.update((str(key), decode_model(bytes(raw))) for key, raw in result.all())
    return found


async def load_models(connection: AsyncConnection, user_id: int) -> dict[str | None, ProjectModel]:
    t = db.project_models.c
    result = await connection.execute(select(t.project_key, t.model).where(t.user_id == user_id))
    return {project_of(key): decode_model(bytes(raw)) for key, raw in result.all()}


async def load_model(connection: AsyncConnection, user_id: int, project_id: str) -> ProjectModel | None:
    t = db.project_models.c
    raw = await connection.scalar(select(t.model).where(t.user_id == user_id, t.project_key == project_id))
    return None if raw is None else decode_model(bytes(raw))


async def load_summaries(connection: AsyncConnection, user_id: int) -> list[ProjectSummary]:
    t = db.project_models.c
    result = await connection.execute(
        select(t.summary).where(t.user_id == user_id, t.project_key != NO_PROJECT_KEY)
    )
    return [_summary_decoder.decode(bytes(raw)) for (raw,) in result.all() if raw is not None]


# Reading the log -------------------------------------------------------------------------------


async def events_after(
    connection: AsyncConnection, user_id: int, after: int, upto: int | None = None, limit: int | None = None
) -> list[tuple[int, str, str | None, bytes]]:
    """``(seq, type, project_id, body)`` of events with ``after < seq <= upto``, in seq order."""
    e = db.events.c
    query = select(e.seq, e.type, e.project_id, e.body).where(e.user_id == user_id, e.seq > after)
    if upto is not None:
        query = query.where(e.seq <= upto)
    query = query.order_by(e.seq)
    if limit is not None:
        query = query.limit(limit)
    rows = (await connection.execute(query)).all()
    return [(int(seq), kind, project_id, bytes(body)) for seq, kind, project_id, body in rows]


async def project_events(
    connection: AsyncConnection, user_id: int, keys: Iterable[str], upto: int
) -> dict[str, list[dict[str, Any]]]:
    """The events (not retractions) of these projects up to ``upto``; ``''`` is the project-less bucket."""
    e = db.events.c
    wanted = sorted(set(keys))
    found: dict[str, list[dict[str, Any]]] = {key: [] for key in wanted}
    ids = [key for key in wanted if key != NO_PROJECT_KEY]
    conditions = [e.project_id.in_(ids[start : start + _IN_CHUNK]) for start in range(0, len(ids), _IN_CHUNK)]
    if NO_PROJECT_KEY in found:
        conditions.append(e.project_id.is_(None))
    for condition in conditions:
        result = await connection.execute(
            select(e.project_id, e.body).where(
                e.user_id == user_id, condition, e.type.notin_(TARGETING), e.seq <= upto
            )
        )
        for project_id, body in result.all():
            found[key_of(project_id)].append(decode_event(bytes(body)))
    return found


async def project_sizes(connection: AsyncConnection, user_id: int) -> list[tuple[str, int]]:
    """``(project key, number of events)`` of every project in the user's log, by key.

    Counted from the ``(user_id, project_id)`` index alone, so retractions that carry a project id
    are counted too, and events newer than any checkpoint: a size to plan reads by, not a count.
    """
    e = db.events.c
    result = await connection.execute(
        select(e.project_id, func.count()).where(e.user_id == user_id).group_by(e.project_id)
    )
    return sorted((key_of(project_id), int(count)) for project_id, count in result.all())


def _project_conditions(keys: Iterable[str]) -> tuple[list[str], bool]:
    wanted = sorted(set(keys))
    return [key for key in wanted if key != NO_PROJECT_KEY], NO_PROJECT_KEY in wanted


async def project_bodies(
    connection: AsyncConnection, user_id: int, keys: Iterable[str], upto: int
) -> list[tuple[str, bytes]]:
    """``(project key, body)`` of the events (not retractions) of these projects up to ``upto``, in no
    particular order (a fold orders them canonically)."""
    e = db.events.c
    ids, without = _project_conditions(keys)
    conditions = [e.project_id.in_(ids[start : start + _IN_CHUNK]) for start in range(0, len(ids), _IN_CHUNK)]
    if without:
        conditions.append(e.project_id.is_(None))
    found: list[tuple[str, bytes]] = []
    for condition in conditions:
        result = await connection.execute(
            select(e.project_id, e.body).where(
                e.user_id == user_id, condition, e.type.notin_(TARGETING), e.seq <= upto
            )
        )
        found += [(key_of(project_id), bytes(body)) for project_id, body in result.all()]
    return found


def project_bodies_direct(
    connection: sqlite3.Connection, user_id: int, keys: Iterable[str], upto: int
) -> list[tuple[str, bytes]]:
    """``project_bodies`` on a plain ``sqlite3`` connection (a reader thread of ``server.eventlog.direct``):
    one hop for the whole read instead of SQLAlchemy's per-row processing."""
    ids, without = _project_conditions(keys)
    found: list[tuple[str, bytes]] = []
    base = "SELECT project_id, body FROM events WHERE user_id = ? AND type NOT IN (?, ?) AND seq <= ? AND "
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        rows = connection.execute(
            base + f"project_id IN ({', '.join('?' * len(chunk))})", (user_id, *TARGETING, upto, *chunk)
        )
        found += rows.fetchall()
    if without:
        rows = connection.execute(base + "project_id IS NULL", (user_id, *TARGETING, upto))
        found += [(NO_PROJECT_KEY, body) for _, body in rows.fetchall()]
    return found


async def retractions(connection: AsyncConnection, user_id: int, upto: int) -> list[dict[str, Any]]:
    e = db.events.c
    result = await connection.execute(
        select(e.body).where(e.user_id == user_id, e.type == RETRACTED, e.seq <= upto)
    )
    return [decode_event(bytes(body)) for (body,) in result.all()]


async def retraction_bodies(connection: AsyncConnection, user_id: int, upto: int) -> list[bytes]:
    e = db.events.c
    result = await connection.execute(
        select(e.body).where(e.user_id == user_id, e.type == RETRACTED, e.seq <= upto)
    )
    return [bytes(body) for (body,) in result.all()]


async def keys_of_targets(
    connection: AsyncConnection, user_id: int, targets: Iterable[str], upto: int
) -> set[str]:
    """Project keys of the retracted or redacted events that have arrived.

    A retraction or redaction of a retraction or redaction is folded into no project, so it touches none.
    """
    e = db.events.c
    wanted = sorted(set(targets))
    keys: set[str] = set()
    for start in range(0, len(wanted), _IN_CHUNK):
        result = await connection.execute(
            select(e.type, e.project_id).where(
                e.user_id == user_id, e.event_id.in_(wanted[start : start + _IN_CHUNK]), e.seq <= upto
            )
        )
        keys |= {key_of(project_id) for kind, project_id in result.all() if kind not in TARGETING}
    return keys


def retraction_target(event: dict[str, Any]) -> str | None:
    data = event.get("data")
    target = data.get("target") if isinstance(data, dict) else None
    return target if isinstance(target, str) else None


# Leases ----------------------------------------------------------------------------------------


def now_ms() -> int:
    return time.time_ns() // 1_000_000


async def take_lease(
    connection: AsyncConnection, user_id: int, holder: str, ttl_s: float, *, request: bool = False
) -> bool:
    """Take or renew the user's lease inside a write transaction; False while someone else holds it.

    With ``request``, a refusal also asks the holder to hand the lease over when it can
    (``hand_over``): a rebuild would otherwise wait forever on a projector kept busy by pushes.
    """
    table = db.projection_leases
    now = now_ms()
    expires = now + int(ttl_s * 1000)
    # Several processes may race for a lease: the row is created if missing (an expired one at
    # first), then read FOR UPDATE, so that the rest of this transaction decides alone (on
    # PostgreSQL; SQLite's BEGIN IMMEDIATE already makes every writer decide alone).
    await db.insert_ignore(connection, table, {"user_id": user_id, "holder": holder, "expires_at_ms": 0})
    row = (
        await connection.execute(
            select(table.c.holder, table.c.expires_at_ms, table.c.requested_by)
            .where(table.c.user_id == user_id)
            .with_for_update()
        )
    ).one()
    current, expires_at, requested_by = row
    if current != holder and int(expires_at) > now:
        if request and requested_by != holder:
            await connection.execute(
                update(table).where(table.c.user_id == user_id).values(requested_by=holder)
            )
        return False
    await connection.execute(
        update(table)
        .where(table.c.user_id == user_id)
        .values(
            holder=holder,
            expires_at_ms=expires,
            requested_by=None if requested_by == holder else requested_by,
        )
    )
    return True


async def hand_over(connection: AsyncConnection, user_id: int, holder: str, ttl_s: float) -> bool:
    """Give the lease to whoever requested it, if anyone did; True when it was handed over."""
    table = db.projection_leases
    row = (
        await connection.execute(
            select(table.c.requested_by).where(table.c.user_id == user_id, table.c.holder == holder)
        )
    ).one_or_none()
    if row is None or row[0] is None or row[0] == holder:
        return False
    await connection.execute(
        update(table)
        .where(table.c.user_id == user_id)
        .values(holder=row[0], expires_at_ms=now_ms() + int(ttl_s * 1000), requested_by=None)
    )
    return True


# A released lease is expired, not deleted: ``take_lease`` relies on the row, once made, staying.


async def release_lease(connection: AsyncConnection, user_id: int, holder: str) -> None:
    table = db.projection_leases
    await connection.execute(
        update(table).where(table.c.user_id == user_id, table.c.holder == holder).values(expires_at_ms=0)
    )


async def release_all(
    connection: AsyncConnection, holder: str, user_ids: Sequence[int] | None = None
) -> None:
    table = db.projection_leases
    query = update(table).where(table.c.holder == holder).values(expires_at_ms=0)
    if user_ids is not None:
        query = query.where(table.c.user_id.in_(list(user_ids)))
    await connection.execute(query)

"""``GET /v1/export``: all of the user's events, then their read models, as NDJSON (``schema.protocol``).

Memory stays constant in the size of the log: events are read a page at a
time, each page in its own short read transaction, and written out before the
next is read. The export covers the log up to the newest seq when it starts
(``seq <= head``), so events pushed while it runs are left for the next one. The
read models come after the events, from one snapshot, once the projector has
caught up with that head (at most ``MAX_WAIT_S``; their ``as_of_seq`` says which
checkpoint they reflect). A failure after the first byte cannot change the
status any more: the stream then stops without its ``end`` line.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from schema import add_hash
from schema.canonical import EMPTY_DIGEST
from schema.protocol import (
    EPOCH_HEADER,
    EXPORT_FORMAT,
    JSON,
    NDJSON,
    ExportedEvent,
    ExportedModel,
    ExportEnd,
    ExportHeader,
    export_line,
)
from server.database import tables as db
from server.eventlog.store import utc_now
from server.http.auth import authenticate
from server.http.problems import negotiate
from server.http.state import state_of
from server.projections import reads
from server.projections.projector import MAX_WAIT_S
from server.projections.rows import project_of
from server.projections.tracking import code_version

if TYPE_CHECKING:
    from server.http.state import State

PAGE = 500
_OFFERS = {NDJSON: "ndjson", JSON: "ndjson"}


async def export(request: Request) -> Response:
    user_id = await authenticate(request)
    state = state_of(request)
    negotiate(request, _OFFERS, "ndjson")  # 406 when Accept names neither NDJSON nor JSON
    head, _ = await state.store.head(user_id)
    return StreamingResponse(
        _lines(state, user_id, head),
        media_type=NDJSON,
        headers={
            EPOCH_HEADER: state.epoch,
            "Content-Disposition": 'attachment; filename="winledger-export.ndjson"',
        },
    )


async def _lines(state: State, user_id: int, head: int) -> AsyncIterator[bytes]:
    yield export_line(
        ExportHeader(format=EXPORT_FORMAT, source="server", exported_at=utc_now(), epoch=state.epoch)
    )
    count, digest, after = 0, EMPTY_DIGEST, 0
    while after < head:
        async with state.engine.connect() as connection, connection.begin():
            rows = await _event_rows(connection, user_id, after, head, PAGE)
        if not rows:
            break
        chunk = []
        for seq, body, received_at, hash_hex in rows:
            chunk.append(
                export_line(ExportedEvent(seq=seq, received_at=received_at, event=msgspec.Raw(body)))
            )
            digest = add_hash(digest, int(hash_hex, 16))
        count += len(rows)
        after = rows[-1][0]
        yield b"".join(chunk)
    await state.projector.wait_for(user_id, head, MAX_WAIT_S)
    async with reads.snapshot(state.engine) as connection:
        checkpoint = await reads.read_checkpoint(connection, user_id)
        models = await _model_rows(connection, user_id)
    seq, version = checkpoint if checkpoint else (0, code_version())
    for key, raw in models:
        yield export_line(
            ExportedModel(
                project_id=project_of(key),
                as_of_seq=seq,
                projection_version=version,
                model=msgspec.Raw(raw),
            )
        )
    yield export_line(ExportEnd(count=count, digest=digest, read_models=len(models)))


async def _event_rows(
    connection: AsyncConnection, user_id: int, after: int, upto: int, limit: int
) -> list[tuple[int, bytes, str, str]]:
    """``(seq, body, received_at, hash)`` of the events with ``after < seq <= upto``, in seq order."""
    e = db.events.c
    result = await connection.execute(
        select(e.seq, e.body, e.received_at, e.hash)
        .where(e.user_id == user_id, e.seq > after, e.seq <= upto)
        .order_by(e.seq)
        .limit(limit)
    )
    return [
        (int(seq), bytes(body), received_at, hash_hex) for seq, body, received_at, hash_hex in result.all()
    ]


async def _model_rows(connection: AsyncConnection, user_id: int) -> list[tuple[str, bytes]]:
    """The user's stored project models, by project key ('' holds notes without a project)."""
    t = db.project_models.c
    result = await connection.execute(
        select(t.project_key, t.model).where(t.user_id == user_id).order_by(t.project_key)
    )
    return [(key, bytes(raw)) for key, raw in result.all()]


ROUTES = [Route("/v1/export", export, methods=["GET"])]

"""Reading a user's stored read models straight from the database of an in-process server."""

from __future__ import annotations

from typing import Any

import msgspec

from schema.projections import ProjectModel
from server.projections import reads
from server.projections.tracking import Checkpoint
from tests.support.inprocess import InProcessServer


def user_id_of(server: InProcessServer, token: str) -> int:
    user_id = server.portal.call(server.state.accounts.authenticate, token)
    assert user_id is not None
    return int(user_id)


def stored(server: InProcessServer, user_id: int) -> tuple[Checkpoint | None, dict[Any, bytes]]:
    """The user's checkpoint and model rows (as JSON bytes, by project id), read in one snapshot."""

    async def read() -> tuple[Checkpoint | None, dict[Any, ProjectModel]]:
        async with reads.snapshot(server.state.engine) as connection:
            checkpoint = await reads.read_checkpoint(connection, user_id)
            return checkpoint, await reads.load_models(connection, user_id)

    checkpoint, models = server.portal.call(read)
    return checkpoint, encoded(models)


def encoded(models: dict[Any, ProjectModel]) -> dict[Any, bytes]:
    return {key: msgspec.json.encode(model) for key, model in models.items()}

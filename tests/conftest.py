from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import start_blocking_portal
from hypothesis import settings

from tests.support.inprocess import InProcessServer

# ci: the same examples on every run, so that a red CI run is reproducible. deep: a long run before a
# release (HYPOTHESIS_PROFILE=deep python -m pytest); the convergence machine scales its steps with it.
settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("deep", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def portal() -> Iterator[Any]:
    with start_blocking_portal() as running:
        yield running


@pytest.fixture
def server_factory(tmp_path: Path, portal: Any) -> Iterator[Callable[..., InProcessServer]]:
    """Make in-process servers; each gets its own database file unless ``db_path`` is given."""
    made: list[InProcessServer] = []

    def make(db_path: Path | None = None, **settings: Any) -> InProcessServer:
        path = db_path or tmp_path / f"server-{len(made)}.db"
        server = InProcessServer(path, portal, **settings)
        made.append(server)
        return server

    yield make
    for server in made:
        server.close()


@pytest.fixture
def server(server_factory: Callable[..., InProcessServer]) -> InProcessServer:
    return server_factory()

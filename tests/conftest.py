from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import start_blocking_portal
from hypothesis import settings

from tests.support.databases import BACKENDS, SKIP_LOCATION, PostgresDatabases, postgres_url, skip_reason
from tests.support.inprocess import InProcessServer

# ci: the same examples on every run, so that a red CI run is reproducible. deep: a long run before a
# release (HYPOTHESIS_PROFILE=deep python -m pytest); the convergence machine scales its steps with it.
settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("deep", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Every test skipped for want of PostgreSQL reports one place, so that ``-ra`` folds them into one
    line ("SKIPPED [N] ...: the PostgreSQL half was not run: ..."); other skips keep their own lines."""
    report: pytest.TestReport = yield
    if report.skipped and isinstance(report.longrepr, tuple) and skip_reason() in report.longrepr[2]:
        report.longrepr = (*SKIP_LOCATION, report.longrepr[2])
    return report


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Modules marked `backends` (the store, protocol and projection contract tests) run on both.
    if "db_backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker("backends"):
        metafunc.parametrize("db_backend", BACKENDS, indirect=True, scope="module")


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    """Fresh databases on the PostgreSQL of ``WINLEDGER_TEST_POSTGRES_URL``; skipped when it is unset."""
    url = postgres_url()
    if url is None:
        pytest.skip(skip_reason())
    databases = PostgresDatabases(url)
    unreachable = databases.reachable()
    if unreachable is not None:
        pytest.fail(unreachable)  # asked for and not there: a failure, not a skip
    yield databases
    databases.close()


@pytest.fixture(scope="module")
def db_backend(request: pytest.FixtureRequest) -> str:
    """``sqlite`` unless the module is marked ``backends`` (then each test runs on both)."""
    return getattr(request, "param", "sqlite")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def new_database(
    db_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[], Path | str]:
    """Makes an empty database of the backend: a SQLite file's path or a PostgreSQL URL."""
    if db_backend == "postgresql":
        databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
        return databases.create
    folder = tmp_path_factory.mktemp("db")
    counter = iter(range(1, 1_000_000))
    return lambda: folder / f"server-{next(counter)}.db"


@pytest.fixture
def portal() -> Iterator[Any]:
    with start_blocking_portal() as running:
        yield running


@pytest.fixture
def server_factory(
    new_database: Callable[[], Path | str], portal: Any
) -> Iterator[Callable[..., InProcessServer]]:
    """Make in-process servers; each gets a new database unless ``db_path`` (another's) is given."""
    made: list[InProcessServer] = []

    def make(db_path: Path | str | None = None, **settings: Any) -> InProcessServer:
        server = InProcessServer(db_path or new_database(), portal, **settings)
        made.append(server)
        return server

    yield make
    for server in made:
        server.close()


@pytest.fixture
def server(server_factory: Callable[..., InProcessServer]) -> InProcessServer:
    return server_factory()

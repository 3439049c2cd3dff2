"""The benchmark suite still runs: ``python -m benchmarks --smoke`` end to end, once (no timing is checked;
the numbers of a smoke run mean nothing)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import pytest
from sqlalchemy.engine import make_url

from tests.support.databases import postgres_url, skip_reason

pytestmark = pytest.mark.e2e

FIELDS = {"name", "unit", "value", "baseline_name", "baseline_value", "ratio", "runs", "min", "max", "notes"}


def _smoke(tmp_path: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--json", str(out), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    document: dict[str, Any] = msgspec.json.decode(out.read_bytes())
    for result in document["benchmarks"]:
        assert set(result) == FIELDS
        assert result["value"] > 0 and result["baseline_value"] > 0, result
        assert result["min"] <= result["value"] <= result["max"]
    assert "| push_batch (v7)" in done.stdout  # the table
    return document


def _targets(document: dict[str, Any]) -> None:
    """The read models' rows are measured against their targets: the lag in ms, the recovery in s."""
    results = {result["name"]: result for result in document["benchmarks"]}
    lag, recovery = results["projector_lag"], results["projector_recovery"]
    assert (lag["unit"], lag["baseline_name"], lag["baseline_value"]) == ("ms", "target: 1,000 ms", 1000.0)
    assert (recovery["unit"], recovery["baseline_name"], recovery["baseline_value"]) == (
        "s",
        "target: 5 s",
        5.0,
    )
    assert "p50" in lag["notes"][0] and "from the restart" in recovery["notes"][0]


def test_the_smoke_run_measures_every_benchmark_beside_its_baseline(tmp_path: Path) -> None:
    document = _smoke(tmp_path)
    assert document["database"] == "sqlite"
    names = {result["name"] for result in document["benchmarks"]}
    assert {
        "push_batch (v7)",
        "push_batch (v4)",
        "push_small",
        "pull_catchup",
        "rebuild",
        "peer append",
        "peer read",
        "capture_cli",
        "sdk_append",
        "memory",
        "projector_lag",
        "projector_recovery",
    } <= names
    _targets(document)


@pytest.mark.skipif(postgres_url() is None, reason=skip_reason())
def test_the_smoke_run_on_postgresql_uses_asyncpg_as_its_baseline_and_drops_its_databases(
    tmp_path: Path,
) -> None:
    url = postgres_url()
    assert url is not None

    async def bench_databases() -> set[str]:
        connection = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
        try:
            query = "SELECT datname FROM pg_database WHERE datname LIKE 'winledger_bench_%'"
            return {row[0] for row in await connection.fetch(query)}
        finally:
            await connection.close()

    before = asyncio.run(bench_databases())
    document = _smoke(tmp_path, "--db", url)
    assert document["database"] == "postgresql"
    assert "PostgreSQL" in document["machine"]
    results = {result["name"]: result for result in document["benchmarks"]}
    assert {
        "push_batch (v7)",
        "push_batch (v4)",
        "push_small",
        "pull_catchup",
        "rebuild",
        "memory",
        "projector_lag",
        "projector_recovery",
    } <= set(results)
    _targets(document)
    assert results["push_batch (v7)"]["baseline_name"].startswith("asyncpg executemany")
    assert results["pull_catchup"]["baseline_name"].startswith("asyncpg paging")
    assert "peer append" not in results  # the peer runs on SQLite only

    assert asyncio.run(bench_databases()) <= before  # every database it made is dropped

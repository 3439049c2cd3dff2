"""The benchmark suite still runs: ``python -m benchmarks --smoke`` end to end, once (no timing is checked;
the numbers of a smoke run mean nothing)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

pytestmark = pytest.mark.e2e

FIELDS = {"name", "unit", "value", "baseline_name", "baseline_value", "ratio", "runs", "min", "max", "notes"}


def test_the_smoke_run_measures_every_benchmark_beside_its_baseline(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    document = msgspec.json.decode(out.read_bytes())
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
    } <= names
    for result in document["benchmarks"]:
        assert set(result) == FIELDS
        assert result["value"] > 0 and result["baseline_value"] > 0, result
        assert result["min"] <= result["value"] <= result["max"]
    assert "| push_batch (v7)" in done.stdout  # the table

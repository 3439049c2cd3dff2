"""Capture latency: ``winledger win "..."`` offline, beside an empty Python start in the same run.

The product's promise is a win captured in one command that returns in well under a second with no
network. This measures the wall time of the real command (a subprocess, warm file cache, a journal
already holding ``--events`` events, no server configured) against the baseline of starting the
same interpreter with ``python -c pass``, interleaving the two and reporting medians and the ratio.

Run: ``python -m benchmarks.capture [--runs 15] [--events 2000]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--events", type=int, default=2000)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "journal.db"
        from client_sdk import Client

        with Client(store) as journal:
            project = journal.start_project("Churn early warning", "model")
            for index in range(args.events):
                journal.capture(f"win number {index}", project=project if index % 2 else None)
        env = {**os.environ, "WINLEDGER_STORE": str(store), "XDG_CONFIG_HOME": tmp, "WINLEDGER_SERVER": ""}
        script = Path(sys.executable).with_name("winledger")
        win = [str(script) if script.exists() else sys.executable, "win", "Shipped the churn model"]
        if not script.exists():
            win[1:1] = ["-m", "client_sdk.cli"]
        baseline = [sys.executable, "-c", "pass"]
        capture_times, baseline_times = [], []
        _timed(win, env)  # warm the file cache
        for _ in range(args.runs):
            capture_times.append(_timed(win, env))
            baseline_times.append(_timed(baseline, env))
    capture, base = statistics.median(capture_times), statistics.median(baseline_times)
    print(f"{'benchmark':<28}{'median ms':>10}{'min':>8}{'max':>8}")
    print(f"{'winledger win (offline)':<28}{capture * 1000:>10.0f}{min(capture_times) * 1000:>8.0f}"
          f"{max(capture_times) * 1000:>8.0f}")  # fmt: skip
    print(f"{'python -c pass (baseline)':<28}{base * 1000:>10.0f}{min(baseline_times) * 1000:>8.0f}"
          f"{max(baseline_times) * 1000:>8.0f}")  # fmt: skip
    print(f"ratio: {capture / base:.1f}x the interpreter's own start, over {args.runs} interleaved runs")


if __name__ == "__main__":
    main()

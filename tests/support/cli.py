"""The ``winledger`` command run in-process, as the CLI tests drive it: its exit code and what it printed."""

from __future__ import annotations

import msgspec
import pytest

from client_sdk.cli import main


class Result(msgspec.Struct):
    code: int
    out: str
    err: str


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    """``winledger ARGS`` in this process; a usage error's exit status included."""
    capsys.readouterr()
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)

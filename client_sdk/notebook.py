"""Capture from a notebook in one line: an IPython extension with the ``%win``, ``%%win`` and ``%milestone``
magics.

    %load_ext client_sdk.notebook
    %win "Recall at 30 days is 0.81 on the March hold-out" --project "Churn model"
    %milestone "Churn model" deployed --note "Behind a flag for 10% of accounts"

    %%win --project "Churn model"
    The churn list went to customer success today; they will call the top 200 on Monday.

Each magic runs the ``winledger`` command of the same name (``client_sdk.cli.main``): the same journal
(``--store``, else ``$WINLEDGER_STORE``, else the default one), the same validation, the same one-line
confirmation and the same error messages, printed as the command prints them (never a traceback). The
events wait in the journal for ``winledger sync``, with the sign-in ``winledger login`` saved.

The extension lives in ``client_sdk`` because the distribution's import packages are ``schema``,
``server`` and ``client_sdk``; IPython is the optional ``notebook`` extra (``pip install
"winledger[notebook]"``). Nothing here imports IPython: the shell is handed in.
"""

from __future__ import annotations

import shlex
import sys
from typing import Any

__all__ = ["load_ipython_extension", "milestone_magic", "win_magic"]


def load_ipython_extension(ip: Any) -> None:
    """Register ``%win`` / ``%%win`` and ``%milestone`` with the shell (``%load_ext client_sdk.notebook``)."""
    ip.register_magic_function(win_magic, magic_kind="line_cell", magic_name="win")
    ip.register_magic_function(milestone_magic, magic_kind="line", magic_name="milestone")


def win_magic(line: str, cell: str | None = None) -> None:
    """``%win TEXT [--project NAME] [--tag TAG]... [--at WHEN] [--voice]``: the words before the first
    option are the text, quoted or not. ``%%win [options]``: the cell is the text."""
    words = _split("%%win" if cell is not None else "%win", line)
    if words is None:
        return
    if cell is not None:
        text = cell.strip()
        if not text:
            _error("%%win", "the cell is empty: write the win in the cell, under the %%win line")
            return
        options = words
    else:
        first_option = next((i for i, word in enumerate(words) if word.startswith("--")), len(words))
        text, options = " ".join(words[:first_option]), words[first_option:]
        if not text:
            _error("%win", 'no text: write the win after %win, e.g. %win "Shipped the export"')
            return
    # The options first, then the text after "--": a text that starts with "-" is still the text.
    _run(["win", *options, "--", text])


def milestone_magic(line: str) -> None:
    """``%milestone PROJECT MILESTONE [--note NOTE] [--at WHEN]``, as ``winledger milestone``."""
    words = _split("%milestone", line)
    if words is not None:
        _run(["milestone", *words])


def _split(magic: str, line: str) -> list[str] | None:
    try:
        return shlex.split(line)
    except ValueError as exc:  # an unclosed quote
        _error(magic, f"the line could not be read ({str(exc).lower()}): close the quotes around the text")
        return None


def _error(magic: str, message: str) -> None:
    print(f"{magic}: error: {message}", file=sys.stderr)


def _run(argv: list[str]) -> None:
    """``winledger ARGV`` in this process: its output and its errors as the command prints them."""
    from client_sdk.cli import main

    try:
        main(argv)
    except SystemExit:
        pass  # a usage error (or --help): argparse has printed it, naming the argument
    except Exception as exc:  # nothing a capture meets may end in a traceback in the notebook
        _error(f"%{argv[0]}", f"{type(exc).__name__}: {exc}")

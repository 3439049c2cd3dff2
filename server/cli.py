"""The server's commands of ``winledger``: ``serve`` and ``admin ACTION``.

The ``winledger`` command (``client_sdk.cli``) is the client's, and never names the server: it finds
these commands through the ``winledger.commands`` entry-point group, where the distribution registers
``register`` (pyproject.toml). This module and the parsers it adds import argparse-level code only, so
that ``winledger --help`` and the client's commands work where the server's dependencies are not
installed (the wheel without its ``server`` extra). There ``serve`` and ``admin`` are left out of
``--help``, and typing one says which extra adds them. A command imports what it needs (the database
layer, uvicorn) when it runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from typing import TYPE_CHECKING, Any

from server.admin.parser import add_admin, add_db

if TYPE_CHECKING:
    from server.settings import Settings

DEPENDENCIES = ("starlette", "uvicorn", "sqlalchemy", "aiosqlite", "alembic", "rich")
"""What the server's commands import of the ``server`` extra (pyproject.toml)."""
COMMANDS = ("serve", "admin")


def register(commands: Any) -> None:
    """Add ``serve`` and ``admin`` to the ``winledger`` command's subcommands (``commands``)."""
    missing = missing_dependency()
    if missing is not None:
        for name in COMMANDS:
            _add_unavailable(commands, name, missing)
        return
    _add_serve(commands)
    add_admin(commands)


def missing_dependency() -> str | None:
    """The first of the server's dependencies that cannot be imported here; None when all can."""
    for name in DEPENDENCIES:
        if importlib.util.find_spec(name) is None:
            return name
    return None


def _add_unavailable(commands: Any, name: str, missing: str) -> None:
    """``name`` left out of ``--help`` (no ``help``), taking any arguments (no option prefix), and
    saying, whatever follows it, which extra brings the server's dependencies."""

    def run(args: argparse.Namespace) -> int:
        print(
            f"winledger: this command runs the server, whose dependencies are not installed here "
            f"(missing module {missing!r}). Install them from a clone of the repository with: "
            "pip install '.[server]'",
            file=sys.stderr,
        )
        return 1

    unavailable = commands.add_parser(name, add_help=False, prefix_chars="\0")
    unavailable.add_argument("arguments", nargs="*")
    unavailable.set_defaults(run=run)


def _add_serve(commands: Any) -> None:
    serve = commands.add_parser(
        "serve", help="run the sync server (creates or upgrades a SQLite database; see admin migrate)"
    )
    add_db(serve)
    serve.add_argument("--host", help="default: $WINLEDGER_HOST, else 127.0.0.1")
    serve.add_argument("--port", type=int, help="default: $WINLEDGER_PORT, else 8750")
    serve.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    serve.add_argument(
        "--log-format",
        choices=["text", "json"],
        help=(
            "text: uvicorn's access log; json: one JSON line per request (route, status, duration, "
            "user id) and per log record (default: $WINLEDGER_LOG_FORMAT, else text)"
        ),
    )
    serve.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="server processes on one port, PostgreSQL only (SQLite has one writer: it runs 1; "
        "default: $WINLEDGER_WORKERS, else 1)",
    )
    serve.add_argument(
        "--projector",
        choices=["process", "inline"],
        help=(
            "process: fold read models in a process of their own, beside the server's (on another core: "
            "requests never wait for a fold); inline: in each server process's event loop "
            "(default: $WINLEDGER_PROJECTOR, else process)"
        ),
    )
    serve.add_argument(
        "--migrate",
        action="store_true",
        help=(
            "upgrade an out-of-date PostgreSQL schema before serving (SQLite is always upgraded); "
            "in production run `winledger admin migrate` once instead"
        ),
    )
    serve.set_defaults(run=_serve)


def serve_settings(args: argparse.Namespace) -> Settings:
    """What ``winledger serve`` serves: its flags, else ``$WINLEDGER_*``, else the defaults, with a
    projector process of its own unless asked otherwise (server/projections/process.py)."""
    from server.settings import Settings

    return Settings.from_env(
        base=Settings(projector="process"),
        db_url=args.db,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_format=args.log_format,
        projector=args.projector,
        migrate=True if args.migrate else None,
    )


def _serve(args: argparse.Namespace) -> int:
    from server.settings import SettingsError

    try:
        settings = serve_settings(args)
    except SettingsError as exc:
        print(f"winledger serve: error: {exc}", file=sys.stderr)
        return 1
    from server import serve

    return serve.serve(settings, log_level=args.log_level)

"""The ``winledger`` command.

One command serves both sides. Client-side commands (capture, sync, status,
review: ``client_sdk._capture`` and ``client_sdk._account``) run wherever the
client SDK is installed, offline against the local journal. Server commands
(``serve``, ``admin ...``) load the server package only when they run
(``importlib``, by name), so ``winledger --help`` and the client's commands work
on a machine where only the client is installed, and a server command there
says which extra to install.

Every error goes to standard error with exit status 1 and names the bad
argument, usage errors included.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

from client_sdk import _account, _capture, _export
from client_sdk._cli_args import CommandError, store_options, when_options
from client_sdk.errors import WinledgerError

DEFAULT_DB_URL = "sqlite+aiosqlite:///./winledger.db"
_SERVER_MODULES = {"server", "starlette", "sqlalchemy", "aiosqlite", "uvicorn", "rich"}


def _server_cli() -> ModuleType:
    try:
        return importlib.import_module("server.cli")
    except ModuleNotFoundError as exc:
        root = (exc.name or "").split(".")[0]
        if root in _SERVER_MODULES:
            raise SystemExit(
                f"winledger: this command runs the server, whose dependencies are not installed here "
                f"(missing module {exc.name!r}). Install them from a clone of the repository with: "
                "pip install '.[server]'"
            ) from None
        raise


def _server_command(name: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        return int(getattr(_server_cli(), name)(args))

    return run


def _admin_command(name: str, *, creates: bool = False) -> Callable[[argparse.Namespace], int]:
    """An ``admin`` action that first names the database it opens, on standard error, and refuses to
    create one unasked (``--create``, for the actions that make a database: ``creates``)."""

    def run(args: argparse.Namespace) -> int:
        cli = _server_cli()
        from server.accounts.auth import AdminError
        from server.admin.store import announce, name_database

        if os.environ.get("WINLEDGER_DB") == args.db:
            source = "$WINLEDGER_DB"
        elif args.db == DEFAULT_DB_URL:
            source = "the default, ./winledger.db in the current directory"
        else:
            source = "--db"
        try:
            line = name_database(
                args.db, create=getattr(args, "create", False), creates=creates, source=source
            )
        except AdminError as exc:
            raise CommandError(str(exc), "--db") from None
        announce(line)
        return int(getattr(cli, name)(args))

    return run


def _add_create(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--create",
        action="store_true",
        help="create the database if it does not exist yet (a SQLite file); without it, a missing "
        "database is an error, so that a mistyped --db or the wrong directory creates nothing",
    )


def _schema_export(args: argparse.Namespace) -> int:
    import msgspec

    from schema.protocol.jsonschema import schemas

    directory = Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)
    documents = schemas()
    for name, document in sorted(documents.items()):
        (directory / name).write_bytes(msgspec.json.format(msgspec.json.encode(document), indent=2) + b"\n")
    print(f"Wrote {len(documents)} JSON Schema files to {directory}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from client_sdk.demo import run_demo

    return run_demo(keep=Path(args.keep) if args.keep else None)


def _add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        default=os.environ.get("WINLEDGER_DB", DEFAULT_DB_URL),
        metavar="URL",
        help="SQLAlchemy async database URL (default: $WINLEDGER_DB, else %(default)s)",
    )


def _add_expires(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--expires",
        metavar="WHEN",
        help=(
            "when the token stops working: a duration from now (12h, 90d, 4w), a date (2026-12-31: "
            "its first instant, UTC) or a time with its offset (2026-12-31T18:00:00+01:00); "
            "default: never"
        ),
    )


_EXAMPLES = """\
examples:
  winledger project start "Churn early warning" --kind model
  winledger win "Customer success now works the churn list every Monday" --project "churn early warning"
  winledger metric "Churn early warning" saved_rate 34 --layer business --unit % --baseline 25
  winledger login --server https://wins.example    # once; then, whenever online:
  winledger sync
  winledger review --from 2026-01-01 --to 2026-12-31

`winledger COMMAND --help` explains each command.
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="winledger",
        description="Capture wins offline and sync them through a winledger server.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _capture.add_commands(commands, store_options(), when_options())
    _account.add_commands(commands, store_options())
    _export.add_commands(commands, store_options())

    serve = commands.add_parser(
        "serve", help="run the sync server (creates or upgrades a SQLite database; see admin migrate)"
    )
    _add_db(serve)
    serve.add_argument(
        "--host", default=os.environ.get("WINLEDGER_HOST", "127.0.0.1"), help="default: %(default)s"
    )
    serve.add_argument(
        "--port", type=int, default=int(os.environ.get("WINLEDGER_PORT", "8750")), help="default: %(default)s"
    )
    serve.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    serve.add_argument(
        "--log-format",
        choices=["text", "json"],
        default=None,
        help=(
            "text: uvicorn's access log; json: one JSON line per request (route, status, duration, "
            "user id) and per log record (default: $WINLEDGER_LOG_FORMAT, else text)"
        ),
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("WINLEDGER_WORKERS", "1")),
        metavar="N",
        help="server processes on one port, PostgreSQL only (SQLite has one writer: it runs 1)",
    )
    serve.add_argument(
        "--projector",
        choices=["process", "inline"],
        default=None,
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
    serve.set_defaults(run=_server_command("serve"))

    admin = commands.add_parser(
        "admin",
        help="manage users and tokens, and rebuild read models, in a server database",
        description=(
            "Every action names the database it opens (on standard error) and creates none unasked: "
            "where --db names no database yet, it stops; create-user, migrate and restore take --create."
        ),
    )
    admin_commands = admin.add_subparsers(dest="admin_command", metavar="ACTION", required=True)

    create_user = admin_commands.add_parser(
        "create-user", help="create a user; prints a new token once, alone on the last line"
    )
    create_user.add_argument("name")
    create_user.add_argument("--label", metavar="DEVICE", help="label of the first token, e.g. the device")
    _add_expires(create_user)
    _add_db(create_user)
    _add_create(create_user)
    create_user.set_defaults(run=_admin_command("create_user", creates=True))

    create_token = admin_commands.add_parser(
        "create-token", help="create another token for a user; prints it once, alone on the last line"
    )
    create_token.add_argument("name")
    create_token.add_argument("--label", metavar="DEVICE", help="what the token is for, e.g. 'phone'")
    _add_expires(create_token)
    _add_db(create_token)
    create_token.set_defaults(run=_admin_command("create_token"))

    list_tokens = admin_commands.add_parser("list-tokens", help="list a user's tokens (never their secrets)")
    list_tokens.add_argument("name")
    _add_db(list_tokens)
    list_tokens.set_defaults(run=_admin_command("list_tokens"))

    revoke = admin_commands.add_parser(
        "revoke-token", help="revoke a token by its id; other tokens keep working"
    )
    revoke.add_argument("token_id")
    _add_db(revoke)
    revoke.set_defaults(run=_admin_command("revoke_token"))

    migrate = admin_commands.add_parser(
        "migrate",
        help="create or upgrade the database's schema to this version (run once, before the servers)",
        description=(
            "Bring the database's schema up to the version this winledger needs, from any earlier "
            "one, in one transaction. Safe to run twice or from two places at once. On PostgreSQL "
            "`serve` refuses an out-of-date schema until this has run; SQLite is upgraded by `serve`."
        ),
    )
    migrate.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if the schema is out of date"
    )
    _add_db(migrate)
    _add_create(migrate)
    migrate.set_defaults(run=_admin_command("migrate", creates=True))

    rebuild = admin_commands.add_parser(
        "rebuild",
        help="rebuild the read models from the event log while a server keeps serving",
        description=(
            "Rebuild users' read models (project timelines, metric chains, review drafts) from their "
            "event logs, beside the live ones, and swap each user's in together with their checkpoint. "
            "A running server keeps serving the old models and taking pushes meanwhile."
        ),
    )
    rebuild.add_argument("--user", metavar="NAME", help="only this user (default: every user)")
    rebuild.add_argument(
        "--projection",
        choices=["timeline", "metric-chains", "review-draft", "all"],
        default="all",
        help=(
            "which read model to rebuild (default: %(default)s). The three are views of one stored "
            "per-project model, so each choice rebuilds that model, and with it all three"
        ),
    )
    rebuild.add_argument(
        "--verify",
        action="store_true",
        help=(
            "swap nothing in: let the live models catch up with the log, rebuild into memory and "
            "report every difference from them at the same checkpoint; exit 1 on a difference, 0 "
            "when equal"
        ),
    )
    _add_db(rebuild)
    rebuild.set_defaults(run=_admin_command("rebuild"))

    backup = admin_commands.add_parser(
        "backup",
        help="copy a live SQLite store to a new file while the server keeps serving",
        description=(
            "A consistent copy of the SQLite store through SQLite's online backup API; the server "
            "may keep serving and writing meanwhile. On PostgreSQL use pg_dump (docs/operations.md)."
        ),
    )
    backup.add_argument("path", metavar="PATH", help="the backup file to create (must not exist)")
    _add_db(backup)
    backup.set_defaults(run=_admin_command("backup"))

    restore = admin_commands.add_parser(
        "restore",
        help="put a backup in place under a new epoch (stop the server first)",
        description=(
            "Replace the SQLite store with a backup made by `admin backup` and give it a new epoch, "
            "so that every device pulls again and pushes back what the backup lacks. Refuses while a "
            "server serves the file. On PostgreSQL, restore with pg_restore, then run "
            "`admin restore --new-epoch-only`."
        ),
    )
    restore.add_argument("path", metavar="PATH", nargs="?", help="the backup file to restore")
    restore.add_argument(
        "--new-epoch-only",
        action="store_true",
        help="only give the store a new epoch and clear projection leases (after pg_restore)",
    )
    _add_db(restore)
    _add_create(restore)
    restore.set_defaults(run=_admin_command("restore", creates=True))

    stats = admin_commands.add_parser(
        "stats",
        help="the store's size, users, events, tokens and projector lag",
        description=(
            "Print the store's size on disk (SQLite file and WAL, or pg_database_size), its users, "
            "events and tokens by state, how far the read models are behind the event log (events and "
            "the oldest one's age, with the users furthest behind), and a running rebuild's progress."
        ),
    )
    _add_db(stats)
    stats.set_defaults(run=_admin_command("stats"))

    delete_user = admin_commands.add_parser(
        "delete-user",
        help="erase a user: their events, read models, sessions and tokens, for good",
        description=(
            "Delete the user and everything the server holds of them (events, read models, checkpoints, "
            "projection leases, web sessions, tokens) in one transaction, and print what was removed. "
            "It cannot be undone. Backups made before it still hold the user (docs/operations.md)."
        ),
    )
    delete_user.add_argument("name")
    _add_db(delete_user)
    delete_user.set_defaults(run=_admin_command("delete_user"))

    schema_cmd = commands.add_parser("schema", help="the event and wire schemas")
    schema_commands = schema_cmd.add_subparsers(dest="schema_command", metavar="ACTION", required=True)
    export = schema_commands.add_parser(
        "export", help="write JSON Schema for the envelope, every event type and every wire message"
    )
    export.add_argument("dir", help="directory to write into (created if missing)")
    export.set_defaults(run=_schema_export)

    demo = commands.add_parser(
        "demo", help="start a server, sync two offline devices through it and show what they hold"
    )
    demo.add_argument(
        "--keep", metavar="DIR", help="keep the demo's databases in DIR instead of a temporary one"
    )
    demo.set_defaults(run=_demo)
    return parser


def _reader_gone() -> int:
    """The reader of standard output stopped reading (``winledger export | head -1``): end quietly, with
    the status of a process ended by SIGPIPE, as ``cat`` would, and with nothing left to flush."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 128 + 13


def main(argv: Sequence[str] | None = None) -> Any:
    args = build_parser().parse_args(argv)
    try:
        code = args.run(args)
        sys.stdout.flush()  # here, where a reader gone is caught, not at exit
        return code
    except BrokenPipeError:
        return _reader_gone()
    except KeyboardInterrupt:
        return 130
    except (CommandError, WinledgerError) as exc:
        print(f"{getattr(args, 'prog', 'winledger')}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

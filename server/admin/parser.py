"""The arguments of ``winledger admin ACTION``: argparse only, so that ``winledger --help`` lists them
without loading the database layer. Each action runs a ``*_command`` function of its concern's module
(``users``, ``migrate``, ``rebuild``, ``backup``, ``stats``, ``erase``), imported when it runs, after
the database it opens is named (``server.admin.store.name_database``)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from typing import Any

Run = Callable[[argparse.Namespace], int]

MODULES = {
    "create-user": "users",
    "create-token": "users",
    "list-tokens": "users",
    "revoke-token": "users",
    "migrate": "migrate",
    "rebuild": "rebuild",
    "backup": "backup",
    "restore": "backup",
    "stats": "stats",
    "delete-user": "erase",
}
"""Each action's module in ``server.admin``, whose ``<action>_command`` runs it."""


SHOWN_DEFAULT_DB_URL = "sqlite+aiosqlite:///./winledger.db"
"""``server.settings.DEFAULT_DB_URL``, written out: the settings import the protocol's schema, which every
``winledger`` command would then load, a capture included, for its help text."""


def add_db(parser: argparse.ArgumentParser) -> None:
    """``--db URL``; without it, the command reads ``$WINLEDGER_DB`` when it runs (``database``)."""
    parser.add_argument(
        "--db",
        metavar="URL",
        help=f"SQLAlchemy async database URL (default: $WINLEDGER_DB, else {SHOWN_DEFAULT_DB_URL})",
    )


def database(args: argparse.Namespace) -> str:
    """Where ``args.db`` came from, after filling it in: ``--db``, ``$WINLEDGER_DB`` or the default."""
    from server.settings import DEFAULT_DB_URL, Settings

    if args.db is not None:
        return "--db"
    args.db = Settings.env_value("db_url")
    if args.db is not None:
        return "$WINLEDGER_DB"
    args.db = DEFAULT_DB_URL
    return "the default, ./winledger.db in the current directory"


def _action(module: str, *, creates: bool = False) -> Run:
    """The action whose command is ``<action>_command`` in ``server.admin.<module>``; it first names the
    database it opens, on standard error, and refuses to create one unasked (``--create``, for the
    actions that make a database: ``creates``)."""

    def run(args: argparse.Namespace) -> int:
        from server.accounts.auth import AdminError
        from server.admin.store import announce, name_database, shown
        from server.database.failures import UNREACHABLE, why
        from server.settings import database_url_problem

        source = database(args)
        problem = database_url_problem(args.db)
        if problem is not None:
            where = "argument --db" if source == "--db" else f"{source}"
            print(f"winledger: error: {where}: {problem}", file=sys.stderr)
            return 1
        try:
            line = name_database(
                args.db, create=getattr(args, "create", False), creates=creates, source=source
            )
        except AdminError as exc:
            print(f"winledger: error: argument --db: {exc}", file=sys.stderr)
            return 1
        announce(line)
        try:
            return int(command(args.admin_command, module)(args))
        except UNREACHABLE as exc:
            print(f"winledger: error: cannot use the database {shown(args.db)}: {why(exc)}", file=sys.stderr)
            return 1

    return run


def command(action: str, module: str) -> Run:
    """The function that runs ``admin ACTION``: ``<action>_command`` of ``server.admin.<module>``."""
    run: Run = getattr(
        importlib.import_module(f"server.admin.{module}"), f"{action.replace('-', '_')}_command"
    )
    return run


def _add_create(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--create",
        action="store_true",
        help="create the database if it does not exist yet (a SQLite file); without it, a missing "
        "database is an error, so that a mistyped --db or the wrong directory creates nothing",
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


def _add(actions: Any, name: str, *, creates: bool = False, **options: Any) -> Any:
    """The parser of ``admin NAME``, whose command is in ``server.admin.<MODULES[name]>``."""
    parser = actions.add_parser(name, **options)
    parser.set_defaults(run=_action(MODULES[name], creates=creates))
    return parser


def add_admin(commands: Any) -> None:
    """``winledger admin ACTION``, added to the ``winledger`` command's ``commands``."""
    admin = commands.add_parser(
        "admin",
        help="manage users and tokens, and rebuild read models, in a server database",
        description=(
            "Every action names the database it opens (on standard error) and creates none unasked: "
            "where --db names no database yet, it stops; create-user, migrate and restore take --create."
        ),
    )
    actions = admin.add_subparsers(dest="admin_command", metavar="ACTION", required=True)
    _add_users(actions)
    _add_migrate(actions)
    _add_rebuild(actions)
    _add_backup(actions)
    _add_stats(actions)
    _add_erase(actions)


def _add_users(actions: Any) -> None:
    create_user = _add(
        actions,
        "create-user",
        creates=True,
        help="create a user; prints a new token once, alone on the last line",
    )
    create_user.add_argument("name")
    create_user.add_argument("--label", metavar="DEVICE", help="label of the first token, e.g. the device")
    _add_expires(create_user)
    add_db(create_user)
    _add_create(create_user)

    create_token = _add(
        actions,
        "create-token",
        help="create another token for a user; prints it once, alone on the last line",
    )
    create_token.add_argument("name")
    create_token.add_argument("--label", metavar="DEVICE", help="what the token is for, e.g. 'phone'")
    _add_expires(create_token)
    add_db(create_token)

    list_tokens = _add(actions, "list-tokens", help="list a user's tokens (never their secrets)")
    list_tokens.add_argument("name")
    add_db(list_tokens)

    revoke = _add(actions, "revoke-token", help="revoke a token by its id; other tokens keep working")
    revoke.add_argument("token_id")
    add_db(revoke)


def _add_migrate(actions: Any) -> None:
    migrate = _add(
        actions,
        "migrate",
        creates=True,
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
    add_db(migrate)
    _add_create(migrate)


def _add_rebuild(actions: Any) -> None:
    rebuild = _add(
        actions,
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
    add_db(rebuild)


def _add_backup(actions: Any) -> None:
    backup = _add(
        actions,
        "backup",
        help="copy a live SQLite store to a new file while the server keeps serving",
        description=(
            "A consistent copy of the SQLite store through SQLite's online backup API; the server "
            "may keep serving and writing meanwhile. On PostgreSQL use pg_dump (docs/operations.md)."
        ),
    )
    backup.add_argument("path", metavar="PATH", help="the backup file to create (must not exist)")
    add_db(backup)

    restore = _add(
        actions,
        "restore",
        creates=True,
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
    add_db(restore)
    _add_create(restore)


def _add_stats(actions: Any) -> None:
    stats = _add(
        actions,
        "stats",
        help="the store's size, users, events, tokens and projector lag",
        description=(
            "Print the store's size on disk (SQLite file and WAL, or pg_database_size), its users, "
            "events and tokens by state, how far the read models are behind the event log (events and "
            "the oldest one's age, with the users furthest behind), and a running rebuild's progress."
        ),
    )
    add_db(stats)


def _add_erase(actions: Any) -> None:
    delete_user = _add(
        actions,
        "delete-user",
        help="erase a user: their events, read models, sessions and tokens, for good",
        description=(
            "Delete the user and everything the server holds of them (events, read models, checkpoints, "
            "projection leases, web sessions, tokens) in one transaction, and print what was removed. "
            "It cannot be undone. Backups made before it still hold the user (docs/operations.md)."
        ),
    )
    delete_user.add_argument("name")
    add_db(delete_user)

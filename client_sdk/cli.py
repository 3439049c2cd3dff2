"""The ``winledger`` command.

One command serves both sides. Client-side commands (capture, sync, status,
review: ``client_sdk._capture`` and ``client_sdk._account``) run wherever the
client SDK is installed, offline against the local journal. Other commands
(the server's ``serve`` and ``admin ...``) are plug-ins: functions named by the
``winledger.commands`` entry-point group (``COMMANDS_GROUP``) of the installed
distributions, each given the subcommands to add its own to. The client knows
nothing of them. A client command does not look for them, and a plug-in imports
its heavy dependencies only when its command runs, so a capture stays quick.

Every error goes to standard error with exit status 1 and names the bad
argument, usage errors included.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from client_sdk import _account, _capture, _export, _mlflow, _nudge, _share
from client_sdk._cli_args import CommandError, store_options, when_options
from client_sdk.errors import WinledgerError

COMMANDS_GROUP = "winledger.commands"
"""The entry-point group of the commands other packages add to ``winledger`` (pyproject.toml)."""


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


_EXAMPLES = """\
examples:
  winledger project start "Churn early warning" --kind model
  winledger win "Customer success now works the churn list every Monday" --project "churn early warning"
  winledger metric "Churn early warning" saved_rate 34 --layer business --unit % --baseline 25
  winledger login --server https://wins.example    # once; then, whenever online:
  winledger sync
  winledger review --from 2026-01-01 --to 2026-12-31
  winledger nudge                                  # what to capture next

`winledger COMMAND --help` explains each command.
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole command, or, for an ``argv`` that names one of the client's own commands, the command
    without its plug-ins: finding them (``importlib.metadata``) would slow every capture down."""
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
    _nudge.add_commands(commands, store_options())  # `winledger nudge` (what to capture next)
    _mlflow.add_commands(commands, store_options())  # `winledger mlflow import`
    _share.add_commands(commands, store_options())  # `winledger share` (read-only links to the draft)
    if not argv or (argv[0] not in commands.choices and argv[0] not in _LAST):
        _add_plugins(commands)
    for add in _LAST.values():
        add(commands)
    return parser


def _add_plugins(commands: Any) -> None:
    """The commands of every function registered in ``COMMANDS_GROUP``, by the entry point's name."""
    from importlib.metadata import entry_points

    for entry_point in sorted(entry_points(group=COMMANDS_GROUP), key=lambda point: point.name):
        entry_point.load()(commands)


def _add_schema(commands: Any) -> None:
    schema_cmd = commands.add_parser("schema", help="the event and wire schemas")
    schema_commands = schema_cmd.add_subparsers(dest="schema_command", metavar="ACTION", required=True)
    export = schema_commands.add_parser(
        "export", help="write JSON Schema for the envelope, every event type and every wire message"
    )
    export.add_argument("dir", help="directory to write into (created if missing)")
    export.set_defaults(run=_schema_export)


def _add_demo(commands: Any) -> None:
    demo = commands.add_parser(
        "demo", help="start a server, sync two offline devices through it and show what they hold"
    )
    demo.add_argument(
        "--keep", metavar="DIR", help="keep the demo's databases in DIR instead of a temporary one"
    )
    demo.set_defaults(run=_demo)


_LAST = {"schema": _add_schema, "demo": _add_demo}
"""The client's commands listed after the plug-ins' (``winledger --help``)."""


def _reader_gone() -> int:
    """The reader of standard output stopped reading (``winledger export | head -1``): end quietly, with
    the status of a process ended by SIGPIPE, as ``cat`` would, and with nothing left to flush."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 128 + 13


def main(argv: Sequence[str] | None = None) -> Any:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv).parse_args(argv)
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

"""``winledger nudge``: what is worth capturing now, computed offline from the journal with the server's
code (``schema.projections.nudges``); ``winledger status`` ends with the same list."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from client_sdk._cli_args import CommandError, add_command, day, open_client, today_utc

if TYPE_CHECKING:
    from schema.projections.nudges import Nudges

__all__ = ["add_commands", "nudge", "nudges_text"]


def nudges_text(found: Nudges) -> str:
    """The list as text: a heading, then each nudge's reason and, indented under it, its command."""
    if not found.nudges:
        return f"Nothing to capture right now (as of {found.as_of})."
    lines = [f"What to capture next (as of {found.as_of}):"]
    for item in found.nudges:
        lines += [f"- {item.project.name}: {item.reason}", f"    {item.command}"]
    lines.append("(Words in capitals are yours to fill in.)")
    return "\n".join(lines)


def nudge(args: argparse.Namespace) -> int:
    today = today_utc()
    if args.as_of is not None and args.as_of > today:
        raise CommandError(
            f"{args.as_of.isoformat()} is after today ({today.isoformat()}, UTC): nothing is recorded yet "
            "for a day still to come",
            "--as-of",
        )
    with open_client(args, create=False) as client:
        found = client.nudges(args.as_of or today)
    if args.format == "json":
        import msgspec

        print(msgspec.json.format(msgspec.json.encode(found), indent=2).decode())
    else:
        print(nudges_text(found))
    return 0


def add_commands(commands: Any, store: argparse.ArgumentParser) -> None:
    p = add_command(
        commands,
        "nudge",
        nudge,
        "what is worth capturing now, each with the command that records it (offline)",
        [store],
    )
    p.description = (
        "List what is worth capturing now, from this journal alone: a deployment older than four weeks "
        "with no production numbers, production numbers with no business metric, a metric chain that "
        "stops before the business layer, an experiment past its planned length with no conclusion, a "
        "project with nothing recorded for a quarter. Each item gives its reason, with the dates and "
        "figures it rests on, and the one winledger command that resolves it (words in capitals are "
        "yours to fill in)."
    )
    p.add_argument(
        "--as-of",
        type=day,
        metavar="YYYY-MM-DD",
        help="the day the list is drawn as of, not after today (default: today, UTC); "
        "only what occurred by its end counts",
    )
    p.add_argument("--format", choices=["text", "json"], default="text", help="text (the default) or json")

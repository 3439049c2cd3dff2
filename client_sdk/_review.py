"""``winledger review``: the review draft of a period, computed offline from the journal with the server's
code."""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from client_sdk._cli_args import CommandError, add_command, day, open_client, today_utc
from client_sdk.errors import ValidationError

__all__ = ["add_review", "review"]

_REVIEW_OPTIONS = {"from_": "--from", "to": "--to", "as_of": "--as-of"}


def review(args: argparse.Namespace) -> int:
    # The client's defaults, spelled out for the error messages: --to is --as-of when that is given,
    # else today; --from is 1 January of --to's year; as_of is --to or today, whichever is earlier.
    end = args.to or args.as_of or today_utc()
    start = args.from_ or date(end.year, 1, 1)
    with open_client(args, create=False) as client:
        try:
            draft = client.review_draft(
                start, end, args.as_of, format=args.format, short=args.short, cite=args.cite
            )
        except ValidationError as exc:
            raise CommandError(_option_message(exc), _REVIEW_OPTIONS.get(exc.field or "", "--from")) from None
    if isinstance(draft, str):
        text = draft
    else:
        import msgspec

        text = msgspec.json.format(msgspec.json.encode(draft), indent=2).decode()
    print(text, end="" if text.endswith("\n") else "\n")
    return 0


def _option_message(error: ValidationError) -> str:
    """The client's message about an argument, with the argument's name as the option's."""
    field = error.field or ""
    option = _REVIEW_OPTIONS.get(field)
    if option and error.message.startswith(f"{field}: "):
        return error.message[len(field) + 2 :]
    if option and error.message.startswith(f"{field} "):
        return error.message[len(field) + 1 :]
    return error.message


def add_review(commands: Any, store: argparse.ArgumentParser) -> None:
    p = add_command(
        commands,
        "review",
        review,
        "print the review draft (Markdown, plain text or JSON), computed offline",
        [store],
    )
    p.description = (
        "Print the review draft of a period, computed offline from this journal with the server's code. "
        "It is drawn as of a day: only what occurred by the end of --as-of (UTC) counts, and the period "
        "may not end after it. By default the period is this year so far."
    )
    p.add_argument(
        "--from",
        dest="from_",
        type=day,
        metavar="YYYY-MM-DD",
        help="first day (default: 1 January of --to's year)",
    )
    p.add_argument(
        "--to", type=day, metavar="YYYY-MM-DD", help="last day (default: --as-of when given, else today, UTC)"
    )
    p.add_argument(
        "--as-of",
        type=day,
        metavar="YYYY-MM-DD",
        help="the day the draft is drawn as of, not before --to nor after today "
        "(default: --to or today, whichever is earlier)",
    )
    p.add_argument(
        "--format",
        choices=["md", "text", "json"],
        default="md",
        help="md: Markdown (the default); text: plain text to paste into a review form; json: the draft",
    )
    p.add_argument(
        "--short",
        action="store_true",
        help="the summary and the top accomplishments alone (for a calibration meeting)",
    )
    p.add_argument(
        "--no-cite",
        dest="cite",
        action="store_false",
        help="leave out the event citations (md and text; JSON keeps the event ids)",
    )

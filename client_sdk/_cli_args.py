"""What the client commands of ``winledger`` share: argument types, errors that name the argument, the store.

Nothing here imports httpx or the read models, so a capture from the terminal stays fast.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from client_sdk._checks import Refusal, in_the_future
from client_sdk._client import Client
from client_sdk._config import store_path, store_source
from client_sdk.errors import JournalNotFoundError, ValidationError, WinledgerError

Run = Callable[[argparse.Namespace], int]

_AGO = re.compile(r"^(\d{1,5})\s*(d|days?|w|weeks?)\s+ago$")
_SPAN = re.compile(r"^(in\s+|\+)?(\d+)\s*(d|days?|w|weeks?)(\s+from\s+now)?$")
_WHEN_FORMS = (
    "2026-03-02 (noon, local time), '2026-03-02 14:30' (local time), 2026-03-02T14:30:00Z, "
    "now, yesterday, '3 days ago' or '2 weeks ago'"
)


class CommandError(WinledgerError):
    """A command cannot do what was asked; ``main`` prints it after the command's name and exits 1."""

    def __init__(self, message: str, argument: str | None = None) -> None:
        super().__init__(f"argument {argument}: {message}" if argument else message)


def add_command(
    commands: Any, name: str, run: Run, help: str, parents: list[argparse.ArgumentParser], **options: Any
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(name, help=help, parents=parents, **options)
    parser.set_defaults(run=run, prog=parser.prog)
    return parser


def store_options() -> argparse.ArgumentParser:
    """``--store PATH``, for every command that opens the journal."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--store",
        metavar="PATH",
        help="the journal file (default: $WINLEDGER_STORE, else journal.db in your data directory)",
    )
    return parent


def when_options() -> argparse.ArgumentParser:
    """``--at WHEN``, for every command that records an event."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--at",
        type=when,
        metavar="WHEN",
        help=(
            "when it happened (default: now): 2026-03-02, '2026-03-02 14:30' (local time), "
            "2026-03-02T14:30:00Z, yesterday, '3 days ago', '2 weeks ago'"
        ),
    )
    return parent


_FIRST_CAPTURE = "your first capture (`winledger win TEXT`) creates it"


def open_client(
    args: argparse.Namespace, *, create: bool = True, first: str = _FIRST_CAPTURE, **options: Any
) -> Client:
    """The journal of ``--store``, ``$WINLEDGER_STORE`` or the default. A command that only reads it
    passes ``create=False``: where there is none, it stops with an error and creates nothing, saying
    what would create it (``first``)."""
    path = store_path(args.store, create=create)
    if create and store_source(args.store) != "the default journal":
        _check_chosen(path, store_source(args.store))
    try:
        return Client(path, create=create, **options)
    except JournalNotFoundError:
        raise no_journal(args.store, path, first) from None


def _check_chosen(path: Path, source: str) -> None:
    """A journal path someone typed names a file in a folder that exists: a typo stops here rather than
    creating folders (or opening a folder as a journal)."""
    argument = "--store" if source == "--store" else None
    if path.is_dir():
        raise CommandError(
            f"{path} (from {source}) is a folder; name the journal file in it, e.g. {path / 'journal.db'}",
            argument,
        )
    if not path.parent.is_dir():
        raise CommandError(
            f"the folder {path.parent} of {path} (from {source}) does not exist, and nothing was created: "
            "check the path, or create the folder first",
            argument,
        )


def no_journal(flag: str | None, path: Path, first: str = _FIRST_CAPTURE) -> CommandError:
    """There is no journal at ``path`` (and nothing was created), said with where the path came from."""
    source = store_source(flag)
    if source == "the default journal":
        return CommandError(
            f"there is no journal at {path} yet, and nothing was created: {first}, "
            "or `winledger sync`, once signed in, with your events"
        )
    return CommandError(
        f"there is no journal at {path} (from {source}), and nothing was created: check the path; "
        "a capture or `winledger sync` with that path creates a journal there",
        "--store" if source == "--store" else None,
    )


def when(text: str) -> datetime:
    """An aware datetime from ``--at``: a bare day means noon, local time, so it stays that day in UTC
    (today's noon, while it is still ahead, means now).

    What cannot be meant refuses here, before anything is stored: a moment in the future (beyond
    ``CLOCK_SKEW``), before 1970, or a span without a direction (``3 days``).
    """
    value = text.strip().lower()
    now = datetime.now().astimezone()
    span = _SPAN.match(value)
    if span and not (span.group(1) or span.group(4)):
        number, unit = span.group(2), "week" if span.group(3).startswith("w") else "day"
        said = f"{number} {unit}{'' if number == '1' else 's'} ago"
        raise argparse.ArgumentTypeError(
            f"{text!r} is ambiguous: did you mean {said!r}? --at takes {_WHEN_FORMS}"
        )
    if span or value == "tomorrow":
        raise argparse.ArgumentTypeError(
            f"{text!r} is in the future: a win is recorded once it has happened. --at takes {_WHEN_FORMS}"
        )
    try:
        moment = _moment(text, value, now)
    except (ValueError, OverflowError) as exc:
        # A date in the right form that the calendar lacks (2026-02-30) is named as such.
        if _DAY_FIRST.match(value) and ("day is out of range" in str(exc) or "must be in" in str(exc)):
            raise argparse.ArgumentTypeError(f"{text!r} is no date of the calendar ({exc})") from None
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time --at knows: it takes {_WHEN_FORMS}"
        ) from None
    if moment < _EARLIEST:
        raise argparse.ArgumentTypeError(f"{text!r} is before 1970-01-01, the earliest date a journal holds")
    future = in_the_future(moment, now)
    if future is not None:
        raise argparse.ArgumentTypeError(f"{text!r} {future}")
    return moment


_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_FIRST = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _moment(text: str, value: str, now: datetime) -> datetime:
    if value in ("now", "today"):
        return now
    if value == "yesterday":
        return _noon(now.date() - timedelta(days=1), now)
    ago = _AGO.match(value)
    if ago:
        days = int(ago.group(1)) * (7 if ago.group(2).startswith("w") else 1)
        return _noon(now.date() - timedelta(days=days), now)
    if len(value) == 10:
        return _noon(date.fromisoformat(value), now)
    moment = datetime.fromisoformat(text.strip())
    return moment.astimezone() if moment.tzinfo is None else moment


def _noon(day: date, now: datetime) -> datetime:
    """Noon of ``day``, local time; now, when ``day`` is today and its noon is still ahead."""
    noon = datetime.combine(day, time(12)).astimezone()
    return now if day == now.date() and noon > now else noon


def day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def number(text: str) -> float:
    try:
        value = float(text.replace("_", ""))
    except ValueError:
        hint = " (give the unit with --unit)" if text.rstrip().endswith("%") else ""
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}{hint}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def today_utc() -> date:
    return datetime.now(UTC).date()


def refused(error: ValidationError, arguments: Mapping[str, str]) -> CommandError:
    """The client's refusal, attributed to the command-line argument that carried the bad field, and said
    with the command line's names (``--low``, ``VALUE``) when the client said what was wrong."""
    names = {"occurred_at": "--at", **arguments}
    if isinstance(error, Refusal):
        problem = error.problem
        return CommandError(problem.says(lambda field: names.get(field, field)), names.get(problem.field))
    field = (error.field or "").removeprefix("$.").removeprefix("data.")
    name = re.split(r"[.\[]", field, maxsplit=1)[0]
    return CommandError(error.message, names.get(name))

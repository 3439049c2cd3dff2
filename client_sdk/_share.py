"""``winledger share``: read-only links to your review draft, for a manager without an account.

``share create`` asks the server (``POST /v1/shares``, with the token ``winledger login`` saved) for a
link to the draft of a period, optionally of some projects (named as in every command, from the
journal), that expires; it prints the link, which the server gives this once and keeps only as a hash.
``share list`` and ``share revoke ID`` manage them. The draft is drawn by the server from what it
holds: run ``winledger sync`` first for it to see your latest captures (and redactions).
"""

from __future__ import annotations

import argparse
import re
from datetime import date
from typing import TYPE_CHECKING, Any

from client_sdk import _config
from client_sdk._cli_args import CommandError, add_command, day, open_client
from client_sdk.errors import AuthError, ConfigurationError, NotFoundError, ServerError, SyncError

if TYPE_CHECKING:
    from client_sdk._transport import Transport

_DURATION = re.compile(r"^(\d{1,6})\s*(m|min|h|d|w)$")
_SECONDS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_MAX_DAYS = 90
_OPTIONS = {"from": "--from", "to": "--to", "expires_in": "--expires", "project_ids": "--project"}


def expires(text: str) -> int:
    """``--expires``: a duration (``30m``, ``12h``, ``14d``, ``2w``), in seconds, from a minute to 90 days."""
    match = _DURATION.match(text.strip().lower())
    if match is None:
        raise argparse.ArgumentTypeError(f"expected a duration such as 12h, 14d or 2w, got {text!r}")
    seconds = int(match.group(1)) * _SECONDS[match.group(2)]
    if not 60 <= seconds <= _MAX_DAYS * 86400:
        raise argparse.ArgumentTypeError(f"a link lives from 1 minute to {_MAX_DAYS} days, got {text!r}")
    return seconds


def year(text: str) -> int:
    value = text.strip()
    if not (len(value) == 4 and value.isdigit() and 1970 <= int(value) <= 2099):
        raise argparse.ArgumentTypeError(f"expected a year written YYYY (1970 to 2099), got {text!r}")
    return int(value)


def _transport() -> tuple[str, Transport]:
    from client_sdk import _account
    from client_sdk._transport import Transport

    server, token = _config.server_url(), _config.read_token()
    if not server or not token:
        raise CommandError(
            "not signed in: run `winledger login --server URL` (or set WINLEDGER_SERVER and "
            "WINLEDGER_TOKEN); a link is made by the server, from what you synced"
        )
    options: dict[str, Any] = {"timeout": 20.0, "retries": 2, "backoff": 0.5, "max_backoff": 5.0}
    try:
        return server, Transport(server, token, transport=_account.TRANSPORT, max_retry_after=30.0, **options)
    except ConfigurationError as exc:
        raise CommandError(f"{exc} Run `winledger login --server URL` again.") from None


def _call(
    server: str, transport: Transport, method: str, path: str, body: bytes | None = None, missing: str = ""
) -> bytes:
    """The answer's body; a refusal as a ``CommandError`` naming the option at fault (``missing``: what
    a 404 means, with the argument it names)."""
    try:
        return transport.request(method, path, body).content
    except AuthError as exc:
        why = {"expired": "the token has expired", "revoked": "the token was revoked"}.get(
            exc.reason or "", "it refused the token (401)"
        )
        raise CommandError(
            f"{server}: {why}. Ask for a new token and run `winledger login --server {server}`."
        ) from None
    except ServerError as exc:
        if exc.status == 404 and missing:
            raise CommandError(missing, "ID") from None
        if exc.status == 400 and exc.detail:
            field = re.match(r"^`([a-z_]+)", exc.detail)
            raise CommandError(
                exc.detail.replace("`", ""), _OPTIONS.get(field[1]) if field else None
            ) from None
        raise CommandError(str(exc)) from None
    except SyncError as exc:
        raise CommandError(f"{exc} Nothing was changed; try again when the server answers.") from None
    finally:
        transport.close()


def _period(args: argparse.Namespace) -> tuple[date, date]:
    if args.review is None and (args.from_ is None or args.to is None):
        raise CommandError(
            "give the period: --review YEAR (e.g. --review 2026), or both --from and --to (YYYY-MM-DD)",
            "--review",
        )
    start = args.from_ or date(args.review, 1, 1)
    end = args.to or date(args.review if args.review is not None else start.year, 12, 31)
    if start > end:
        raise CommandError(f"the period starts ({start}) after it ends ({end})", "--from")
    return start, end


def _project_ids(args: argparse.Namespace) -> list[str]:
    if not args.project:
        return []
    from client_sdk._names import project_refs, resolve_project

    with open_client(args, create=False, first="capture a project first") as client:
        refs = project_refs(client._store)
        ids: list[str] = []
        for name in args.project:
            try:
                ids.append(resolve_project(name, refs))
            except NotFoundError as exc:
                raise CommandError(str(exc), "--project") from None
    return list(dict.fromkeys(ids))


def create(args: argparse.Namespace) -> int:
    import msgspec

    from schema.protocol.shares import ShareCreated, ShareRequest

    start, end = _period(args)
    project_ids = _project_ids(args)
    server, transport = _transport()
    request = ShareRequest(
        from_=start.isoformat(), to=end.isoformat(), project_ids=project_ids, expires_in=args.expires
    )
    answer = msgspec.json.decode(
        _call(server, transport, "POST", "/v1/shares", msgspec.json.encode(request)), type=ShareCreated
    )
    share = answer.share
    count = len(share.project_ids)
    scope = f"{count} project{'' if count == 1 else 's'}" if count else "every project"
    print(server + answer.path)
    print(
        f"A read-only link to your review draft, {share.from_} to {share.to} ({scope}); it works until "
        f"{share.expires_at} (UTC). Anyone holding it can read the draft: send it to your manager alone. "
        f"`winledger share revoke {share.id}` ends it sooner. It is shown this once."
    )
    return 0


def list_shares(args: argparse.Namespace) -> int:
    import msgspec

    from schema.protocol.shares import SharesResponse

    server, transport = _transport()
    answer = msgspec.json.decode(_call(server, transport, "GET", "/v1/shares"), type=SharesResponse)
    if not answer.shares:
        print("No shared links. `winledger share create --review YEAR` makes one.")
        return 0
    print(f"{'ID':<16}  {'STATE':<7}  {'PERIOD':<23}  {'PROJECTS':<8}  {'VIEWS':>5}  EXPIRES / LAST VIEWED")
    for share in answer.shares:
        projects = str(len(share.project_ids)) if share.project_ids else "all"
        viewed = f"  last viewed {share.last_viewed_at[:16]}" if share.last_viewed_at else ""
        print(
            f"{share.id:<16}  {share.state:<7}  {share.from_} to {share.to}  {projects:<8}  "
            f"{share.views:>5}  {share.expires_at[:16]}{viewed}"
        )
    return 0


def revoke(args: argparse.Namespace) -> int:
    import msgspec

    from schema.protocol.shares import SHARE_ID_PATTERN, ShareRevoked

    share_id = args.id.strip().lower()
    if not re.match(SHARE_ID_PATTERN, share_id):
        raise CommandError(
            f"a share id is 16 hex digits (`winledger share list` shows them), got {args.id!r}", "ID"
        )
    server, transport = _transport()
    missing = f"you have no share {share_id!r}; `winledger share list` shows yours"
    body = _call(server, transport, "POST", f"/v1/shares/{share_id}/revoke", missing=missing)
    share = msgspec.json.decode(body, type=ShareRevoked).share
    print(
        f"Revoked {share.id} ({share.from_} to {share.to}) at {share.revoked_at}: its link no longer opens."
    )
    return 0


def add_commands(commands: Any, store: argparse.ArgumentParser) -> None:
    share = commands.add_parser("share", help="read-only links to your review draft, for your manager")
    share.description = (
        "Make, list and revoke read-only links to your review draft. A link shows the draft of its period "
        "(and projects) and the pages of the projects it cites, drawn by the server from what you synced, "
        "to anyone who holds it, until it expires or you revoke it. Run `winledger sync` first."
    )
    actions = share.add_subparsers(dest="share_command", metavar="ACTION", required=True)
    p = add_command(actions, "create", create, "make a link and print it (shown this once)", [store])
    p.add_argument("--review", type=year, metavar="YEAR", help="the review's year: 1 January to 31 December")
    p.add_argument(
        "--from", dest="from_", type=day, metavar="YYYY-MM-DD", help="first day (default: --review's)"
    )
    p.add_argument("--to", type=day, metavar="YYYY-MM-DD", help="last day (default: 31 December)")
    p.add_argument(
        "--project",
        action="append",
        metavar="NAME",
        help="only this project (name or id; repeat for more); default: every project, and wins without one",
    )
    p.add_argument(
        "--expires", type=expires, default=14 * 86400, metavar="DURATION",
        help="how long the link works: 30m, 12h, 14d (the default), 2w; at most 90 days",
    )  # fmt: skip
    add_command(actions, "list", list_shares, "your links: state, period, views, expiry (never the link)", [])
    p = add_command(actions, "revoke", revoke, "end a link now", [])
    p.add_argument("id", metavar="ID", help="the link's id, from `winledger share list`")

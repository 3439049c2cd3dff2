"""The account's commands: ``login``, ``logout`` and ``sync``; ``add_commands`` also registers ``status``
(``client_sdk._status``) and ``review`` (``client_sdk._review``).

Only ``login`` and ``sync`` touch the network, and only they import httpx (through the client's
transport). ``review`` computes the draft offline, from the local journal, with the server's code.
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from client_sdk import _config, _owner
from client_sdk._cli_args import CommandError, add_command, open_client
from client_sdk._client import Client
from client_sdk._review import add_review
from client_sdk._status import events_phrase, status
from client_sdk._types import Account
from client_sdk.errors import (
    AccountMismatchError,
    AuthError,
    ConfigurationError,
    JournalNotFoundError,
    SyncError,
)

if TYPE_CHECKING:
    from schema.protocol import MeResponse

TRANSPORT: Any = None
"""An ``httpx.BaseTransport`` for ``login`` and ``sync`` to use instead of the network (tests set it)."""

_CHECK_TIMEOUT_S = 5.0


def login(args: argparse.Namespace) -> int:
    from schema.protocol import MeResponse  # here: a capture never pays for the wire types

    server = _server(args.server)
    token, source = _token_input(server)
    path, journal, seen_epoch = _journal_owner(args)
    checked = _check(server, token)
    if isinstance(checked, MeResponse):
        offered = Account(server=server, user=checked.user, user_id=checked.user_id)
        if journal is not None:
            reason = _owner.conflict(journal, offered, epoch=checked.epoch, seen_epoch=seen_epoch)
            if reason is not None:
                raise CommandError(
                    f"{_mismatch(path, journal, offered, reason)} Nothing was saved. "
                    + _ways_forward(journal, offered, login=True),
                    # The token is at fault, and it is no argument: --store is named only when given.
                    "--server" if reason == "server" else ("--store" if args.store else None),
                )
    elif journal is not None and not _owner.same_server(journal.server, server):
        raise CommandError(
            f"the journal {path} belongs to {journal}, and {server} could not be reached to check "
            f"that it is the same server ({checked}). Nothing was saved: sign in when it answers, or "
            "keep a new journal for it (`--store NEW.db`).",
            "--server",
        )
    settings = _config.load_settings()
    settings["server"] = server
    settings_path = _config.save_settings(settings)
    token_path = _config.save_token(token)
    if isinstance(checked, MeResponse):
        print(f"Signed in to {server} as {checked.user} with the token from {source}.")
    else:
        unchecked = checked
        print(
            f"Could not reach {server} to check the token ({unchecked}); saved it anyway: "
            "`winledger sync` will use it once the server answers."
        )
    print(f"Settings: {settings_path}; token: {token_path} (readable only by you).")
    return 0


def _server(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CommandError(f"expected an http:// or https:// URL, got {url!r}", "--server")
    return url.strip().rstrip("/")


def _token_input(server: str) -> tuple[str, str]:
    if os.environ.get("WINLEDGER_TOKEN"):
        token, source = os.environ["WINLEDGER_TOKEN"], "$WINLEDGER_TOKEN"
    elif sys.stdin.isatty():
        token, source = (
            getpass.getpass(f"Token for {server} (from `winledger admin create-token`): "),
            "the prompt",
        )
    else:
        token, source = sys.stdin.readline(), "standard input"
    token = token.strip()
    if not token:
        raise CommandError(f"no token on {source}; paste the wl_... token that the server's admin gave you")
    from schema.protocol.constants import TOKEN_FORMAT  # here: a capture never loads the wire types

    if not re.fullmatch(TOKEN_FORMAT, token):
        # Never echo it: it may be a real secret pasted in the wrong place.
        raise CommandError(
            f"the token on {source} is not a winledger token (wl_, 16 hex digits, _, 64 hex digits)"
        )
    return token, source


def _journal_owner(args: argparse.Namespace) -> tuple[Path, Account | None, str | None]:
    """The journal's path, the account it belongs to and the epoch it last saw, creating nothing."""
    path = _config.store_path(args.store, create=False)
    try:
        with Client(path, create=False) as client:
            return path, client.account, client.status().epoch
    except JournalNotFoundError:
        return path, None, None


def _mismatch(path: Path, journal: Account, offered: Account, reason: str) -> str:
    """The sentence naming both accounts (``client_sdk._owner.conflict``'s ``reason``)."""
    if reason == "user":
        return (
            f"the journal {path} belongs to {journal}, and this token signs in as {offered}: syncing "
            f"it would copy {journal.user}'s events into {offered.user}'s account."
        )
    if reason == "user_id":
        return (
            f"the journal {path} belongs to {journal}, and this token signs in as {offered}: "
            f"{journal.user}'s account was erased and the name given to a new user."
        )
    return (
        f"the journal {path} belongs to {journal}, and {offered.server} is another server (it is not "
        f"the store the journal last synced with): syncing it would copy {journal.user}'s events there."
    )


def _ways_forward(journal: Account, offered: Account, *, login: bool) -> str:
    new_journal = (
        f"`winledger login --server {offered.server} --store NEW.db`"
        if login
        else "`winledger sync --store NEW.db`"
    )
    return (
        f"To keep using this journal, sign in with a token of {journal.user}'s "
        f"(`winledger login --server {journal.server}`). To use {offered.user}'s account, keep a new "
        f"journal for it: {new_journal}, then give `--store NEW.db` (or set WINLEDGER_STORE) to every "
        f"command; its first sync pulls {offered.user}'s events."
    )


def _check(server: str, token: str) -> MeResponse | str:
    """The token's account when the server accepts it, else why it could not be asked; raises on a
    refusal."""
    import httpx

    from client_sdk._transport import refusal
    from schema.protocol import JSON

    headers = {"Authorization": f"Bearer {token}", "Accept": JSON}
    try:
        with httpx.Client(transport=TRANSPORT, timeout=_CHECK_TIMEOUT_S) as http:
            response = http.get(f"{server}/v1/me", headers=headers)
    except httpx.TransportError as exc:
        return str(exc) or type(exc).__name__
    if response.status_code == 401:
        ended = {"expired": "this token has expired", "revoked": "this token was revoked"}.get(
            refusal(response).reason or "", ""
        )
        if ended:
            raise CommandError(f"{server}: {ended}; ask for a new one. Nothing was saved.")
        raise CommandError(
            f"{server} refused this token (401 unauthorized): it is mistyped, revoked or for another "
            "server. Nothing was saved."
        )
    if response.status_code >= 500:
        return f"it answered {response.status_code}"
    me = _account_of(response.content) if response.status_code == 200 else None
    if me is None:
        raise CommandError(
            f"{server} answered {response.status_code} to GET /v1/me, but not as a winledger server "
            "does: is the URL right? (A winledger server older than this client does not answer it "
            "either.) Nothing was saved.",
            "--server",
        )
    return me


def _account_of(body: bytes) -> MeResponse | None:
    import msgspec

    from schema.protocol import MeResponse

    try:
        return msgspec.json.decode(body, type=MeResponse)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def logout(args: argparse.Namespace) -> int:
    path = _config.token_path()
    if _config.remove_token():
        print(f"Signed out: removed {path}. The journal and its pending events stay.")
    else:
        print(f"Not signed in: there is no {path}.")
    if os.environ.get("WINLEDGER_TOKEN"):
        print("Note: $WINLEDGER_TOKEN is set and still signs you in; unset it too.")
    return 0


def sync(args: argparse.Namespace) -> int:
    server, token = _config.server_url(), _config.read_token()
    # Two quick retries: someone at a terminal would rather run it again than wait half a minute.
    options: dict[str, Any] = {"timeout": 20.0, "retries": 2}
    with open_client(args, server=server, token=token, transport=TRANSPORT, **options) as client:
        try:
            report = client.sync()
        except ConfigurationError as exc:
            if server and token:  # signed in, but the saved URL is unusable
                raise CommandError(f"{exc} Run `winledger login --server URL` again.") from None
            raise CommandError(
                "not signed in: run `winledger login --server URL` (or set WINLEDGER_SERVER and "
                "WINLEDGER_TOKEN). Everything you captured stays in the journal."
            ) from None
        except AccountMismatchError as exc:
            raise CommandError(
                f"{_mismatch(Path(exc.path), exc.journal, exc.offered, exc.reason)} Nothing was synced. "
                + _ways_forward(exc.journal, exc.offered, login=False)
            ) from None
        except AuthError as exc:
            why = {"expired": "the token has expired", "revoked": "the token was revoked"}.get(
                exc.reason or "", "it refused the token (401)"
            )
            raise CommandError(
                f"{server}: {why}. Ask for a new token and run `winledger login --server {server}`. "
                f"{events_phrase(client.status().pending, 'pending')} kept."
            ) from None
        except SyncError as exc:
            pending = client.status().pending
            raise CommandError(
                f"{exc} {events_phrase(pending, 'pending')} kept; run `winledger sync` later."
            ) from None
        pending = client.status().pending
    print(
        f"Synced with {server}: pushed {report.pushed} ({report.accepted} new), pulled {report.pulled}, "
        f"{pending or 'nothing'} pending."
    )
    if report.new_epoch:
        print(
            f"The server's data was restored or recreated; {events_phrase(report.requeued)} it had lost "
            "went back."
        )
    elif report.epoch_changed:
        print(
            "The server's log differed from what this journal had seen it hold (restored by hand?), so "
            f"everything was checked again; {events_phrase(report.requeued)} it lacked went back."
        )
    if report.rejected:
        print(
            f"{events_phrase(report.rejected)} refused by the server: see `winledger status`.",
            file=sys.stderr,
        )
    if report.deferred:
        print(
            f"{events_phrase(report.deferred)} left pending: the server is older than this client.",
            file=sys.stderr,
        )
    return 0


def add_commands(commands: Any, store: argparse.ArgumentParser) -> None:
    p = add_command(
        commands, "login", login, "save the server URL and your token (read from a prompt)", [store]
    )
    p.add_argument("--server", required=True, metavar="URL", help="the server, e.g. https://wins.example")
    p.description = (
        "Save the server URL and a token for `winledger sync`. The token is read from a hidden prompt, "
        "or from standard input when it is not a terminal (`winledger login --server URL < token.txt`), "
        "or from $WINLEDGER_TOKEN; never from the command line, where shell history would keep it. "
        "It is checked against the server when the server answers, and kept in a file only you can read. "
        "A journal belongs to the account of its first sync: a token of another account, or another "
        "server, is refused for a journal that has synced (--store names the journal)."
    )
    add_command(commands, "logout", logout, "remove the saved token (the journal stays)", [])
    add_command(
        commands, "sync", sync, "push what you captured and pull what your other devices did", [store]
    )
    add_command(
        commands, "status", status, "pending and rejected events, last sync, device and server", [store]
    )
    add_review(commands, store)

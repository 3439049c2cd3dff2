"""Whose journal it is: a journal belongs to the server and account of its first sync.

The server says whose a token is (``account`` in ``GET /v1/info``, ``GET /v1/me``). The first sync
records it in the store, with the server's URL; every later sync compares before anything else, and
``winledger login`` does before it saves a token (docs/protocol.md, section 6.6). Without it, a
token of another account would pull that account's events into the journal, find the two sets
different, take that for a restored server and push every event of the journal into the other
account: the privacy failure this module exists to prevent.
"""

from __future__ import annotations

import sqlite3
from typing import Literal
from urllib.parse import urlsplit

from client_sdk._store import read_account, write_account
from client_sdk._types import Account
from client_sdk.errors import AccountMismatchError

Reason = Literal["user", "user_id", "server"]


def same_server(a: str, b: str) -> bool:
    """The same URL, up to the case of the scheme and host and a trailing slash."""
    x, y = urlsplit(a.strip()), urlsplit(b.strip())
    return (x.scheme.lower(), x.netloc.lower(), x.path.rstrip("/")) == (
        y.scheme.lower(),
        y.netloc.lower(),
        y.path.rstrip("/"),
    )


def conflict(
    journal: Account, offered: Account, *, epoch: str | None, seen_epoch: str | None
) -> Reason | None:
    """Why a token that signs in as ``offered`` must not sync a journal of ``journal``, else ``None``.

    ``epoch`` is the server's now, ``seen_epoch`` the one the journal last saw. In the same epoch
    the store is the same, so a user id that changed means the name was given to a new user, and
    another URL is the same server under a new address. After a restore or a re-creation (another
    epoch) ids may change, and the same user name at the same URL is the journal's account.
    """
    same_epoch = epoch is not None and epoch == seen_epoch
    if offered.user != journal.user:
        return "user"
    if offered.user_id != journal.user_id and same_epoch:
        return "user_id"
    if not same_server(offered.server, journal.server) and not same_epoch:
        return "server"
    return None


def refusal(path: str, journal: Account, offered: Account, reason: Reason) -> AccountMismatchError:
    """The error, with the sentence that names both accounts."""
    if reason == "user":
        what = (
            f"the token signs in as {offered}; syncing would copy {journal.user}'s events into "
            f"{offered.user}'s account"
        )
    elif reason == "user_id":
        what = (
            f"{offered.user} at {offered.server} is now user {offered.user_id}: the journal's user was "
            "erased and the name given to a new user"
        )
    else:
        what = (
            f"{offered.server} is another server (another URL, and not the store the journal last "
            f"saw); syncing would copy {journal.user}'s events to it"
        )
    return AccountMismatchError(
        f"The journal {path!r} belongs to {journal}, but {what}. Nothing was synced: use a token of "
        f"{journal.user} at {journal.server}, or another journal (a new path) for {offered.user} at "
        f"{offered.server}.",
        journal=journal,
        offered=offered,
        reason=reason,
        path=path,
    )


def claim(conn: sqlite3.Connection, path: str, offered: Account, epoch: str | None) -> None:
    """In the sync's first transaction: record the journal's account, or refuse another.

    Runs before the server's epoch is observed, so ``meta.epoch`` is still the one last seen.
    Raises ``AccountMismatchError`` (and the caller's transaction rolls back: nothing changes).
    """
    journal = read_account(conn)
    if journal is None:  # the first sync (or the first since the store had an account table)
        write_account(conn, offered)
        return
    row = conn.execute("SELECT value FROM meta WHERE key = 'epoch'").fetchone()
    seen_epoch = None if row is None else row[0]
    reason = conflict(journal, offered, epoch=epoch, seen_epoch=seen_epoch)
    if reason is not None:
        raise refusal(path, journal, offered, reason)
    if offered != journal:  # a new address of the same store, or a new id after a restore
        write_account(conn, offered)

"""Restoring the server's store from a backup: the backup's data under a new epoch.

A restored store goes back in time. Events acknowledged after the backup are
gone, and the seqs after the backup's newest will be given again to other
events. A new epoch is what tells every client so: on seeing it, a client pulls
from 0 and pushes back every event the store lacks (docs/protocol.md, section 9;
ADR 0005). A restore that keeps the old epoch leaves clients to notice by
``cursor_ahead`` or by the digest, and some never do.

Projection leases are dropped too: the processes that held them in the backup
are not running, and the restored server's projector would otherwise wait for
them to expire before it projects anyone.

SQLite only, the embedded default. On another database, restore with its own
tools, then do what ``restore_sqlite`` does after the copy, in one transaction.
"""

from __future__ import annotations

import contextlib
import sqlite3
import uuid
from os import PathLike


def backup_sqlite(source: str | PathLike[str], backup: str | PathLike[str]) -> None:
    """A consistent copy of a live SQLite store (SQLite's online backup; servers may keep writing)."""
    with (
        contextlib.closing(sqlite3.connect(source)) as live,
        contextlib.closing(sqlite3.connect(backup)) as copy,
    ):
        live.backup(copy)


def restore_sqlite(backup: str | PathLike[str], target: str | PathLike[str]) -> str:
    """Replace the SQLite store ``target`` with ``backup`` and give it a new epoch; return the epoch.

    No server may be running on ``target``. The copy goes through SQLite's
    backup API, so the target's write-ahead log cannot resurrect newer pages.
    """
    with (
        contextlib.closing(sqlite3.connect(backup)) as source,
        contextlib.closing(sqlite3.connect(target)) as restored,
    ):
        source.backup(restored)
        epoch = str(uuid.uuid4())
        with restored:  # one transaction
            restored.execute("DELETE FROM winledger_meta WHERE key = 'epoch'")
            restored.execute("INSERT INTO winledger_meta (key, value) VALUES ('epoch', ?)", (epoch,))
            restored.execute("DELETE FROM projection_leases")
    return epoch

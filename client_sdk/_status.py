"""``winledger status``: the journal, its account and device, the last sync and what is pending or refused."""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime

from client_sdk import _config
from client_sdk._cli_args import CommandError, open_client
from client_sdk._names import describe
from client_sdk._nudge import nudges_text
from client_sdk._types import Status

__all__ = ["events_phrase", "status"]


def status(args: argparse.Namespace) -> int:
    server = _config.server_url()
    token = "$WINLEDGER_TOKEN" if os.environ.get("WINLEDGER_TOKEN") else None
    if token is None and _config.token_path().exists():
        token = str(_config.token_path())
    sign_in = f"token from {token}" if token else "no token: run `winledger login --server URL`"
    server_line = f"Server:     {server or 'none: run `winledger login --server URL`'}" + (
        f" ({sign_in})" if server else ""
    )
    try:
        client = open_client(args, create=False)
    except CommandError as exc:  # no journal there: say so, and create nothing
        print(f"Journal:    none: {str(exc).removeprefix('argument --store: ')}\n{server_line}")
        return 0
    with client:
        state = client.status()
        pending = [e for e in client.events() if e.status == "pending"]
        rejected = client.rejected()
        found = client.nudges()
    owner = state.account
    lines = [
        f"Journal:    {state.path}",
        f"Account:    {owner if owner else 'none yet: the first sync records it'}",
        f"Device:     {state.device_id}",
        server_line,
        f"Last sync:  {_ago(state.last_sync) if state.last_sync else 'never'}",
        *_failure(state),
        f"Events:     {state.pending} pending, {state.synced} synced, {state.rejected} rejected"
        + (f", {state.unconfirmed} being checked again" if state.unconfirmed else ""),
    ]
    if pending:
        lines.append("Pending:")
        lines += [f"  {e.id}  {e.type:<17}  {describe(e)}" + _why(e.code, e.message) for e in pending[:10]]
        if len(pending) > 10:
            lines.append(f"  ... and {len(pending) - 10} more")
    if rejected:
        lines.append("Rejected (kept, never pushed again):")
        lines += [f"  {e.id}  {e.type:<17}  {describe(e)}" + _why(e.code, e.message) for e in rejected]
    lines += ["", nudges_text(found)]  # what to capture next, as `winledger nudge` lists it
    print("\n".join(lines))
    return 0


def _failure(state: Status) -> list[str]:
    """The line about the latest sync, when it failed."""
    if state.sync_error_code is None or state.sync_error_at is None:
        return []
    when = _ago(state.sync_error_at)
    action = {
        "token_expired": "the token has expired: ask for a new one and run `winledger login`",
        "token_revoked": "the token was revoked: ask for a new one and run `winledger login`",
        "unauthorized": "the server refused the token: run `winledger login` with a valid one",
    }.get(state.sync_error_code)
    return [f"Sync failed: {when}: {action or state.sync_error}"]


def events_phrase(count: int, adjective: str = "") -> str:
    """``1 event`` / ``3 pending events``."""
    return f"{count} {adjective + ' ' if adjective else ''}event{'' if count == 1 else 's'}"


def _why(code: str | None, message: str | None) -> str:
    return f"\n      {code}: {message}" if code else ""


def _ago(moment: datetime) -> str:
    minutes = int((datetime.now(UTC) - moment).total_seconds() // 60)
    if minutes < 1:
        return f"{moment:%Y-%m-%d %H:%M} UTC (just now)"
    if minutes < 120:
        return f"{moment:%Y-%m-%d %H:%M} UTC ({minutes} min ago)"
    return f"{moment:%Y-%m-%d %H:%M} UTC ({minutes // 60} h ago)"

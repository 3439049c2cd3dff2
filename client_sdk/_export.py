"""``winledger export``: the local journal as the NDJSON of ``GET /v1/export`` (``schema.protocol``), offline.

Every event the store holds (synced ones by seq, then the rest in canonical
order, with their ``status``), then the read models folded on this device,
then the ``end`` line. Events the server refused for good are not in it:
``winledger status`` lists them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import msgspec

import schema
from client_sdk._cli_args import CommandError, add_command, open_client
from client_sdk._store import Store, utc_now
from schema.protocol.export import (
    EXPORT_FORMAT,
    ExportedEvent,
    ExportedModel,
    ExportEnd,
    ExportHeader,
    export_line,
)


def export_lines(store: Store) -> Iterator[bytes]:
    from schema.projections import PROJECTION_VERSION, build_models

    yield export_line(
        ExportHeader(
            format=EXPORT_FORMAT,
            source="device",
            exported_at=utc_now(),
            epoch=store.get("epoch"),
            device_id=store.device_id,
        )
    )
    count, total = 0, 0
    with store.snapshot() as conn:
        rows = conn.execute(
            "SELECT body, seq, state, hash FROM events "
            "ORDER BY seq IS NULL, seq, clock, device_id, device_seq"
        )
        for body, seq, state, hash_hex in rows:
            yield export_line(
                ExportedEvent(seq=seq, received_at=None, status=state, event=msgspec.Raw(bytes(body)))
            )
            count += 1
            total += int(hash_hex, 16)
    models = build_models(store.bodies())
    keys = sorted(models, key=lambda key: key or "")
    for key in keys:
        yield export_line(
            ExportedModel(
                project_id=key,
                as_of_seq=store.cursor,
                projection_version=PROJECTION_VERSION,
                model=models[key],
            )
        )
    yield export_line(ExportEnd(count=count, digest=schema.digest_of([total]), read_models=len(keys)))


def export(args: argparse.Namespace) -> int:
    client = open_client(args, create=False)  # it only reads: a missing journal is not made
    try:
        store: Store = client._store
        if args.output is None:
            _write(store, sys.stdout.buffer)
            return 0
        target = Path(args.output)
        if not target.parent.is_dir():
            raise CommandError(f"the folder of {str(target)!r} does not exist", "--output")
        partial = target.with_name(target.name + ".partial")
        try:
            with partial.open("wb") as out:
                count = _write(store, out)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
        print(
            f"Exported {count:,} event{'s' * (count != 1)} and the read models to {target}", file=sys.stderr
        )
        return 0
    finally:
        client.close()


def _write(store: Store, out: BinaryIO) -> int:
    events = 0
    for line in export_lines(store):
        out.write(line)
        events += line.startswith(b'{"kind":"event"')
    out.flush()
    return events


def add_commands(commands: Any, store: argparse.ArgumentParser) -> None:
    p = add_command(
        commands,
        "export",
        export,
        "write your whole journal (events, then read models) as NDJSON, offline",
        [store],
    )
    p.description = (
        "Write every event this device holds, then the read models folded from them, one JSON object per "
        "line, in the format of the server's GET /v1/export (docs/protocol.md, section 13). Works offline."
    )
    p.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of standard output")

"""What a Python device's journal holds, as JSON on standard output, for the mixed-fleet tests.

    python pydevice.py STORE

Opens the journal with client_sdk's public ``Client`` (no network) and prints its device id, the
ids of its synced, pending and rejected events, and the count and digest (docs/protocol.md section
8) of its synced events, computed from their nine client fields with the schema's own hash.
"""

from __future__ import annotations

import json
import sys

from client_sdk import Client
from schema.canonical import digest_of, event_hash, format_timestamp


def main(store: str) -> int:
    with Client(store, create=False) as client:
        events = client.events(include_unreadable=True)
        synced = [event for event in events if event.status == "synced"]
        hashes = [
            event_hash(
                {
                    "id": event.id,
                    "device_id": event.device_id,
                    "device_seq": event.device_seq,
                    "clock": event.clock,
                    "occurred_at": format_timestamp(event.occurred_at),
                    "type": event.type,
                    "v": event.v,
                    "project_id": event.project_id,
                    "data": event.data,
                }
            )
            for event in synced
        ]
        print(
            json.dumps(
                {
                    "device_id": client.device_id,
                    "synced": sorted(event.id for event in synced),
                    "pending": sorted(event.id for event in events if event.status == "pending"),
                    "rejected": sorted(event.id for event in client.rejected()),
                    "count": len(synced),
                    "digest": digest_of(hashes),
                    "texts": sorted(
                        str(event.data["text"]) for event in events if event.type == "win.captured"
                    ),
                }
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

"""``winledger serve`` as a server older than the client: the same code, with a narrower schema.

    python older_server.py --without-type event.redacted --without-version metric.observed:2 \
        serve --db URL --port N --projector inline

A server from before ``event.redacted`` answers ``unknown_type`` for it, and one from before
``metric.observed`` version 2 answers ``unsupported_version`` (docs/protocol.md 10.5). This process is
a real ``winledger serve`` (uvicorn, a real SQLite file) whose schema lacks those entries, the way
tests/client_sdk/test_unknown_types.py makes an older server in process: the entries are removed
from ``schema.events.EVENT_TYPES`` (which ``/v1/info`` lists and validation consults) before serving.
Run it with ``--projector inline`` so that no process with the full schema folds beside it.
"""

from __future__ import annotations

import sys
from typing import Any, Union

import msgspec


def narrow_schema(types: list[str], versions: list[tuple[str, int]]) -> None:
    import schema
    from schema import events, validation

    for name in types:
        del events.EVENT_TYPES[name]
        schema.CURRENT_VERSIONS.pop(name, None)
    for name, version in versions:
        del events.EVENT_TYPES[name][version]
        schema.CURRENT_VERSIONS[name] = max(events.EVENT_TYPES[name])
    for key in list(validation._event_decoders):
        _, name, version = key
        if version not in events.EVENT_TYPES.get(name, {}):
            del validation._event_decoders[key]
    # The fast path decodes every type at version 1 in one union: rebuild it without the removed ones.
    firsts: tuple[Any, ...] = tuple(v[1] for v in events.EVENT_TYPES.values() if 1 in v)
    validation._first_versions = msgspec.json.Decoder(Union[firsts])  # noqa: UP007


def main(argv: list[str]) -> int:
    types: list[str] = []
    versions: list[tuple[str, int]] = []
    while argv and argv[0] in ("--without-type", "--without-version"):
        flag, value, argv = argv[0], argv[1], argv[2:]
        if flag == "--without-type":
            types.append(value)
        else:
            name, _, version = value.rpartition(":")
            versions.append((name, int(version)))
    narrow_schema(types, versions)
    from client_sdk.cli import main as cli_main

    return int(cli_main(argv) or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

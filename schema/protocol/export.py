"""The export stream: a user's whole journal as NDJSON, one JSON object per line, told apart by ``kind``.

The server (``GET /v1/export``) and the client (``winledger export``) write the
same lines, in this order::

    {"kind": "export", ...}          one header: format version, epoch, where it came from
    {"kind": "event", ...}           one per event: the nine client fields under "event", plus seq
    {"kind": "read_model", ...}      one per project model (and one for notes without a project)
    {"kind": "end", ...}             the count and digest of the events above

The ``end`` line comes last and only after everything else was written: a
stream without it was cut short. Each ``event`` line's ``event`` is exactly
what ``POST /v1/events`` takes back, so an export can be replayed into an
empty server by ordinary pushes.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

EXPORT_FORMAT = 1


class ExportHeader(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag_field="kind", tag="export"
):
    format: int
    """The version of this stream's layout (``EXPORT_FORMAT``)."""
    source: Literal["server", "device"]
    """``server``: ``GET /v1/export``; ``device``: a client's local journal (``winledger export``)."""
    exported_at: str
    epoch: str | None
    """The server store's epoch the seqs below belong to (``None``: a device that never synced)."""
    device_id: str | None = None
    """The exporting device (``source`` ``device`` only)."""


class ExportedEvent(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag_field="kind", tag="event"
):
    seq: int | None
    """Position in the user's log (``None`` on a device: not yet confirmed by the server)."""
    received_at: str | None
    """When the server stored it (``None`` on a device)."""
    status: str | None = None
    """On a device: ``synced``, ``pending``, ``unconfirmed`` or ``rejected``; absent from a server."""
    event: Any
    """The nine client fields in normalized form, as pushed and pulled (``msgspec.Raw`` when writing)."""


class ExportedModel(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind", tag="read_model"):
    project_id: str | None
    """The project, or ``None`` for wins and learnings captured without a project."""
    as_of_seq: int
    projection_version: int
    model: Any
    """A ``ProjectModel``: the timeline and metric chains the read-model routes show."""


class ExportEnd(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind", tag="end"):
    count: int
    """Event lines above."""
    digest: str
    """The digest (protocol section 8) of the events above."""
    read_models: int
    """Read-model lines above."""


ExportLine = ExportHeader | ExportedEvent | ExportedModel | ExportEnd

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(ExportLine)


def export_line(line: ExportLine) -> bytes:
    """One line of the stream, with its newline."""
    return _encoder.encode(line) + b"\n"


def read_export_line(raw: bytes | str) -> ExportLine:
    """Parse one line of an export; ``msgspec.ValidationError`` names what is wrong with it."""
    line: ExportLine = _decoder.decode(raw)
    return line

"""Stored event bodies as the projections read them. Pure: no I/O.

A retraction or a redaction names another event (``data.target``) and is folded into no project:
it re-folds its target's project instead (a redaction rewrote its target's body in the log, ADR 0007).
"""

from __future__ import annotations

from typing import Any, Union

import msgspec

from schema.events import EVENT_TYPES, Envelope
from schema.events import TARGETING as TARGETING  # the projector, the rebuild and the trackers read it here
from schema.upcast import read_event

RETRACTED, REDACTED = TARGETING
"""The types that name another event (``data.target``) re-fold its project and are folded into none."""

_event_decoder = msgspec.json.Decoder(dict[str, Any])
_CURRENT = {name: max(versions) for name, versions in EVENT_TYPES.items()}
_typed_decoder = msgspec.json.Decoder(
    Union[tuple(versions[max(versions)] for versions in EVENT_TYPES.values())]  # noqa: UP007
)
READS_AS_IS = frozenset({("metric.observed", 1)})
"""Older versions whose body decodes into the current Struct as it is: their upcasters
(``schema.upcast``) change nothing but ``v`` (version 2 of ``metric.observed`` only adds to version 1).
Such an event is read by the typed decode with its ``v`` raised, as ``read_event`` reads it
(tests/server/test_projection_bodies.py holds the two equal)."""


def decode_event(body: bytes) -> dict[str, Any]:
    return _event_decoder.decode(body)


def read_body(body: bytes) -> Envelope | None:
    """A stored event as the projections read it (``schema.upcast.read_event`` of its fields), or ``None``.

    Decoded straight into the current Struct of its type when it is at the current version (several
    times faster than a dict and then ``msgspec.convert``); anything else takes the upcasting path.
    """
    try:
        event: Envelope = _typed_decoder.decode(body)
    except msgspec.MsgspecError:
        pass
    else:
        kind = event_type_of(event)
        current = _CURRENT[kind]
        if event.v == current:
            return event
        if (kind, event.v) in READS_AS_IS:
            return msgspec.structs.replace(event, v=current)
    try:
        return read_event(decode_event(body))
    except Exception:  # as the projections do: an event this code cannot read is skipped
        return None


def event_type_of(event: Envelope) -> str:
    return str(type(event).__struct_config__.tag)


def retraction_target(event: dict[str, Any]) -> str | None:
    data = event.get("data")
    target = data.get("target") if isinstance(data, dict) else None
    return target if isinstance(target, str) else None

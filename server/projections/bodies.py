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
        if event.v == _CURRENT[event_type_of(event)]:
            return event
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

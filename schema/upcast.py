"""Upcasters: reading old event versions as the current one, at read time only.

Stored events are never rewritten, and a pull returns them exactly as pushed.
Where events are read into read models, each one passes through a chain of
upcasters ``v1 -> v2 -> ...`` over its plain data (before typed decoding), up
to the current version of its type. An event of a type or of a version newer
than this code knows is skipped (``None``), never an error: it came from a
newer replica, and a newer reader will understand it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from schema.events import EVENT_TYPES, Envelope

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
"""Takes an event's nine fields at version v and returns them at version v + 1."""


class Upcasters:
    """A registry of upcasters for one set of event types."""

    def __init__(self, types: Mapping[str, Mapping[int, type[Envelope]]] = EVENT_TYPES) -> None:
        self._types = types
        self._steps: dict[tuple[str, int], Upcaster] = {}

    def register(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorator: register the step from ``from_version`` to ``from_version + 1``."""
        if from_version + 1 not in self._types.get(event_type, {}):
            raise ValueError(f"{event_type!r} has no version {from_version + 1} to upcast to")

        def decorate(step: Upcaster) -> Upcaster:
            self._steps[(event_type, from_version)] = step
            return step

        return decorate

    def upcast(self, fields: dict[str, Any]) -> dict[str, Any] | None:
        """The event's fields at the current version of its type, or ``None`` if unknown."""
        versions = self._types.get(fields.get("type"))  # type: ignore[arg-type]
        version = fields.get("v")
        if versions is None or not isinstance(version, int) or version not in versions:
            return None
        current = max(versions)
        if version < current:
            # Steps may edit what they are given; the caller's event must stay as stored.
            fields = copy.deepcopy(fields)
        while version < current:
            step = self._steps.get((fields["type"], version))
            if step is None:
                raise LookupError(f"No upcaster from version {version} of {fields['type']!r}")
            fields = step(fields)
            version += 1
            fields["v"] = version
        return fields

    def read(self, fields: dict[str, Any]) -> Envelope | None:
        """Upcast, then decode into the current version's Struct; ``None`` if unknown."""
        current = self.upcast(fields)
        if current is None:
            return None
        struct = self._types[current["type"]][current["v"]]
        return msgspec.convert(current, struct)


UPCASTERS = Upcasters()
"""The registry the projections use: one step per type and version below the current one.

Every type is at version 1 except ``metric.observed``, at version 2 (``measure``, and ``direction``
``none``); its version 1 reads as a version 2 ``level``.
"""


@UPCASTERS.register("metric.observed", 1)
def _metric_observed_v1_to_v2(fields: dict[str, Any]) -> dict[str, Any]:
    """A version 1 metric is a level, with its direction: its data carries over as it is.

    Version 2 only adds to version 1 (``measure``, whose default is ``level``, and the ``direction``
    ``none``, which version 1 cannot hold), so every version 1 payload is a valid version 2 one.
    """
    return fields


def read_event(fields: dict[str, Any]) -> Envelope | None:
    """Read one stored event (plain data) into the current typed event, or ``None`` to skip it."""
    return UPCASTERS.read(fields)

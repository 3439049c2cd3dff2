"""Finding a project by its name (or id) and an event by a piece of its id, from the local store.

Names follow the read models' rules (the first ``project.started`` of a project in canonical order
names it, each later ``project.updated`` may rename it, retracted events count for nothing) without
folding the read models: a capture from the terminal must stay fast.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from msgspec import Struct

from client_sdk._store import Store
from client_sdk._types import Event
from client_sdk.errors import NotFoundError

_MIN_FRAGMENT = 4
_NAMING = ("project.started", "project.updated", "event.retracted")


class ProjectRef(Struct, frozen=True, kw_only=True):
    id: str
    name: str | None
    kind: str | None

    def line(self) -> str:
        return f"  {self.name or '(name not synced yet)'}  {self.id}  {self.kind or '?'}"


def visible(events: Sequence[Event]) -> list[Event]:
    """The events that count: retractions and the events they retract left out."""
    retractions = {e.id for e in events if e.type == "event.retracted"}
    retracted = {
        e.data.get("target")
        for e in events
        if e.type == "event.retracted" and e.data.get("target") not in retractions
    }
    return [e for e in events if e.id not in retractions and e.id not in retracted]


def folded(name: str | None) -> str:
    """A project's name as a person compares it: "Churn " and "churn" are one name."""
    return " ".join((name or "").split()).casefold()


def named_like(name: str, refs: Iterable[ProjectRef]) -> ProjectRef | None:
    """The project that already has ``name``, to a person (any case, any spacing), if one does."""
    wanted = folded(name)
    return next((r for r in refs if wanted and folded(r.name) == wanted), None)


def project_refs(store: Store) -> list[ProjectRef]:
    """Every project of the store with its current name and kind, from the few events that name them."""
    events = visible(store.events(None, False, _NAMING))  # in canonical order
    names: dict[str, dict[str, str | None]] = {}
    for event in events:
        if event.type == "project.started" and event.project_id and event.project_id not in names:
            names[event.project_id] = {"name": event.data.get("name"), "kind": event.data.get("kind")}
    for project_id in store.project_ids():  # projects whose start has not reached this store yet
        names.setdefault(project_id, {"name": None, "kind": None})
    for event in events:
        if event.type == "project.updated" and event.project_id in names:
            changes = {key: event.data[key] for key in ("name", "kind") if event.data.get(key) is not None}
            names[event.project_id].update(changes)
    return [ProjectRef(id=pid, name=h["name"], kind=h["kind"]) for pid, h in names.items()]


def resolve_project(query: str, refs: Iterable[ProjectRef]) -> str:
    """The id of the project ``query`` names: an id, an exact name, a name in any case, an id prefix.

    Raises ``NotFoundError`` naming the close matches when no project or several projects fit.
    """
    refs = list(refs)
    wanted = query.strip()
    folded = wanted.casefold()
    rules = (
        [r for r in refs if r.id == wanted.lower()],
        [r for r in refs if r.name == wanted],
        [r for r in refs if r.name is not None and r.name.casefold() == folded],
        [r for r in refs if len(wanted) >= _MIN_FRAGMENT and r.id.startswith(wanted.lower())],
    )
    for found in rules:
        if len(found) == 1:
            return found[0].id
        if found:
            listing = "\n".join(r.line() for r in found)
            raise NotFoundError(
                f"{query!r} fits {len(found)} projects:\n{listing}\nUse the id, or enough of its start."
            )
    raise NotFoundError(f"No project named {query!r} in this journal.{_suggestions(wanted, refs)}")


def _suggestions(wanted: str, refs: list[ProjectRef]) -> str:
    folded = wanted.casefold()
    by_name = {r.name.casefold(): r for r in refs if r.name is not None}
    close = difflib.get_close_matches(folded, list(by_name), n=5, cutoff=0.6)
    close += [name for name in by_name if folded and folded in name and name not in close]
    if close:
        listing = "\n".join(by_name[name].line() for name in close[:5])
        return f" Close matches:\n{listing}"
    if refs:
        return " `winledger project list` shows them all."
    return " Start one with `winledger project start NAME --kind KIND`."


def resolve_event(query: str, events: Sequence[Event]) -> str:
    """The id of the event whose id is ``query``, or starts or ends with it (review drafts cite the end)."""
    wanted = query.strip().lower()
    if any(e.id == wanted for e in events) or (len(wanted) == 36 and wanted.count("-") == 4):
        return wanted  # a full id; it may belong to an event not pulled here yet
    if len(wanted) < _MIN_FRAGMENT:
        raise NotFoundError(
            f"{query!r} is too short to find an event: give at least {_MIN_FRAGMENT} characters."
        )
    found = [e for e in events if e.id.startswith(wanted) or e.id.endswith(wanted)]
    if len(found) == 1:
        return found[0].id
    if not found:
        raise NotFoundError(f"No event of this journal has an id starting or ending with {query!r}.")
    listing = "\n".join(f"  {e.id}  {e.type}  {describe(e)}" for e in found[:10])
    if len(found) > 10:
        listing += f"\n  ... and {len(found) - 10} more"
    raise NotFoundError(f"{query!r} fits {len(found)} events:\n{listing}\nGive more of the id.")


def describe(event: Event, width: int = 60) -> str:
    """A few words on what the event says, for confirmations and listings."""
    data = event.data
    text = (
        data.get("text")
        or data.get("quote")
        or data.get("name")
        or data.get("milestone")
        or (f"{data.get('key')}{_measured(data)}{data.get('unit', '')}" if "key" in data else None)
        or (f"{data.get('cause')} -> {data.get('effect')}" if "cause" in data else None)
        or data.get("target")
        or ""
    )
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _number(value: object) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def _measured(data: dict[str, object]) -> str:
    """`` = 0.91`` for a level; `` changed by +3`` for a change (``metric.observed`` ``measure``)."""
    value = data.get("value")
    if data.get("measure") == "change":
        return f" changed by {value:+g}" if isinstance(value, int | float) else f" changed by {value}"
    return f" = {_number(value)}"

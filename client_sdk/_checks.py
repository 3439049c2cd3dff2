"""Likely mistakes caught before an event is stored, each said in words that name the argument at fault.

Offline first means that a stored event syncs to every device and can then only be retracted, so an
append is checked here before the schema sees it: blank text, a text over its limit, a value that is
not one of a field's choices, a metric key in the wrong form (with the key it probably meant), an
interval that does not hold its value, a link from a metric to itself, an ``occurred_at`` in the
future, retracting or redacting what already is. The schema (``schema.validation``) still decides
what is valid; these checks say it first, and in words a person acts on.

A ``Problem`` names the payload field at fault and says what is wrong in a sentence that refers to
fields as ``{low}``, so that the Python client names its keyword arguments (``low``) and the
``winledger`` command its options (``--low``) in the same sentence. ``Refusal`` is the client's
``ValidationError`` carrying its problem; ``client_sdk._cli_args.refused`` says it again for the
command line.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from client_sdk._types import Event
from client_sdk.errors import ValidationError
from schema.events import EVENT_TYPES
from schema.types import SLUG_PATTERN

CLOCK_SKEW = timedelta(minutes=5)
"""How far ahead of this device's clock an ``occurred_at`` may be: another machine's clock may run fast."""


class Problem(msgspec.Struct, frozen=True):
    """What is wrong with ``field`` (a payload field, or ``occurred_at``).

    ``template`` is the sentence that follows the field's name; it names fields as ``{field}``.
    """

    field: str
    template: str

    def says(self, name: Callable[[str], str]) -> str:
        """The sentence, naming each field with ``name``."""
        return self.template.format_map(_Names(name))


class _Names(dict[str, str]):
    def __init__(self, name: Callable[[str], str]) -> None:
        super().__init__()
        self._name = name

    def __missing__(self, field: str) -> str:
        return self._name(field)


class Refusal(ValidationError):
    """A ``ValidationError`` from a check of this module; ``problem`` lets the command line say it in its
    own words. ``names`` maps a field to the client's argument when they differ (``target``: ``event_id``).
    """

    def __init__(self, event_type: str, problem: Problem, names: Mapping[str, str] | None = None) -> None:
        def name(field: str) -> str:
            return (names or {}).get(field, field)

        path = "$.occurred_at" if problem.field == "occurred_at" else f"$.data.{problem.field}"
        message = f"Cannot append {event_type}: `{name(problem.field)}` {problem.says(name)}"
        super().__init__(message if message.endswith((".", "?")) else message + ".", field=path)
        self.problem = problem


def quoted(value: Any, width: int = 40) -> str:
    """``repr`` of a value, shortened, safe inside a template."""
    if isinstance(value, str) and len(value) > width:
        value = value[: width - 1] + "…"
    return _literal(repr(value))


def number(value: float) -> str:
    """A number as a person types it: 34 for 34.0, 0.9 for 0.9."""
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _literal(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


# -- the payload, field by field, against the schema's own limits ----------------------------------------


@functools.cache
def _fields(event_type: str) -> tuple[tuple[str, bool, Any], ...]:
    """(name, required, type) of each field of the type's current payload, as ``msgspec.inspect``
    describes them, an optional field's type taken out of its union with None."""
    import msgspec.inspect as inspect

    envelope = EVENT_TYPES[event_type][max(EVENT_TYPES[event_type])]
    info: Any = inspect.type_info(envelope)
    data = next(field.type for field in info.fields if field.name == "data")
    fields = []
    for field in data.fields:
        kind = _unwrap(field.type)
        if isinstance(kind, inspect.UnionType):
            kind = next(_unwrap(t) for t in kind.types if not isinstance(t, inspect.NoneType))
        fields.append((field.name, field.required, kind))
    return tuple(fields)


def _unwrap(kind: Any) -> Any:
    import msgspec.inspect as inspect

    return kind.type if isinstance(kind, inspect.Metadata) else kind


def payload_problem(event_type: str, data: Mapping[str, Any]) -> Problem | None:
    """The first likely mistake in ``data`` (a payload without its absent fields), or None."""
    import msgspec.inspect as inspect

    if event_type not in EVENT_TYPES:
        return None
    for field, required, kind in _fields(event_type):
        value = data.get(field)
        problem: Problem | None = None
        if value is None:
            continue
        if isinstance(kind, inspect.StrType) and isinstance(value, str):
            problem = _text_problem(field, value, kind, required)
        elif isinstance(kind, inspect.LiteralType) and isinstance(value, str) and value not in kind.values:
            choices = ", ".join(str(choice) for choice in kind.values)
            problem = Problem(field, f"{quoted(value)} is not one of: {choices}")
        elif isinstance(kind, inspect.ListType) and isinstance(value, list | tuple):
            problem = _list_problem(field, list(value), kind)
        if problem is not None:
            return problem
    if event_type == "metric.observed":
        return interval_problem(data)
    cause = data.get("cause")
    if event_type == "metric.linked" and cause is not None and cause == data.get("effect"):
        return Problem(
            "effect", f"{quoted(cause)} is the same metric as {{cause}}: a link says one metric moved another"
        )
    return None


def _text_problem(field: str, value: str, kind: Any, required: bool) -> Problem | None:
    if not value.strip():
        if required:
            return Problem(field, f"{quoted(value)} is blank: it needs some text")
        return Problem(field, f"{quoted(value)} is blank: write some text, or leave out {{{field}}}")
    if kind.pattern == SLUG_PATTERN:
        return key_problem(field, value)
    if kind.max_length is not None and len(value) > kind.max_length:
        return Problem(
            field, f"{quoted(value)} is {len(value)} characters long; at most {kind.max_length} are allowed"
        )
    return None


def _list_problem(field: str, items: list[Any], kind: Any) -> Problem | None:
    if kind.max_length is not None and len(items) > kind.max_length:
        return Problem(field, f"has {len(items)} items; at most {kind.max_length} are allowed")
    limit = _unwrap(kind.item_type).max_length
    for item in items:
        if not isinstance(item, str):
            continue
        if not item.strip():
            return Problem(field, f"{quoted(item)} is blank: each needs some text")
        if limit is not None and len(item) > limit:
            return Problem(field, f"{quoted(item)} is {len(item)} characters long; each is at most {limit}")
    return None


_NOT_IN_KEY = re.compile(r"[^a-z0-9_.-]+")


def suggested_key(value: str) -> str | None:
    """The metric key ``value`` probably meant (lowercase, accents dropped, each run of other characters
    an ``_``), when that is a key and differs from ``value``."""
    plain = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower()
    key = _NOT_IN_KEY.sub("_", plain.strip()).strip("_.-")[:64]
    return key if key != value and re.match(SLUG_PATTERN, key) else None


def key_problem(field: str, value: str) -> Problem | None:
    """Why ``value`` is not a metric key, with the key it probably meant; None when it is one."""
    if re.match(SLUG_PATTERN, value):
        return None
    suggestion = suggested_key(value)
    hint = f"; did you mean {quoted(suggestion)}?" if suggestion else ""
    if suggestion is not None and value.lower() == suggestion:
        return Problem(field, f"{quoted(value)} has capital letters: metric keys are lowercase{hint}")
    rule = "a metric key is 1-64 of a-z, 0-9, '_', '.', '-', starting with a letter or a digit"
    return Problem(field, f"{quoted(value)} is not a metric key: {rule}{hint}")


def interval_problem(data: Mapping[str, Any]) -> Problem | None:
    """``low <= value <= high``, said with the numbers given."""
    value, low, high = data.get("value"), data.get("low"), data.get("high")
    if not (
        isinstance(value, float | int) and isinstance(low, float | int) and isinstance(high, float | int)
    ):
        return None
    needs = "an interval needs {low} <= {value} <= {high}"
    if low > high:
        return Problem("low", f"{number(low)} is above {{high}} {number(high)}: {needs}")
    if low > value:
        return Problem("low", f"{number(low)} is above the value {number(value)}: {needs}")
    if value > high:
        return Problem("high", f"{number(high)} is below the value {number(value)}: {needs}")
    return None


# -- when, and what an event refers to --------------------------------------------------------------------


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def in_the_future(moment: datetime, now: datetime) -> str | None:
    """How far in the future ``moment`` is and why that is refused; None within ``CLOCK_SKEW`` of ``now``."""
    if moment - now <= CLOCK_SKEW:
        return None
    skew = int(CLOCK_SKEW.total_seconds() // 60)
    return (
        f"is {_span(moment - now)} in the future (this device's clock reads {utc_text(now)}): a win is "
        f"recorded once it has happened (up to {skew} minutes ahead are allowed, for clocks that disagree)"
    )


def future_problem(moment: datetime, now: datetime) -> Problem | None:
    """``moment`` more than ``CLOCK_SKEW`` after ``now`` (this device's clock)."""
    words = in_the_future(moment, now)
    return None if words is None else Problem("occurred_at", f"{utc_text(moment)} {words}")


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    for size, unit in ((525_600, "year"), (1440, "day"), (60, "hour"), (1, "minute")):
        if minutes >= size:
            count = minutes // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return "less than a minute"


def _by(event: Event) -> str:
    return f"{event.id}, recorded {event.occurred_at.astimezone(UTC):%Y-%m-%d} ({event.status})"


def retraction_problem(target: str, events: Sequence[Event]) -> Problem | None:
    """Retracting ``target`` would change nothing: it is a retraction, or ``events`` retract it already."""
    from client_sdk._names import describe

    held = next((e for e in events if e.id == target), None)
    if held is not None and held.type == "event.retracted":
        return Problem(
            "target",
            f"{target} is itself a retraction (of {held.data.get('target')}): retracting a retraction "
            "changes nothing (what it retracted stays retracted): record that event again instead",
        )
    earlier = next(
        (e for e in events if e.type == "event.retracted" and e.data.get("target") == target), None
    )
    if earlier is None:
        return None
    what = target if held is None else f'{target} ({held.type} "{_literal(describe(held))}")'
    return Problem(
        "target", f"{what} is already retracted, by {_by(earlier)}: retracting it again changes nothing"
    )


def redaction_problem(target: str, events: Sequence[Event]) -> Problem | None:
    """Redacting ``target`` again would change nothing: ``events`` redact it already."""
    earlier = next((e for e in events if e.type == "event.redacted" and e.data.get("target") == target), None)
    if earlier is None:
        return None
    return Problem(
        "target", f"{target} is already redacted, by {_by(earlier)}: redacting it again changes nothing"
    )

"""The arguments of ``Client``'s methods made into what the schema takes: timestamps, dates and numbers,
each refused with a ``ValidationError`` that names the field."""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import schema
from client_sdk._checks import Refusal, key_problem
from client_sdk.errors import ValidationError
from schema.types import SLUG_PATTERN

__all__ = [
    "UNIX_EPOCH",
    "When",
    "day_argument",
    "metric_value",
    "moment_of",
    "plain_number",
    "timestamp",
    "utc_today",
]

When = datetime | str | None
UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc_today() -> date:
    """Today by this machine's clock, in UTC: the default ``as_of``, as on the server."""
    return datetime.now(UTC).date()


def day_argument(value: date | str | None, name: str) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValidationError(f"{name} must be a date or a 'YYYY-MM-DD' string, got {value!r}.", field=name)


def moment_of(when: str) -> datetime | None:
    """The moment of a timestamp, or None when it is not one (the schema then says why)."""
    try:
        return schema.parse_timestamp(when)
    except ValueError:
        return None


def timestamp(value: When, event_type: str, now_ms: Callable[[], int]) -> str:
    if value is None:
        return schema.format_timestamp(UNIX_EPOCH + timedelta(milliseconds=now_ms()))
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValidationError(
                f"Cannot append {event_type}: occurred_at {value.isoformat()!r} has no timezone; "
                "use an aware datetime such as datetime.now(timezone.utc).",
                field="$.occurred_at",
            )
        try:
            return schema.format_timestamp(value)
        except ValueError as exc:  # no UTC datetime: year 1 ahead of UTC, year 9999 behind it
            raise ValidationError(
                f"Cannot append {event_type}: occurred_at {exc}.", field="$.occurred_at"
            ) from None
    return value  # a string: the schema checks and normalizes it


def plain_number(name: str, value: Any) -> Any:
    """Plain floats for the schema (NumPy scalars included); non-finite values refused by name."""
    if value is None or isinstance(value, bool) or not isinstance(value, numbers.Real):
        return value
    try:
        number = float(value)
    except OverflowError:  # an int (or a Fraction) beyond a double's range
        raise ValidationError(
            f"Cannot append metric.observed: `{name}` must be a finite number, got one beyond a "
            "double's range (about 1.8e308).",
            field=f"$.data.{name}",
        ) from None
    if not math.isfinite(number):
        raise ValidationError(
            f"Cannot append metric.observed: `{name}` must be a finite number, got {number!r}.",
            field=f"$.data.{name}",
        )
    return number


def metric_value(key: Any, value: Any) -> float:
    problem = key_problem("key", key) if isinstance(key, str) else None
    if problem is not None:
        raise Refusal("metric.observed", problem, {"key": "metrics"})
    if not isinstance(key, str) or not re.match(SLUG_PATTERN, key):
        raise ValidationError(
            f"Cannot append metric.observed: the metric key {key!r} must be 1-64 of a-z, 0-9, '_', '.', '-'.",
            field="$.data.key",
        )
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValidationError(
            f"Cannot append metric.observed: the value of {key!r} must be a number, got {value!r}.",
            field="$.data.value",
        )
    return float(plain_number("value", value))

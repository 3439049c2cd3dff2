"""RFC 3339 timestamps: normalized to UTC with microseconds, 1970-01-01 to 2100-01-01."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from schema import (
    Rejection,
    ValidEvent,
    format_timestamp,
    normalize_timestamp,
    parse_timestamp,
    validate_fields,
)
from tests.factories import an_event


@pytest.mark.parametrize(
    ("given", "normalized"),
    [
        ("2026-03-14T09:26:53Z", "2026-03-14T09:26:53.000000Z"),
        ("2026-03-14T09:26:53.5Z", "2026-03-14T09:26:53.500000Z"),
        ("2026-03-14T09:26:53.589793z", "2026-03-14T09:26:53.589793Z"),
        ("2026-03-14t09:26:53Z", "2026-03-14T09:26:53.000000Z"),
        ("2026-03-14T11:26:53+02:00", "2026-03-14T09:26:53.000000Z"),
        ("2026-03-14T04:56:53-04:30", "2026-03-14T09:26:53.000000Z"),
        ("2026-03-14T09:26:53+00:00", "2026-03-14T09:26:53.000000Z"),
        ("2026-03-14T09:26:53-00:00", "2026-03-14T09:26:53.000000Z"),
        ("2026-03-15T00:26:53+15:00", "2026-03-14T09:26:53.000000Z"),
        ("2026-01-01T00:30:00+01:00", "2025-12-31T23:30:00.000000Z"),
        ("2026-03-14T09:26:53.123456789Z", "2026-03-14T09:26:53.123456Z"),
        ("2026-03-14T09:26:53.999999999+01:00", "2026-03-14T08:26:53.999999Z"),
        ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000000Z"),
        ("1970-01-01T01:00:00+01:00", "1970-01-01T00:00:00.000000Z"),
        ("2099-12-31T23:59:59.999999Z", "2099-12-31T23:59:59.999999Z"),
        ("2100-01-01T00:59:59+01:00", "2099-12-31T23:59:59.000000Z"),
        ("2024-02-29T12:00:00Z", "2024-02-29T12:00:00.000000Z"),
    ],
)
def test_offsets_are_normalized_to_utc_microseconds(given: str, normalized: str) -> None:
    assert normalize_timestamp(given) == normalized
    result = validate_fields(an_event(occurred_at=given))
    assert isinstance(result, ValidEvent)
    assert result.fields["occurred_at"] == normalized
    assert result.event.occurred_at == normalized


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("2026-03-14T09:26:53", "no timezone"),
        ("2026-03-14T09:26:53.123", "no timezone"),
        ("2026-03-14", "not an RFC 3339"),
        ("09:26:53Z", "not an RFC 3339"),
        ("2026-03-14T09:26Z", "not an RFC 3339"),
        ("2026-03-14T09:26:53+0200", "not an RFC 3339"),
        ("2026-03-14T09:26:53 UTC", "not an RFC 3339"),
        ("20260314T092653Z", "not an RFC 3339"),
        ("2026-03-14T09:26:53.Z", "not an RFC 3339"),
        ("2026-03-14T09:26:53Z\n", "not an RFC 3339"),
        (" 2026-03-14T09:26:53Z", "not an RFC 3339"),
        ("", "not an RFC 3339"),
        ("2026-13-01T00:00:00Z", "not a valid date-time"),
        ("2025-02-29T00:00:00Z", "not a valid date-time"),
        ("2026-03-14T24:00:00Z", "not a valid date-time"),
        ("2026-03-14T09:26:53+24:00", "invalid timezone offset"),
        ("2026-03-14T09:26:53+01:60", "invalid timezone offset"),
        ("1969-12-31T23:59:59.999999Z", "outside 1970-01-01 to 2100-01-01"),
        ("1970-01-01T00:59:59+01:00", "outside 1970-01-01 to 2100-01-01"),
        ("2100-01-01T00:00:00Z", "outside 1970-01-01 to 2100-01-01"),
        ("2099-12-31T23:00:00-01:00", "outside 1970-01-01 to 2100-01-01"),
        ("9999-12-31T23:59:59Z", "outside 1970-01-01 to 2100-01-01"),
        # No UTC datetime at all: converting them overflows Python's datetime (years 1 to 9999).
        ("0001-01-01T00:30:00+01:00", "outside 1970-01-01 to 2100-01-01"),
        ("9999-12-31T23:30:00-01:00", "outside 1970-01-01 to 2100-01-01"),
        ("0001-01-01T00:00:00.000000+23:59", "outside 1970-01-01 to 2100-01-01"),
    ],
)
def test_bad_timestamps_are_refused_with_a_sentence_quoting_them(given: str, says: str) -> None:
    with pytest.raises(ValueError, match=says) as caught:
        parse_timestamp(given)
    assert repr(given) in str(caught.value)


def test_parse_returns_an_aware_utc_datetime_and_format_inverts_it() -> None:
    moment = parse_timestamp("2026-03-14T11:26:53.5+02:00")
    assert moment == datetime(2026, 3, 14, 9, 26, 53, 500_000, tzinfo=UTC)
    assert moment.utcoffset() is not None and moment.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert format_timestamp(moment) == "2026-03-14T09:26:53.500000Z"
    assert parse_timestamp(format_timestamp(moment)) == moment


def test_a_leap_second_folds_onto_the_last_microsecond_of_its_minute() -> None:
    assert normalize_timestamp("2016-12-31T23:59:60Z") == "2016-12-31T23:59:59.999999Z"


@pytest.mark.parametrize("given", ["0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00"])
def test_a_timestamp_with_no_utc_datetime_is_an_invalid_event_naming_occurred_at(given: str) -> None:
    with pytest.raises(ValueError, match="outside 1970-01-01 to 2100-01-01"):
        normalize_timestamp(given)
    event = an_event(occurred_at=given)
    result = validate_fields(event)
    assert isinstance(result, Rejection), result
    assert (result.code, result.id) == ("invalid_event", event["id"])
    assert "`$.occurred_at`" in result.message


@pytest.mark.parametrize(
    "moment",
    [
        datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))),
        datetime(9999, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-1))),
    ],
)
def test_formatting_a_moment_with_no_utc_datetime_is_a_value_error(moment: datetime) -> None:
    with pytest.raises(ValueError, match="outside 1970-01-01 to 2100-01-01") as caught:
        format_timestamp(moment)
    assert repr(moment.isoformat()) in str(caught.value)

"""The per-request shortcuts of the sync path give what the general code they stand for gives
(server/eventlog/recorder.py, server/accounts/auth.py, server/http/problems.py, server/http/protocol.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from starlette.responses import Response

from schema import format_timestamp, parse_timestamp
from schema.protocol import EPOCH_HEADER, JSON, MAX_DEPTH, MSGPACK
from server.accounts.auth import _seconds_between
from server.eventlog.recorder import utc_now
from server.http import protocol
from server.http.depth import json_depth
from server.http.problems import Encoded

moments = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
)


def test_utc_now_is_now_in_the_stored_form() -> None:
    for _ in range(1000):
        before = format_timestamp(datetime.now(UTC))
        now = utc_now()
        after = format_timestamp(datetime.now(UTC))
        assert before <= now <= after
        assert format_timestamp(parse_timestamp(now)) == now


@given(moments, st.timedeltas(min_value=timedelta(days=-2), max_value=timedelta(days=2)))
def test_seconds_between_stored_timestamps_is_their_parsed_difference(
    moment: datetime, step: timedelta
) -> None:
    if not datetime(1970, 1, 1, tzinfo=UTC) <= moment + step < datetime(2100, 1, 1, tzinfo=UTC):
        return
    earlier, later = format_timestamp(moment), format_timestamp(moment + step)
    expected = (parse_timestamp(later) - parse_timestamp(earlier)).total_seconds()
    assert _seconds_between(earlier, later) == expected


def test_seconds_between_other_forms_parses_them() -> None:
    assert _seconds_between("2026-03-01T10:00:00Z", "2026-03-01T10:01:00.000000Z") == 60
    assert _seconds_between("2026-03-01T23:59:30.000000Z", "2026-03-02T00:00:30.000000Z") == 60


@given(st.binary(max_size=64), st.sampled_from([JSON, MSGPACK]), st.text(max_size=40).map(str.strip))
def test_an_encoded_answer_has_the_headers_a_response_has(body: bytes, media: str, epoch: str) -> None:
    epoch = epoch.encode("latin-1", "replace").decode("latin-1")
    general = Response(body, headers={EPOCH_HEADER: epoch}, media_type=media)
    encoded = Encoded(body, media, epoch)
    assert (encoded.status_code, encoded.body, encoded.raw_headers, encoded.background) == (
        general.status_code,
        general.body,
        general.raw_headers,
        general.background,
    )


@given(st.text(alphabet='[]{}"\\,:1a', max_size=3 * MAX_DEPTH))
def test_a_body_is_refused_for_depth_exactly_when_it_measures_too_deep(text: str) -> None:
    body = text.encode()
    assert protocol._deeper_than_max(body, "json") == (json_depth(body) > MAX_DEPTH)

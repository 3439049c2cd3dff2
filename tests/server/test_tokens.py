"""Device tokens: an expiry set at creation, refusals that tell the holder why, one device cut off alone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from server.accounts.auth import AdminError, TokenInfo, expiry
from tests.factories import an_event
from tests.server.conftest import Api, assert_problem

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("90d", "2026-05-31T12:00:00.000000Z"),
        ("12h", "2026-03-03T00:00:00.000000Z"),
        ("4w", "2026-03-30T12:00:00.000000Z"),
        ("2026-12-31", "2026-12-31T00:00:00.000000Z"),
        ("2026-12-31T18:00:00+01:00", "2026-12-31T17:00:00.000000Z"),
        ("2026-12-31T18:00:00Z", "2026-12-31T18:00:00.000000Z"),
    ],
)
def test_expiry_is_a_duration_a_date_or_a_time_with_its_offset(given: str, stored: str) -> None:
    assert expiry(given, NOW) == stored


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("soon", "neither a duration"),
        ("90 days", "neither a duration"),
        ("-5d", "neither a duration"),
        ("2026-02-30", "neither a duration"),
        ("2026-12-31T18:00", "needs a UTC offset"),
        ("2026-03-01", "is in the past"),
        ("0d", "is in the past"),
        # Beyond the year 9999, or with no UTC time at all: refused, not an OverflowError.
        ("999999w", "after the year 9999"),
        ("9999-12-31T23:30:00-01:00", "after the year 9999"),
        ("0001-01-01T00:30:00+01:00", "is in the past"),
    ],
)
def test_a_bad_expiry_is_refused_quoting_it(given: str, said: str) -> None:
    with pytest.raises(AdminError, match=said) as raised:
        expiry(given, NOW)
    assert repr(given) in str(raised.value)


def test_a_token_works_until_its_expiry_and_then_tells_its_holder(api: Api) -> None:
    accounts = api.server.state.accounts
    later = api.server.portal.call(accounts.create_token, api.name, "tablet", expiry("30d"))
    assert Api(api.server, later).push([an_event()])["results"][0]["status"] == "accepted"
    listed = {t.label: t for t in _tokens(api)}
    days = (datetime.fromisoformat(listed["tablet"].expires_at) - datetime.now(UTC)).total_seconds() / 86400
    assert 29.9 < days <= 30
    assert listed["tablet"].state("2026-01-01T00:00:00.000000Z") == "active"
    assert listed["tablet"].state("2999-01-01T00:00:00.000000Z") == "expired"


def test_revoked_and_expired_holders_learn_why_and_the_other_devices_keep_working(api: Api) -> None:
    server = api.server
    phone = server.create_token(api.name, "phone")
    laptop = server.create_token(api.name, "laptop")
    server.revoke_token(phone.split("_")[1])
    refused = assert_problem(Api(server, phone).pull_response(), 401, "unauthorized")
    assert refused["reason"] == "revoked" and "winledger login" in refused["detail"]
    stranger = Api(server, phone[:-64] + "0" * 64).pull_response()
    assert "reason" not in assert_problem(stranger, 401, "unauthorized")
    assert Api(server, laptop).push([an_event()])["results"][0]["status"] == "accepted"
    assert Api(server, api.token).count() == 1
    states = {t.label: t.state("2026-01-01T00:00:00.000000Z") for t in _tokens(api)}
    assert states == {None: "active", "phone": "revoked", "laptop": "active"}


def _tokens(api: Api) -> list[TokenInfo]:
    return api.server.portal.call(api.server.state.accounts.list_tokens, api.name)  # type: ignore[no-any-return]

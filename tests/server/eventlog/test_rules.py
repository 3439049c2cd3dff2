"""The acceptance rules on their own: no database, no I/O (``server.eventlog.rules``)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schema import DEVICE_SEQ_CONFLICT, EMPTY_DIGEST, ID_CONFLICT, Rejection, ValidEvent, digest_of
from schema.redaction import REDACTED, redacted_body
from server.database.tables import EVENT_INSERT_COLUMNS
from server.eventlog import rules
from server.eventlog.rules import CursorAhead, Existing, Judgement
from tests.factories import Device, an_event
from tests.server.eventlog.support import valid

USER = 7
AT = "2026-03-14T09:26:53.589793Z"
SEQ, BODY = EVENT_INSERT_COLUMNS.index("seq"), EVENT_INSERT_COLUMNS.index("body")


def _pool() -> list[ValidEvent]:
    """Events that meet each other in every way a batch can: the same event, another event under the
    same id, another event on the same device seq, and strangers."""
    device = Device()
    first, second, third = device.events(3)
    return [
        valid(first),
        valid(second),
        valid(third),
        valid({**first, "data": {"text": "Other words", "source": "text"}}),  # first's id, other content
        valid(an_event(device_id=second["device_id"], device_seq=second["device_seq"])),  # second's seq
        valid(an_event()),
        valid(Device().event()),
    ]


POOL = _pool()
batches = st.lists(st.sampled_from(POOL), max_size=12)


def judged(
    items: list[Any], existing: Existing | None = None, last_seq: int = 0, digest: str = EMPTY_DIGEST
) -> Judgement:
    return rules.judge(USER, items, existing or Existing(), last_seq, digest, AT)


def hashes(judgement: Judgement) -> list[int]:
    return [int(row[EVENT_INSERT_COLUMNS.index("hash")], 16) for row in judgement.rows]


def summary(judgement: Judgement) -> list[tuple[str, int | None, str | None]]:
    return [(outcome.status, outcome.seq, outcome.code) for outcome in judgement.outcomes]


def reference(items: list[ValidEvent], last_seq: int = 0) -> list[tuple[str, int | None, str | None]]:
    """The rules written as plainly as possible (no redactions): the oracle of the property tests."""
    by_id: dict[str, tuple[bytes, int]] = {}
    holders: dict[tuple[str, int], str] = {}
    answers: list[tuple[str, int | None, str | None]] = []
    for item in items:
        ev = item.event
        if ev.id in by_id:
            body, seq = by_id[ev.id]
            answers.append(("duplicate", seq, None) if body == item.body else ("rejected", None, ID_CONFLICT))
        elif (ev.device_id, ev.device_seq) in holders:
            answers.append(("rejected", None, DEVICE_SEQ_CONFLICT))
        else:
            last_seq += 1
            by_id[ev.id] = (item.body, last_seq)
            holders[(ev.device_id, ev.device_seq)] = ev.id
            answers.append(("accepted", last_seq, None))
    return answers


@given(batches, st.integers(min_value=0, max_value=10**9))
def test_each_item_is_judged_as_the_plain_rules_say(items: list[ValidEvent], last_seq: int) -> None:
    judgement = judged(items, last_seq=last_seq)
    assert summary(judgement) == reference(items, last_seq)
    assert [outcome.id for outcome in judgement.outcomes] == [item.event.id for item in items]


@given(batches, st.integers(min_value=0, max_value=1000))
def test_accepted_events_get_the_next_seqs_without_a_gap_and_the_digest_adds_their_hashes(
    items: list[ValidEvent], last_seq: int
) -> None:
    judgement = judged(items, last_seq=last_seq)
    accepted = [outcome.seq for outcome in judgement.outcomes if outcome.status == "accepted"]
    assert accepted == list(range(last_seq + 1, last_seq + 1 + len(accepted)))
    assert [row[SEQ] for row in judgement.rows] == accepted
    assert judgement.last_seq == last_seq + len(accepted)
    hashes = [int(row[EVENT_INSERT_COLUMNS.index("hash")], 16) for row in judgement.rows]
    assert judgement.digest == digest_of(hashes)
    assert all(
        row[0] == USER and row[EVENT_INSERT_COLUMNS.index("received_at")] == AT for row in judgement.rows
    )


@given(batches, batches)
def test_two_requests_are_judged_as_one_batch_of_both(
    first: list[ValidEvent], then: list[ValidEvent]
) -> None:
    existing = Existing()
    one = judged(first, existing)
    two = judged(then, existing, one.last_seq, one.digest)
    both = judged(first + then)
    assert summary(one) + summary(two) == summary(both)
    assert (two.last_seq, two.digest) == (both.last_seq, both.digest)


@given(batches)
def test_a_retried_request_stores_nothing_and_gets_the_same_seqs(items: list[ValidEvent]) -> None:
    existing = Existing()
    first = judged(items, existing)
    retry = judged(items, existing, first.last_seq)
    assert retry.rows == [] and retry.last_seq == first.last_seq
    for before, again in zip(first.outcomes, retry.outcomes, strict=True):
        if before.status in ("accepted", "duplicate"):
            assert (again.status, again.seq) == ("duplicate", before.seq)


def test_a_conflict_names_the_event_and_the_field_it_came_from() -> None:
    first, _, _, other_content, same_seq, *_ = POOL
    judgement = judged([first, POOL[1], other_content, same_seq])
    _, _, id_conflict, seq_conflict = judgement.outcomes
    assert id_conflict.message == (
        f"Event id {first.event.id!r} is already used by an event with other content - at `$.events[2].id`"
    )
    assert seq_conflict.message == (
        f"device_seq {same_seq.event.device_seq} of device {same_seq.event.device_id!r} already belongs "
        f"to event {POOL[1].event.id!r} - at `$.events[3].device_seq`"
    )


def test_rejections_keep_their_place_and_their_words() -> None:
    refused = Rejection("invalid_event", "Expected a string - at `$.events[0].id`", "some-id")
    judgement = judged([refused, POOL[0]])
    rejection = judgement.outcomes[0]
    assert (rejection.id, rejection.status, rejection.code, rejection.message) == (
        "some-id",
        "rejected",
        "invalid_event",
        refused.message,
    )
    assert summary(judgement)[1] == ("accepted", 1, None)
    assert rules.valid_events([refused, POOL[0]]) == [POOL[0]]
    assert [o.code for o in rules.all_rejected([refused])] == ["invalid_event"]


def redaction_of(target: ValidEvent) -> ValidEvent:
    return valid(an_event("event.redacted", data={"target": target.event.id}))


def test_a_redaction_rewrites_a_target_of_its_own_batch_in_place() -> None:
    target = valid(an_event(data={"text": "Dana from Acme", "source": "text"}))
    redaction = redaction_of(target)
    judgement = judged([target, redaction])
    assert judgement.rewrites == {}
    redacted, hash_value = redacted_body(target.body)
    assert judgement.rows[0][BODY] == redacted and b"Dana" not in redacted and REDACTED.encode() in redacted
    assert judgement.digest == digest_of([hash_value, redaction.hash])


def test_a_redaction_rewrites_a_stored_target_and_one_that_comes_later_is_stored_redacted() -> None:
    stored = valid(an_event(data={"text": "Dana from Acme", "source": "text"}))
    existing = Existing(by_id={stored.event.id: (stored.body, 1, stored.hash)})
    redaction = redaction_of(stored)
    judgement = judged([redaction], existing, 1, digest_of([stored.hash]))
    new_body, new_hash = redacted_body(stored.body)
    assert judgement.rewrites == {stored.event.id: (new_body, new_hash)}
    assert judgement.digest == digest_of([new_hash, redaction.hash])

    later = valid(an_event(data={"text": "Dana again", "source": "text"}))
    existing = Existing()
    first = judged([redaction_of(later), later], existing)
    assert first.rows[1][BODY] == redacted_body(later.body)[0]
    # Its original text again is a duplicate: compared redacted.
    assert summary(judged([later], existing, 2)) == [("duplicate", 2, None)]


def test_lookups_cover_the_batch_and_its_targets_in_sorted_chunks() -> None:
    device = Device()
    items = [valid(device.event()) for _ in range(rules.IN_CHUNK + 3)]
    target = valid(an_event())
    redaction = redaction_of(target)
    wanted = rules.lookups([*items, redaction])
    ids = [event_id for chunk in wanted.ids for event_id in chunk]
    assert ids == sorted({item.event.id for item in items} | {target.event.id, redaction.event.id})
    assert all(len(chunk) <= rules.IN_CHUNK for chunk in wanted.ids + wanted.own)
    assert target.event.id not in {event_id for chunk in wanted.own for event_id in chunk}
    seqs = {(device_id, seq) for device_id, chunk in wanted.seqs_by_device for seq in chunk}
    assert {(item.event.device_id, item.event.device_seq) for item in items} <= seqs
    assert rules.lookups([]).ids == []


@pytest.mark.parametrize(("after", "last_seq"), [(None, 0), (0, 0), (3, 3), (2, 5)])
def test_a_cursor_at_or_before_the_head_is_fine(after: int | None, last_seq: int) -> None:
    rules.check_cursor(after, last_seq)


def test_a_cursor_beyond_the_head_is_refused_with_both_numbers() -> None:
    with pytest.raises(CursorAhead) as refused:
        rules.check_cursor(4, 3)
    assert (refused.value.after, refused.value.last_seq) == (4, 3)
    assert str(refused.value) == "`after` is 4, but the newest event on this server is seq 3"

"""Group commit on its own, with a fake commit in place of a recorder (``server.eventlog.groupcommit``)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from server.eventlog import groupcommit
from server.eventlog.groupcommit import GroupCommit
from server.eventlog.recorder import Answered, Append, Appended


class FakeRecorder:
    """Commits each group it is given (and records it); a push of user 0 fails alone; ``broken`` fails
    the whole commit."""

    def __init__(self) -> None:
        self.groups: list[list[int]] = []
        self.broken: BaseException | None = None

    async def append_group(self, pushes: Sequence[Append]) -> list[Answered]:
        await asyncio.sleep(0)  # the commit takes a while: pushes queue meanwhile
        self.groups.append([push.user_id for push in pushes])
        if self.broken is not None:
            raise self.broken
        return [
            (None, ValueError(f"user {push.user_id}"))
            if push.user_id == 0
            else (Appended([], push.user_id * 10, True), None)
            for push in pushes
        ]


def push(user_id: int, events: int = 1) -> Append:
    return Append(user_id, [None] * events, None)  # type: ignore[list-item]


async def _concurrently(queue: GroupCommit, users: list[int]) -> list[Appended | BaseException]:
    return await asyncio.gather(*(queue.push(push(user)) for user in users), return_exceptions=True)


def test_pushes_that_wait_together_share_a_commit_in_the_order_they_came() -> None:
    async def scenario() -> None:
        recorder = FakeRecorder()
        queue = GroupCommit(recorder.append_group, asyncio.Lock())
        answers = await _concurrently(queue, [1, 2, 0, 3])
        assert recorder.groups == [[1, 2, 0, 3]]
        assert [a.last_seq if isinstance(a, Appended) else str(a) for a in answers] == [10, 20, "user 0", 30]
        assert queue.pending == 0

    asyncio.run(scenario())


def test_pushes_that_come_while_a_group_commits_wait_for_the_next_one() -> None:
    async def scenario() -> None:
        recorder = FakeRecorder()
        lock = asyncio.Lock()
        queue = GroupCommit(recorder.append_group, lock)
        await lock.acquire()  # another writer (the projector) holds the lock
        first = asyncio.gather(*(queue.push(push(user)) for user in (1, 2)))
        await asyncio.sleep(0)
        lock.release()
        await asyncio.sleep(0)
        later = asyncio.gather(*(queue.push(push(user)) for user in (3, 4)))
        await asyncio.gather(first, later)
        assert recorder.groups == [[1, 2], [3, 4]]

    asyncio.run(scenario())


def test_a_group_is_bounded_in_pushes_and_events(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(groupcommit, "GROUP_REQUESTS", 3)
    monkeypatch.setattr(groupcommit, "GROUP_EVENTS", 5)

    async def scenario() -> None:
        recorder = FakeRecorder()
        queue = GroupCommit(recorder.append_group, asyncio.Lock())
        sizes = {1: 4, 2: 4, 3: 1, 4: 1, 5: 1, 6: 1}
        await asyncio.gather(*(queue.push(push(user, size)) for user, size in sizes.items()))
        # 4 + 4 events reach the bound of 5 after the second push; three pushes are the most.
        assert recorder.groups == [[1, 2], [3, 4, 5], [6]]

    asyncio.run(scenario())


def test_a_commit_that_fails_fails_every_push_of_its_group_and_the_next_group_commits() -> None:
    async def scenario() -> None:
        recorder = FakeRecorder()
        queue = GroupCommit(recorder.append_group, asyncio.Lock())
        recorder.broken = OSError("disk I/O error")
        failed = await _concurrently(queue, [1, 2])
        assert [str(error) for error in failed] == ["disk I/O error"] * 2
        recorder.broken = None
        assert [a.last_seq for a in await _concurrently(queue, [3]) if isinstance(a, Appended)] == [30]
        assert queue.pending == 0

    asyncio.run(scenario())

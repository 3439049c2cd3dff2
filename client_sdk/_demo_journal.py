"""The demo's journal: events drafted by the stories of ``client_sdk.demo_year``, stamped the way the
client SDK stamps a real capture on each of three devices.

- ``occurred_at`` is when the win happened; the device records it a few
  minutes later, some hours later, or (a backdated entry) a day or two later.
  The phone's October captures were made offline at a conference and synced
  days later, which changes when the server sees them, not their fields.
- The id is a UUIDv7 of the capture time (48-bit Unix milliseconds, then
  seeded random bits); ``device_seq`` counts 1, 2, 3, ... in each device's
  append order, which is its capture order; ``clock`` is the hybrid logical
  clock ``max(capture_ms << 10, last_clock + 1)`` over the clocks that device
  created.
- Capture times are device wall clocks, and those disagree: the laptop runs
  six minutes fast and the workstation 40 seconds slow. That is how a voice
  note taken on the phone just after a kickoff sorts before the kickoff's
  ``project.started`` from the laptop (the "project started late" case): the
  phone got the project from a share link, not from a sync, so its clock never
  saw the laptop's (a device's clock only follows the clocks it created).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Final, Literal

from client_sdk._ids import uuid7_of
from schema import CURRENT_VERSIONS, Rejection, canonical_order, format_timestamp, next_clock, validate_fields

__all__ = ["DEVICES", "Delay", "Journal"]

_NAMESPACE = uuid.UUID("6f1c2a8e-3b5d-5e7f-9a0b-1c2d3e4f5a6b")

DEVICES: Final[Mapping[str, str]] = MappingProxyType(
    {
        name: str(uuid.uuid5(_NAMESPACE, f"winledger-demo/{name}"))
        for name in ("laptop", "phone", "workstation")
    }
)
"""The demo user's devices, by name; the same ids on every run."""

_SKEW_MS: Final[Mapping[str, int]] = MappingProxyType(
    {"laptop": 6 * 60_000, "phone": 0, "workstation": -40_000}
)
"""How far each device's wall clock is off; capture times, ids and clocks carry it."""

Delay = Literal["soon", "later", "backdated"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _device_ms(device: str, moment: datetime) -> int:
    """What ``device``'s wall clock reads, in Unix milliseconds, at the real ``moment``."""
    return (moment - _EPOCH) // timedelta(milliseconds=1) + _SKEW_MS[device]


@dataclass(frozen=True)
class _Draft:
    device: str
    capture_ms: int  # the same moment on the device's own wall clock
    index: int  # creation order: breaks ties between captures of the same millisecond
    id: str
    occurred_at: datetime
    type: str
    project_id: str | None
    data: dict[str, Any]


class Journal:
    """The drafted events of a demo year, seeded; ``events()`` stamps them as each device appended them."""

    def __init__(self, year: int, seed: int) -> None:
        self.year = year
        self.rng = random.Random(seed)
        self.drafts: list[_Draft] = []
        self._latest: dict[str, datetime] = {}

    def at(self, month: int, day: int, hour: int) -> datetime:
        """A moment on that day (the next Monday for a weekend), at a random minute of ``hour``."""
        rng = self.rng
        moment = datetime(self.year, month, day, hour, rng.randrange(60), rng.randrange(60), tzinfo=UTC)
        moment += timedelta(microseconds=rng.randrange(1_000_000))
        while moment.weekday() >= 5:
            moment += timedelta(days=1)
        return moment

    def _delay(self, delay: Delay | None) -> timedelta:
        rng = self.rng
        if delay is None:
            # Backdating is left to the stories, where it means something.
            delay = rng.choices(("soon", "later"), weights=(75, 25))[0]
        if delay == "soon":
            return timedelta(minutes=rng.randint(3, 55), milliseconds=rng.randrange(60_000))
        if delay == "later":
            return timedelta(hours=rng.randint(2, 8), milliseconds=rng.randrange(3_600_000))
        return timedelta(hours=rng.randint(26, 50), milliseconds=rng.randrange(3_600_000))

    def _mint(self, unix_ms: int) -> str:
        return str(uuid7_of(unix_ms, self.rng.getrandbits(74)))

    def add(
        self,
        device: str,
        event_type: str,
        when: datetime,
        data: dict[str, Any],
        project: str | None = None,
        *,
        delay: Delay | None = None,
        captured: datetime | None = None,
    ) -> _Draft:
        if project is not None:
            # A project's story is told in order even when weekends push two dates together.
            latest = self._latest.get(project)
            if latest is not None and when <= latest:
                if latest - when > timedelta(days=3):
                    raise AssertionError(f"A demo story is out of order at {when:%Y-%m-%d} ({event_type})")
                when = latest + timedelta(minutes=self.rng.randint(5, 40))
            self._latest[project] = when
        captured = captured or when + self._delay(delay)
        capture_ms = _device_ms(device, captured)
        payload = {key: value for key, value in data.items() if value is not None}
        draft = _Draft(
            device=device,
            capture_ms=capture_ms,
            index=len(self.drafts),
            id=self._mint(capture_ms),
            occurred_at=when,
            type=event_type,
            project_id=project,
            data=payload,
        )
        self.drafts.append(draft)
        return draft

    # -- one helper per event type ------------------------------------------------

    def start(
        self,
        device: str,
        when: datetime,
        name: str,
        kind: str,
        summary: str,
        team: str | None = None,
        *,
        captured: datetime | None = None,
    ) -> str:
        """Record ``project.started``; the project id is a UUIDv7 of the same capture time."""
        captured = captured or when + self._delay("soon")
        project = self._mint(_device_ms(device, captured))
        data = {"name": name, "kind": kind, "summary": summary, "team": team}
        self.add(device, "project.started", when, data, project, captured=captured)
        return project

    def milestone(
        self,
        device: str,
        project: str,
        when: datetime,
        milestone: str,
        note: str | None = None,
        *,
        delay: Delay | None = None,
    ) -> _Draft:
        data = {"milestone": milestone, "note": note}
        return self.add(device, "milestone.reached", when, data, project, delay=delay)

    def metric(
        self, device: str, project: str, when: datetime, key: str, value: float, **fields: Any
    ) -> _Draft:
        delay = fields.pop("delay", None)
        numbers: dict[str, float] = {
            name: float(fields.pop(name)) for name in ("baseline", "low", "high") if name in fields
        }
        data: dict[str, Any] = {"key": key, "value": float(value), **numbers, **fields}
        return self.add(device, "metric.observed", when, data, project, delay=delay)

    def link(
        self, device: str, project: str, when: datetime, cause: str, effect: str, evidence: str, note: str
    ) -> _Draft:
        data = {"cause": cause, "effect": effect, "evidence": evidence, "note": note}
        return self.add(device, "metric.linked", when, data, project)

    def feedback(
        self, device: str, project: str, when: datetime, quote: str, who: str, team: str, decision: str | None
    ) -> _Draft:
        data = {"quote": quote, "source_name": who, "source_team": team, "decision": decision}
        return self.add(device, "feedback.received", when, data, project, delay="later")

    def learn(
        self,
        device: str,
        when: datetime,
        kind: str,
        text: str,
        project: str | None = None,
        *,
        delay: Delay | None = None,
    ) -> _Draft:
        return self.add(device, "learning.noted", when, {"text": text, "kind": kind}, project, delay=delay)

    def win(
        self,
        device: str,
        when: datetime,
        text: str,
        project: str | None = None,
        *,
        voice: bool = False,
        tags: list[str] | None = None,
        delay: Delay | None = None,
    ) -> _Draft:
        data = {"text": text, "source": "voice" if voice else "text", "tags": tags}
        return self.add(device, "win.captured", when, data, project, delay=delay)

    # -- the events, as each device appended them -----------------------------------

    def events(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for device, device_id in DEVICES.items():
            mine = sorted(
                (d for d in self.drafts if d.device == device), key=lambda d: (d.capture_ms, d.index)
            )
            last_clock = 0
            for device_seq, draft in enumerate(mine, start=1):
                last_clock = next_clock(draft.capture_ms, last_clock)
                fields = {
                    "id": draft.id,
                    "device_id": device_id,
                    "device_seq": device_seq,
                    "clock": last_clock,
                    "occurred_at": format_timestamp(draft.occurred_at),
                    "type": draft.type,
                    "v": CURRENT_VERSIONS[draft.type],
                    "project_id": draft.project_id,
                    "data": draft.data,
                }
                result = validate_fields(fields)
                if isinstance(result, Rejection):
                    # Not `assert`: the demo must fail loudly under `python -O` too.
                    raise AssertionError(f"Demo event {fields!r} is invalid: {result.code}: {result.message}")
                events.append(result.fields)
        events.sort(key=canonical_order)
        return events

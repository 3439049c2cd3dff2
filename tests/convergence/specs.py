"""What can happen in a convergence run, as values that print readably in a shrunk example.

Appends of every event type, faults on the wire, troubles of a device and of the
server, each a small frozen dataclass, with the Hypothesis strategies that draw
them. Project and event references are indexes into what the run has made so
far (resolved when the step runs), so a shrunk example stays meaningful.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hypothesis import strategies as st

from tests.support.wire import FAULTS, Fault

Day = str | None


def _day(month: int, day: int) -> str:
    """The ``day`` of the ``month``-th month from March 2025: the year before the world's clock starts
    (2026-03-02), so that no capture is dated after its device's clock, even one set back 26 hours
    (the client refuses an ``occurred_at`` in the future)."""
    year, index = divmod(2025 * 12 + 2 + month, 12)
    return f"{year}-{index + 1:02d}-{day:02d}T09:00:00Z"


days: st.SearchStrategy[Day] = st.none() | st.builds(_day, st.integers(0, 11), st.sampled_from([1, 15]))
words = st.sampled_from(["shipped", "Dana said thanks", "retrained", "naïve bayes 🎉", "x"])
project_refs = st.integers(-1, 5)
"""An index into the user's projects (started on any device, seen here or not); -1 a project never started."""


@dataclass(frozen=True)
class Start:
    name: str
    kind: str
    on: Day


@dataclass(frozen=True)
class Update:
    project: int
    name: str | None
    team: str | None


@dataclass(frozen=True)
class Capture:
    project: int | None
    text: str
    tags: tuple[str, ...]
    on: Day


@dataclass(frozen=True)
class Milestone:
    project: int
    milestone: str
    on: Day


@dataclass(frozen=True)
class Metric:
    """A ``metric.observed`` at version 2: a level or a change, any direction (``none`` included)."""

    project: int
    key: str
    layer: str
    value: float
    baseline: float | None
    interval: tuple[float, float] | None
    direction: str | None
    measure: str
    on: Day


@dataclass(frozen=True)
class Link:
    project: int
    cause: str
    effect: str
    evidence: str


@dataclass(frozen=True)
class Feedback:
    project: int
    quote: str
    decision: str | None
    on: Day


@dataclass(frozen=True)
class Learning:
    text: str
    kind: str
    project: int | None


@dataclass(frozen=True)
class Retract:
    target: int
    whose: Literal["user", "unknown", "other user"]
    """``user``: an event of this user (any device's, seen here or not, retractions included)."""


@dataclass(frozen=True)
class Redact:
    """Erase an event's text everywhere (``event.redacted``); ``target`` and ``whose`` as for ``Retract``
    (a project's start or update included: its name goes too)."""

    target: int
    whose: Literal["user", "unknown", "other user"]


keys = st.sampled_from(["auc", "latency", "saves", "revenue"])
spread = st.sampled_from([0.5, 2.0, 10.0])


@st.composite
def metrics(draw: st.DrawFn) -> Metric:
    value = draw(st.sampled_from([0.0, 3.0, 34.0, 91.5, -2.0]))
    interval = draw(st.none() | st.tuples(spread, spread).map(lambda d: (value - d[0], value + d[1])))
    return Metric(
        draw(project_refs),
        draw(keys),
        draw(st.sampled_from(["model", "production", "business"])),
        value,
        draw(st.none() | st.sampled_from([0.0, 25.0, 90.0])),
        interval,
        draw(st.none() | st.sampled_from(["higher_is_better", "lower_is_better", "none"])),
        draw(st.sampled_from(["level", "change"])),
        draw(days),
    )


appends = st.one_of(
    st.builds(Start, words, st.sampled_from(["model", "experiment", "analysis"]), days),
    st.builds(Update, project_refs, st.none() | words, st.none() | words),
    st.builds(Capture, st.none() | project_refs, words, st.lists(words, max_size=2).map(tuple), days),
    st.builds(
        Milestone,
        project_refs,
        st.sampled_from(
            ["trained", "deployed", "adopted", "rolled_back", "retired", "experiment_concluded", "abandoned"]
        ),
        days,
    ),
    metrics(),
    st.builds(Link, project_refs, keys, keys, st.sampled_from(["ab_test", "shadow", "estimate"])),
    st.builds(Feedback, project_refs, words, st.none() | words, days),
    st.builds(Learning, words, st.sampled_from(["learned", "next"]), st.none() | project_refs),
    st.builds(Retract, st.integers(0, 30), st.sampled_from(["user", "user", "unknown", "other user"])),
    st.builds(Redact, st.integers(0, 30), st.sampled_from(["user", "user", "unknown", "other user"])),
)
faults = st.just([]) | st.lists(st.none() | st.sampled_from(FAULTS), min_size=1, max_size=6)
sizes = st.sampled_from([1, 2, 3, 1000])


@dataclass(frozen=True)
class Skew:
    hours: int


@dataclass(frozen=True)
class ProcessDies:
    close: bool
    page_size: int
    batch_size: int


@dataclass(frozen=True)
class CopyStore:
    pass


device_troubles = st.one_of(
    st.builds(Skew, st.sampled_from([0, -3, 5, -26, 30 * 24])),
    st.builds(ProcessDies, st.booleans(), sizes, sizes),
    st.builds(CopyStore),
)


@dataclass(frozen=True)
class Restart:
    pass


@dataclass(frozen=True)
class ProjectorStops:
    """The projector stops, after ``batches`` more batches of ``size`` events (0: at once)."""

    batches: int
    size: int


@dataclass(frozen=True)
class ResumeProjector:
    pass


@dataclass(frozen=True)
class Rebuild:
    """``admin rebuild`` of every user, while a device syncs (with ``plan``)."""

    device: int
    plan: list[Fault | None]


@dataclass(frozen=True)
class Backup:
    pass


@dataclass(frozen=True)
class Restore:
    which: int
    new_epoch: bool = True
    """False: copied back by hand, not by ``winledger admin restore``: cursor_ahead or the digest tell."""


server_troubles = st.one_of(
    st.builds(Restart),
    st.builds(ProjectorStops, st.integers(0, 3), st.integers(1, 4)),
    st.builds(ResumeProjector),
    st.builds(Rebuild, st.integers(0, 5), faults),
    st.builds(Backup),
    st.builds(Restore, st.integers(0, 3), st.booleans()),
)

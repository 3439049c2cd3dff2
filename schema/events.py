"""Event types: one frozen Struct per (type, version), tagged on ``type``.

Schema evolution rules: a payload never changes shape within a version. A new
field or a changed meaning is a new version ``v`` with a new Struct registered
in ``EVENT_TYPES``, plus an upcaster from the previous version (see
``schema.upcast``). Stored events keep the version they were pushed with.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from msgspec import Meta, Struct

from schema.types import (
    Direction,
    DirectionV2,
    Evidence,
    FiniteFloat,
    Label,
    Layer,
    LearningKind,
    Measure,
    Milestone,
    Name,
    NonNegativeInt,
    PositiveInt,
    ProjectKind,
    Quote,
    Slug,
    Source,
    Tags,
    Text,
    Timestamp,
    Uuid,
)


class Payload(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """Base of every ``data`` payload: absent optional fields stay absent."""


class Envelope(
    Struct,
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
    tag_field="type",
    gc=False,
):
    """The eight envelope fields; each subclass adds its ``data`` and its ``type`` tag.

    ``project_id`` is required for every type except those with
    ``project_optional`` set; ``schema.validation`` enforces it.
    """

    id: Uuid
    device_id: Uuid
    device_seq: PositiveInt
    clock: NonNegativeInt
    occurred_at: Timestamp
    v: NonNegativeInt
    project_id: Uuid | None = None

    project_optional: ClassVar[bool] = False


# -- payloads: ``<Type>V<n>`` is the ``data`` of version n of a type -----------------


class ProjectStartedV1(Payload, frozen=True):
    name: Name
    kind: ProjectKind
    summary: Text | None = None
    team: Name | None = None


class ProjectUpdatedV1(Payload, frozen=True):
    name: Name | None = None
    kind: ProjectKind | None = None
    summary: Text | None = None
    team: Name | None = None


class WinCapturedV1(Payload, frozen=True):
    text: Text
    source: Source
    tags: Tags | None = None


class MilestoneReachedV1(Payload, frozen=True):
    milestone: Milestone
    note: Text | None = None


class MetricObservedV1(Payload, frozen=True):
    key: Slug
    layer: Layer
    value: FiniteFloat
    label: Label | None = None
    unit: Label | None = None
    baseline: FiniteFloat | None = None
    low: FiniteFloat | None = None
    high: FiniteFloat | None = None
    direction: Direction | None = None
    note: Text | None = None


class MetricObservedV2(Payload, frozen=True):
    """Version 2: what the number is (``measure``), and ``direction`` may be ``none``.

    ``measure`` is ``level`` (the default: the quantity itself) or ``change`` (a lift or a saving,
    recorded as such). Like an absent optional field, ``measure`` at its default is left out of the
    normalized form, so a level reads the same whether or not its ``measure`` was sent.
    """

    key: Slug
    layer: Layer
    value: FiniteFloat
    label: Label | None = None
    unit: Label | None = None
    baseline: FiniteFloat | None = None
    low: FiniteFloat | None = None
    high: FiniteFloat | None = None
    direction: Annotated[
        DirectionV2 | None,
        Meta(
            description="Which way is better: `higher_is_better` (what readers assume when it is absent), "
            "`lower_is_better`, or `none` (neither: an elasticity, a neutral share)."
        ),
    ] = None
    note: Text | None = None
    measure: Annotated[
        Measure,
        Meta(
            description="What `value` is: `level` (the quantity itself; the default, left out of the "
            "normalized form) or `change` (a lift or a saving, recorded as such)."
        ),
    ] = "level"


class MetricLinkedV1(Payload, frozen=True):
    cause: Slug
    effect: Slug
    evidence: Evidence
    note: Text | None = None


class FeedbackReceivedV1(Payload, frozen=True):
    quote: Quote
    source_name: Name | None = None
    source_team: Name | None = None
    decision: Text | None = None


class LearningNotedV1(Payload, frozen=True):
    text: Text
    kind: LearningKind


class EventRetractedV1(Payload, frozen=True):
    target: Uuid
    reason: Text | None = None


class EventRedactedV1(Payload, frozen=True):
    target: Uuid
    reason: Text | None = None


# -- events, at their current version ----------------------------------------------


class ProjectStarted(Envelope, tag="project.started", frozen=True):
    data: ProjectStartedV1


class ProjectUpdated(Envelope, tag="project.updated", frozen=True):
    data: ProjectUpdatedV1


class WinCaptured(Envelope, tag="win.captured", frozen=True):
    data: WinCapturedV1
    project_optional: ClassVar[bool] = True


class MilestoneReached(Envelope, tag="milestone.reached", frozen=True):
    data: MilestoneReachedV1


class MetricObserved(Envelope, tag="metric.observed", frozen=True):
    """``metric.observed`` at its current version, 2 (version 1 reads as a ``level``: ``schema.upcast``)."""

    data: MetricObservedV2


class MetricLinked(Envelope, tag="metric.linked", frozen=True):
    data: MetricLinkedV1


class FeedbackReceived(Envelope, tag="feedback.received", frozen=True):
    data: FeedbackReceivedV1


class LearningNoted(Envelope, tag="learning.noted", frozen=True):
    data: LearningNotedV1
    project_optional: ClassVar[bool] = True


class EventRetracted(Envelope, tag="event.retracted", frozen=True):
    data: EventRetractedV1
    project_optional: ClassVar[bool] = True


class EventRedacted(Envelope, tag="event.redacted", frozen=True):
    """Erase the free text of ``data.target`` everywhere (ADR 0007; ``schema.redaction``)."""

    data: EventRedactedV1
    project_optional: ClassVar[bool] = True


TARGETING = ("event.retracted", "event.redacted")
"""The types whose ``data.target`` names another event: a retraction hides it, a redaction erases its text."""


# -- events at an older version: accepted, stored as they are, read through an upcaster ------


class MetricObservedV1Event(Envelope, tag="metric.observed", frozen=True):
    """``metric.observed`` version 1: no ``measure``, and ``direction`` is not ``none``."""

    data: MetricObservedV1


Event = (
    ProjectStarted
    | ProjectUpdated
    | WinCaptured
    | MilestoneReached
    | MetricObserved
    | MetricLinked
    | FeedbackReceived
    | LearningNoted
    | EventRetracted
    | EventRedacted
)
"""Every event type at its current version (a tagged union on ``type``); older versions are only in
``EVENT_TYPES``."""

EVENT_TYPES: dict[str, dict[int, type[Envelope]]] = {
    "project.started": {1: ProjectStarted},
    "project.updated": {1: ProjectUpdated},
    "win.captured": {1: WinCaptured},
    "milestone.reached": {1: MilestoneReached},
    "metric.observed": {1: MetricObservedV1Event, 2: MetricObserved},
    "metric.linked": {1: MetricLinked},
    "feedback.received": {1: FeedbackReceived},
    "learning.noted": {1: LearningNoted},
    "event.retracted": {1: EventRetracted},
    "event.redacted": {1: EventRedacted},
}
"""Every known (type, version) and the Struct that validates it."""

CURRENT_VERSIONS: dict[str, int] = {name: max(versions) for name, versions in EVENT_TYPES.items()}

CLIENT_FIELDS = (
    "id",
    "device_id",
    "device_seq",
    "clock",
    "occurred_at",
    "type",
    "v",
    "project_id",
    "data",
)
"""The nine fields a client creates; the server adds ``seq`` and ``received_at``."""

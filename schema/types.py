"""Constrained field types and the limits every replica enforces."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

MAX_INT = 2**53 - 1
"""Largest integer on the wire: JavaScript clients hold every integer in a Number."""

MAX_NAME = 200
MAX_LABEL = 100
MAX_TEXT = 10_000
MAX_QUOTE = 2_000
MAX_TAGS = 20
MAX_TAG = 50
MAX_TIMESTAMP = 64

UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
# `(?!\n)` because Python's `$` also matches before a trailing newline (ECMAScript's does not,
# and the lookahead changes nothing there).
SLUG_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}(?!\n)$"

_FLOAT_MAX = 1.7976931348623157e308

Uuid = Annotated[
    str,
    Meta(
        pattern=UUID_PATTERN,
        # The length also refuses a trailing newline, which Python's `$` lets through.
        min_length=36,
        max_length=36,
        description="UUID in canonical lowercase 36-character form.",
        examples=["0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f80"],
    ),
]
Slug = Annotated[str, Meta(pattern=SLUG_PATTERN, description="Metric key.")]
PositiveInt = Annotated[int, Meta(ge=1, le=MAX_INT)]
NonNegativeInt = Annotated[int, Meta(ge=0, le=MAX_INT)]
FiniteFloat = Annotated[float, Meta(ge=-_FLOAT_MAX, le=_FLOAT_MAX, description="A finite number.")]
Timestamp = Annotated[
    str,
    Meta(
        max_length=MAX_TIMESTAMP,
        description="RFC 3339 date-time with a timezone, 1970-01-01 to 2100-01-01.",
        examples=["2026-03-14T09:26:53.589793Z"],
    ),
]
Name = Annotated[str, Meta(min_length=1, max_length=MAX_NAME)]
Label = Annotated[str, Meta(min_length=1, max_length=MAX_LABEL)]
Text = Annotated[str, Meta(min_length=1, max_length=MAX_TEXT)]
Quote = Annotated[str, Meta(min_length=1, max_length=MAX_QUOTE)]
Tag = Annotated[str, Meta(min_length=1, max_length=MAX_TAG)]
Tags = Annotated[list[Tag], Meta(max_length=MAX_TAGS)]

ProjectKind = Literal["model", "experiment", "analysis", "infrastructure", "research", "other"]
Source = Literal["text", "voice"]
Stage = Literal[
    "trained",
    "evaluated",
    "experiment_launched",
    "experiment_concluded",
    "shadow_deployed",
    "deployed",
    "adopted",
]
"""The milestones on the way to production, in the order a project passes them."""
Ending = Literal["rolled_back", "retired", "abandoned"]
"""The milestones that end a project's time in production, or the project."""
Milestone = Literal[Stage, Ending]
Layer = Literal["model", "production", "business"]
Direction = Literal["higher_is_better", "lower_is_better"]
"""Which way a metric is better, as ``metric.observed`` version 1 says it."""
DirectionV2 = Literal["higher_is_better", "lower_is_better", "none"]
"""Version 2 adds ``none``: neither higher nor lower is better (an elasticity, a neutral share)."""
Measure = Literal["level", "change"]
"""What a ``metric.observed`` (version 2) value is: a ``level`` (the quantity itself, the default) or a
``change`` (a lift or a saving, recorded as such)."""
Evidence = Literal["ab_test", "shadow", "counterfactual", "before_after", "stakeholder_report", "estimate"]
LearningKind = Literal["learned", "next"]

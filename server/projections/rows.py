"""A user's stored read models as bytes: one row per project, keyed by project id.

Pure: no I/O. Every backend stores exactly these bytes (``model`` and ``summary`` columns of
``project_models``), so a row written by one process or backend reads the same in any other.
The wins and learnings captured without a project have a row of their own, under the key ``''``
(a column of the primary key cannot be NULL), and no summary: they are no project to list.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import msgspec

from schema.projections import ProjectModel, ProjectSummary, summary_of

NO_PROJECT_KEY = ""
"""The row key of the bucket of wins and learnings captured without a project."""

_encoder = msgspec.json.Encoder()
_model_decoder = msgspec.json.Decoder(ProjectModel)
_summary_decoder = msgspec.json.Decoder(ProjectSummary)

EncodedRow = tuple[str, bytes, bytes | None]
"""``(project key, model, summary)``: a row as ``encode_row`` makes it."""


def key_of(project_id: str | None) -> str:
    return NO_PROJECT_KEY if project_id is None else project_id


def project_of(key: str) -> str | None:
    return None if key == NO_PROJECT_KEY else key


def encode_model(model: ProjectModel) -> bytes:
    return _encoder.encode(model)


def decode_model(raw: bytes) -> ProjectModel:
    return _model_decoder.decode(raw)


def decode_summary(raw: bytes) -> ProjectSummary:
    return _summary_decoder.decode(raw)


class Encoded(NamedTuple):
    """A model row's ``model`` and ``summary`` columns, as stored."""

    model: bytes
    summary: bytes | None


def encode_row(key: str, model: ProjectModel) -> Encoded:
    """A model row's ``model`` and ``summary`` columns."""
    summary = None if key == NO_PROJECT_KEY else _encoder.encode(summary_of(model))
    return Encoded(encode_model(model), summary)


def encode_rows(models: Mapping[str, ProjectModel | None]) -> dict[str, Encoded | None]:
    """``encode_row`` of each model (``None`` stays: the project has no row), so that a writer can encode
    before it takes the write lock."""
    return {key: None if model is None else encode_row(key, model) for key, model in models.items()}


def encoded_rows(models: Mapping[str, ProjectModel | Encoded | None]) -> list[EncodedRow]:
    """The rows to write for these models, encoded where they are not yet (``None``: no row)."""
    return [
        (key, *(model if isinstance(model, Encoded) else encode_row(key, model)))
        for key, model in models.items()
        if model is not None
    ]

"""Stored bodies read for folding (``server.projections.bodies.read_body``) without the validation path:
the typed decode gives exactly what ``schema.upcast.read_event`` reads, for every type and version."""

from __future__ import annotations

from typing import Any

from hypothesis import given

from schema import ValidEvent, validate_fields
from schema.upcast import read_event
from server.projections.bodies import decode_event, read_body
from tests import strategies


@given(strategies.events())
def test_a_stored_body_reads_as_the_upcasting_path_reads_it(event: dict[str, Any]) -> None:
    valid = validate_fields(event)
    assert isinstance(valid, ValidEvent)
    body = valid.body
    assert read_body(body) == read_event(decode_event(body))


def test_a_body_of_a_version_this_code_does_not_know_is_skipped() -> None:
    body = (
        b'{"id":"0190f5a0-0000-7000-8000-000000000001","device_id":"0190f5a0-0000-7000-8000-0000000000d1",'
        b'"device_seq":1,"clock":1,"occurred_at":"2026-01-01T00:00:00Z","type":"metric.observed","v":9,'
        b'"project_id":null,"data":{"key":"k","layer":"model","value":1.0}}'
    )
    assert read_body(body) is None

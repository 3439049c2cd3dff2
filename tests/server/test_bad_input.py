"""No input makes the server answer 500: generated bodies, well-formed or not, get a clear answer."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import an_event
from tests.server.conftest import Api, decode
from tests.strategies import events

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
field_names = st.sampled_from(
    ["id", "device_id", "device_seq", "clock", "occurred_at", "type", "v", "project_id", "data", "extra"]
)


@st.composite
def mangled_events(draw: st.DrawFn) -> Any:
    """A valid event with some fields replaced, removed or added, or its data mangled."""
    event = draw(events())
    for _ in range(draw(st.integers(1, 3))):
        name = draw(field_names)
        action = draw(st.sampled_from(["replace", "remove", "data"]))
        if action == "replace":
            event[name] = draw(json_values)
        elif action == "remove":
            event.pop(name, None)
        elif isinstance(event.get("data"), dict):
            event["data"][draw(st.text(max_size=8))] = draw(json_values)
    return event


def _check(api: Api, response: Any, size: int) -> None:
    assert response.status_code != 500, response.text
    body = decode(response)
    if response.status_code == 200:
        assert len(body["results"]) == size
        for result in body["results"]:
            assert list(result) == ["id", "status", "seq", "code", "message"]
            assert (result["seq"] is None) == (result["status"] == "rejected")
            assert (result["code"] is None) == (result["status"] != "rejected")
    else:
        assert 400 <= response.status_code < 500 and body["code"] and body["detail"]


# Each example is a request to the shared server as a fresh body; the user's log may grow, which is fine.
_SETTINGS = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


@_SETTINGS
@given(
    batch=st.lists(mangled_events() | json_values, min_size=1, max_size=4),
    fmt=st.sampled_from(["json", "msgpack"]),
)
def test_generated_batches_get_per_event_results_or_a_problem(api: Api, batch: list[Any], fmt: str) -> None:
    response = api.post("/v1/events", {"events": batch}, fmt)
    _check(api, response, len(batch))


@_SETTINGS
@given(body=json_values, fmt=st.sampled_from(["json", "msgpack"]))
def test_generated_bodies_get_an_answer(api: Api, body: Any, fmt: str) -> None:
    for path in ("/v1/events", "/v1/sync"):
        response = api.post(path, body, fmt)
        size = len(body["events"]) if response.status_code == 200 else 0
        _check(api, response, size)


@_SETTINGS
@given(data=st.binary(max_size=200), cut=st.integers(0, 400))
def test_arbitrary_bytes_get_an_answer(api: Api, data: bytes, cut: int) -> None:
    valid = msgspec.json.encode({"events": [an_event()]})
    for body, fmt in ((data, "json"), (data, "msgpack"), (valid[:cut] + data, "json")):
        response = api.post("/v1/events", body, fmt)
        _check(api, response, len(decode(response).get("results", [])))

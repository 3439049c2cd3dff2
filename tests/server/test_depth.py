"""Nesting depth is bounded before any decoder runs (server/http/depth.py).

msgspec recurses once per level and has no depth limit: on a small C stack a
deep enough body kills the process instead of raising. These tests show such
a body does kill an unprotected decoder, and that the server refuses it first.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.http import protocol
from server.http.depth import MAX_DEPTH, json_depth, msgpack_depth
from tests.factories import an_event, encode
from tests.server.conftest import Api, assert_problem, decode

CRASH_DEPTH = 200_000
ROOT = Path(__file__).parents[2]


def nested(depth: int) -> Any:
    value: Any = []
    for level in range(depth - 1):
        value = [value] if level % 2 else {"k": value}
    return value


def reference_depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((reference_depth(item) for item in value), default=0)
    if isinstance(value, dict):
        return 1 + max((reference_depth(item) for item in value.values()), default=0)
    return 0


def deep_json(depth: int) -> bytes:
    """A push body whose event's data holds ``depth`` nested arrays (never closed: a decoder recurses
    all the way down before it could notice)."""
    return b'{"events":[{"data":' + b"[" * depth


def deep_msgpack(depth: int) -> bytes:
    return b"\x81\xa6events\x91\x81\xa4data" + b"\x91" * depth + b"\x90"


scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(alphabet='ab"\\[]{}é\x00', max_size=40)
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=20) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=60,
)


@given(values)
def test_json_depth_is_the_nesting_depth(value: Any) -> None:
    assert json_depth(msgspec.json.encode(value)) == reference_depth(value)


@given(values | st.binary(max_size=300) | st.builds(msgspec.msgpack.Ext, st.integers(0, 127), st.binary()))
def test_msgpack_depth_is_the_nesting_depth(value: Any) -> None:
    body = msgspec.msgpack.encode(value)
    depth = reference_depth(value)
    assert msgpack_depth(body, limit=1000) == depth
    assert (msgpack_depth(body, limit=2) > 2) == (depth > 2)


def test_strings_escapes_and_binary_do_not_count() -> None:
    assert json_depth(b'["[[[", "\\"[[[", "\\\\", {"{": "}]]]"}]') == 2
    assert json_depth(b'"\\\\\\"[["') == 0
    assert (
        msgpack_depth(
            msgspec.msgpack.encode([b"\x91" * 100, "\x91" * 100, [msgspec.msgpack.Ext(1, b"\x91")]])
        )
        == 2
    )


def test_a_scan_counts_what_a_decoder_meets_before_it_fails() -> None:
    # Unclosed brackets: a decoder recurses into them before it finds the body truncated.
    assert json_depth(b"[" * 1000) == 1000
    assert msgpack_depth(b"\x91" * 1000, limit=2000) == 1000
    assert msgpack_depth(b"\x91" * 1000) == MAX_DEPTH + 1  # stops as soon as it is over the limit


@pytest.mark.parametrize("path", ["/v1/events", "/v1/sync"])
def test_the_deepest_allowed_body_is_decoded_and_one_level_more_is_refused(
    api: Api, fmt: str, path: str
) -> None:
    event = an_event()
    for depth, status in ((MAX_DEPTH, 200), (MAX_DEPTH + 1, 400)):
        # The batch holds a valid event and an event whose `data` nests up to `depth` in all.
        body = {"events": [event, {**an_event(), "data": nested(depth - 3)}]}
        assert reference_depth(body) == depth
        response = api.post(path, encode(body, fmt), fmt)
        if status == 200:
            results = decode(response)["results"]
            assert results[1]["code"] == "invalid_event"
        else:
            problem = assert_problem(response, 400, "malformed_body")
            assert str(MAX_DEPTH) in problem["detail"]
    assert api.count() == 1


@pytest.mark.parametrize("fmt", ["json", "msgpack"])
def test_a_deep_body_is_refused_before_any_decoder_sees_it(
    api: Api, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("a decoder ran on a body nested too deeply")

    monkeypatch.setattr(protocol, "_raw_decoders", {"json": refuse, "msgpack": refuse})
    monkeypatch.setattr(protocol.msgspec.msgpack, "decode", refuse)
    body = deep_json(CRASH_DEPTH) if fmt == "json" else deep_msgpack(CRASH_DEPTH)
    assert_problem(api.post("/v1/events", body, fmt), 400, "malformed_body")


# Decode on a thread with a 256 KiB stack (musl's default is 128 KiB): the C recursion runs out of
# stack long before Python's recursion limit would stop it.
_SMALL_STACK = """
import sys, threading
fmt, guarded, body = sys.argv[1], sys.argv[2] == "guarded", sys.stdin.buffer.read()
outcome = []

def decode():
    if guarded:
        from server.http.problems import ProblemError
        from server.http.protocol import decode_push_body
        try:
            decode_push_body(body, fmt)
        except ProblemError as exc:
            outcome.append(exc.status)
    else:
        import msgspec
        try:
            (msgspec.json.decode if fmt == "json" else msgspec.msgpack.decode)(body)
        except Exception as exc:
            outcome.append(type(exc).__name__)

threading.stack_size(256 * 1024)
thread = threading.Thread(target=decode)
thread.start()
thread.join()
print(outcome)
"""


@pytest.mark.parametrize("fmt", ["json", "msgpack"])
def test_such_a_body_kills_an_unguarded_decoder_and_not_the_server_s(fmt: str) -> None:
    body = deep_json(CRASH_DEPTH) if fmt == "json" else deep_msgpack(CRASH_DEPTH)

    def run(mode: str) -> subprocess.CompletedProcess[bytes]:
        command = [sys.executable, "-c", _SMALL_STACK, fmt, mode]
        return subprocess.run(command, input=body, capture_output=True, timeout=60, cwd=ROOT)

    unguarded = run("unguarded")
    assert unguarded.returncode < 0, f"expected the decoder's process to die of a signal: {unguarded!r}"
    guarded = run("guarded")
    assert (guarded.returncode, guarded.stdout.strip()) == (0, b"[400]"), guarded

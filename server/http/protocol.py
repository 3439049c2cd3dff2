"""Decoding request bodies and parameters of protocol v1, and the messages that answer a push or a pull."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from msgspec import UNSET, Raw

from schema import Rejection, ValidEvent, decode_event
from schema.protocol import (
    MAX_DEPTH,
    PullResponse,
    PushResponse,
    RawPushBody,
    StoredEvent,
    SyncResponse,
    spliced,
)
from schema.types import MAX_INT
from server.eventlog.store import Outcome, Page
from server.http.depth import json_depth, msgpack_depth
from server.http.problems import Format, ProblemError

_raw_decoders: dict[Format, Any] = {
    "json": msgspec.json.Decoder(RawPushBody),
    "msgpack": msgspec.msgpack.Decoder(RawPushBody),
}
_DIGITS = re.compile(r"[0-9]{1,16}")
_MSGPACK_MAP_FIRST = frozenset({*range(0x80, 0x90), 0xDE, 0xDF})
_NOT_AN_OBJECT = {"json": "an object", "msgpack": "a map"}


def _deeper_than_max(body: bytes, fmt: Format) -> bool:
    if fmt == "msgpack":
        return msgpack_depth(body, MAX_DEPTH) > MAX_DEPTH
    # No JSON nests deeper than it has opening brackets: most bodies are shallow, and counting is cheaper
    # than measuring.
    return body.count(b"[") + body.count(b"{") > MAX_DEPTH and json_depth(body) > MAX_DEPTH


def decode_push_body(body: bytes, fmt: Format) -> RawPushBody:
    """Parse the whole body; syntax errors and non-object elements are 400s for the whole request."""
    # Before any decoder: msgspec recurses per level and could overflow the C stack (server/http/depth.py).
    if _deeper_than_max(body, fmt):
        raise ProblemError(
            400,
            "malformed_body",
            f"The body nests arrays and objects more than {MAX_DEPTH} levels deep; an event needs 5",
        )
    if fmt == "json":
        try:
            # msgspec does not check UTF-8 inside values it passes over as Raw (ASCII is UTF-8).
            body.isascii() or body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProblemError(
                400, "malformed_body", f"The body is not valid UTF-8 (byte {exc.start})"
            ) from None
    else:
        try:
            # A full pass checks every string is valid UTF-8 and the structure is complete.
            tree = msgspec.msgpack.decode(body)
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            if "map keys must be hashable" in str(exc):  # a key that is a map or an extension value
                raise ProblemError(
                    400, "malformed_body", f"Map keys must be strings, got a map or an extension value: {exc}"
                ) from None
            raise ProblemError(400, "malformed_body", f"The body is not valid MessagePack: {exc}") from None
        if _has_other_keys(tree):
            raise ProblemError(400, "malformed_body", _other_key(tree))
    try:
        parsed: RawPushBody = _raw_decoders[fmt].decode(body)
    except msgspec.ValidationError as exc:
        for name in ("after", "limit"):
            # `Any` takes every JSON number but one beyond a double's range (1e400).
            if str(exc).endswith(f"- at `$.{name}`"):
                raise ProblemError(
                    400,
                    "invalid_parameter",
                    f"`{name}` must be an integer up to 2^53-1, got a number out of range - at `$.{name}`",
                ) from None
        raise ProblemError(
            400, "malformed_body", f"The body must be an object with an `events` list: {exc}"
        ) from None
    except msgspec.DecodeError as exc:
        kind = "JSON" if fmt == "json" else "MessagePack"
        raise ProblemError(400, "malformed_body", f"The body is not valid {kind}: {exc}") from None
    for index, element in enumerate(parsed.events):
        if not _is_object(element, fmt):
            raise ProblemError(
                400,
                "malformed_body",
                f"Every element of `events` must be {_NOT_AN_OBJECT[fmt]} - at `$.events[{index}]`",
            )
    return parsed


def _has_other_keys(tree: Any) -> bool:
    """Whether a map anywhere in a decoded MessagePack body has a key that is not a string.

    Such a map is no object of the protocol (JSON has no other keys), so the body is malformed as a
    whole, wherever the map is (docs/protocol.md, section 1.3). About 2 ms for 1,000 events.
    """
    stack = [tree]
    while stack:
        item = stack.pop()
        if type(item) is dict:
            for key, value in item.items():
                if type(key) is not str:
                    return True
                if type(value) is dict or type(value) is list:
                    stack.append(value)
        elif type(item) is list:
            stack.extend(value for value in item if type(value) is dict or type(value) is list)
    return False


_KINDS = {int: "int", float: "float", bool: "bool", type(None): "nil", bytes: "bin", tuple: "array"}


def _other_key(tree: Any) -> str:
    """The sentence for the first map key that is not a string, naming where it is."""
    stack: list[tuple[Any, str]] = [(tree, "$")]
    while stack:  # depth first, in the body's order
        item, path = stack.pop()
        if type(item) is dict:
            for key in item:
                if type(key) is not str:
                    return (
                        f"Map keys must be strings, got `{_KINDS.get(type(key), 'timestamp')}` - at `{path}`"
                    )
            stack.extend((value, f"{path}.{key}") for key, value in reversed(item.items()))
        elif type(item) is list:
            stack.extend((value, f"{path}[{index}]") for index, value in reversed(list(enumerate(item))))
    raise AssertionError("no map key that is not a string")


def _is_object(element: Raw, fmt: Format) -> bool:
    data = bytes(element)
    if fmt == "json":
        return data.lstrip()[:1] == b"{"
    return bool(data) and data[0] in _MSGPACK_MAP_FIRST


def decode_events(parsed: RawPushBody, fmt: Format) -> list[ValidEvent | Rejection]:
    return [decode_event(raw, fmt, f"$.events[{index}]") for index, raw in enumerate(parsed.events)]


def query_int(value: str | None, name: str, default: int, minimum: int) -> int:
    if value is None:
        return default
    # fullmatch: `$` would also let a trailing newline through, and int() accepts one.
    if not _DIGITS.fullmatch(value) or int(value) > MAX_INT:
        raise ProblemError(
            400, "invalid_parameter", f"`{name}` must be an integer from {minimum} to 2^53-1, got {value!r}"
        )
    number = int(value)
    if number < minimum:
        raise ProblemError(
            400, "invalid_parameter", f"`{name}` must be an integer from {minimum} to 2^53-1, got {value!r}"
        )
    return number


def body_int(value: Any, name: str, default: int, minimum: int) -> int:
    if value is UNSET:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_INT:
        raise ProblemError(
            400,
            "invalid_parameter",
            f"`{name}` must be an integer from {minimum} to 2^53-1, got {value!r} - at `$.{name}`",
        )
    return value


def push_response(outcomes: list[Outcome], cursor: int, epoch: str) -> PushResponse:
    return PushResponse(results=outcomes, cursor=cursor, epoch=epoch)


def pull_response(page: Page, fmt: Format, epoch: str) -> PullResponse:
    """A page of a pull; ``count`` and ``digest`` only on the last page."""
    last = not page.more
    return PullResponse(
        events=_page_events(page, fmt),
        cursor=page.cursor,
        more=page.more,
        count=page.last_seq if last else UNSET,
        digest=page.digest if last else UNSET,
        epoch=epoch,
    )


def sync_response(outcomes: list[Outcome], page: Page, fmt: Format, epoch: str) -> SyncResponse:
    pulled = pull_response(page, fmt, epoch)
    return SyncResponse(
        results=outcomes,
        events=pulled.events,
        cursor=pulled.cursor,
        more=pulled.more,
        count=pulled.count,
        digest=pulled.digest,
        epoch=epoch,
    )


def _page_events(page: Page, fmt: Format) -> list[StoredEvent]:
    """The page's events with ``seq`` and ``received_at`` added.

    JSON splices the stored normalized bodies (they are served exactly as stored, never re-encoded);
    MessagePack re-encodes them, keeping float fields as doubles.
    """
    events: list[StoredEvent] = spliced(page.events) if fmt == "json" else msgspec.json.decode(page.events)
    return events

"""MessagePack for schemathesis, loaded by ``st run`` through ``SCHEMATHESIS_HOOKS`` (see test_fuzz.py).

The API speaks JSON and MessagePack; with these hooks the fuzzer sends
MessagePack bodies and validates MessagePack answers against the document too.
"""

from __future__ import annotations

from typing import Any

import msgspec
import schemathesis

_INT_RANGE = (-(2**63), 2**64 - 1)


def _encodable(value: Any) -> Any:
    """Generated data MessagePack can carry: lone surrogates replaced, integers past 64 bits as floats."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return value if _INT_RANGE[0] <= value <= _INT_RANGE[1] else float(value)
    if isinstance(value, dict):
        return {_encodable(key): _encodable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_encodable(item) for item in value]
    return value


@schemathesis.serializer("application/msgpack")
def to_msgpack(ctx: schemathesis.SerializationContext, value: Any) -> bytes:
    return msgspec.msgpack.encode(_encodable(value))


@schemathesis.deserializer("application/msgpack")
def from_msgpack(ctx: schemathesis.DeserializationContext, response: schemathesis.Response) -> Any:
    return msgspec.msgpack.decode(response.content)

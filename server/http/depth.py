"""How deeply a request body nests, measured before any decoder sees it.

msgspec's decoders recurse once per level of nesting and have no depth limit
of their own. With Python's default recursion limit they raise
``RecursionError`` around 1000 levels, but a smaller C stack (a worker thread,
musl's 128 KiB threads) or a raised recursion limit lets a body of ``[[[[...``
overflow the C stack and kill the whole process. So the server measures the
depth first, with linear scans that do not recurse, and refuses a body deeper
than ``MAX_DEPTH`` before decoding it.

A decoder reads left to right and stops at the first byte it refuses, so
neither scan needs to validate: each measures at least as deep as any decoder
nests before it stops (exactly, for a valid body), and a body the scan
over-counts is one the decoder refuses anyway. Both are linear: a 4 MiB body
costs tens of milliseconds as events, and at most about as long as decoding it
when built to be slow (millions of one-item arrays).
"""

from __future__ import annotations

import re
from itertools import accumulate

from schema.protocol import MAX_DEPTH

# JSON: escapes cannot hide a quote once escaped backslashes are gone; between the remaining quotes,
# every other piece is outside a string. What remains is brackets, which count +1 and -1. Everything
# but quotes and brackets is dropped first (in C), so that the split works on a short string.
_BRACKET_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_BRACKETS_OR_QUOTES = bytes(set(range(256)) - set(b'[{]}"'))


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in ``body`` (exact for valid JSON)."""
    unescaped = body.replace(b"\\\\", b"").replace(b'\\"', b"") if b"\\" in body else body
    brackets = b"".join(unescaped.translate(None, _NOT_BRACKETS_OR_QUOTES).split(b'"')[::2])
    if not brackets:
        return 0
    steps = memoryview(brackets.translate(_BRACKET_STEPS)).cast("b")
    return max(0, max(accumulate(steps)))


# MessagePack: what each first byte starts. A scalar of a fixed size; a string, binary or extension
# whose length follows the first byte; or a container (array or map) of a number of items.
_SCALAR, _SIZED, _CONTAINER, _COUNTED, _INVALID = range(5)
_FORMAT: list[tuple[int, int, int]] = [(_INVALID, 0, 0)] * 256
for _byte in (*range(0x00, 0x80), 0xC0, 0xC2, 0xC3, *range(0xE0, 0x100)):
    _FORMAT[_byte] = (_SCALAR, 1, 0)
for _byte in range(0xA0, 0xC0):
    _FORMAT[_byte] = (_SCALAR, 1 + (_byte & 0x1F), 0)
for _byte in range(0x80, 0xA0):  # fixmap (keys and values count) and fixarray
    _FORMAT[_byte] = (_CONTAINER, (_byte & 0x0F) * (2 if _byte < 0x90 else 1), 0)
for _byte, _size in zip(range(0xCA, 0xD9), (5, 9, 2, 3, 5, 9, 2, 3, 5, 9, 3, 4, 6, 10, 18), strict=True):
    _FORMAT[_byte] = (_SCALAR, _size, 0)  # floats, ints, fixext
for _byte, _width, _extra in ((0xC4, 1, 0), (0xC5, 2, 0), (0xC6, 4, 0), (0xC7, 1, 1), (0xC8, 2, 1)):
    _FORMAT[_byte] = (_SIZED, _width, _extra)  # bin 8/16/32, ext 8/16
for _byte, _width, _extra in ((0xC9, 4, 1), (0xD9, 1, 0), (0xDA, 2, 0), (0xDB, 4, 0)):
    _FORMAT[_byte] = (_SIZED, _width, _extra)  # ext 32, str 8/16/32
for _byte, _width, _per in ((0xDC, 2, 1), (0xDD, 4, 1), (0xDE, 2, 2), (0xDF, 4, 2)):
    _FORMAT[_byte] = (_COUNTED, _width, _per)  # array 16/32, map 16/32 (keys and values count)
# A run of one-byte scalars (small ints, nil, booleans, empty strings): skipped in one step.
_ONE_BYTE_RUN = re.compile(rb"[\x00-\x7f\xa0\xc0\xc2\xc3\xe0-\xff]+")


def msgpack_depth(body: bytes, limit: int = MAX_DEPTH) -> int:
    """The deepest nesting of arrays and maps in ``body``, or a depth over ``limit`` once one is seen."""
    # `left` items remain at the current level; `outer` holds what remains at each enclosing level
    # (an exhausted level stays until its last item, a container, ends). The outermost level is the
    # body itself, which holds one item.
    outer: list[int] = []
    left = 1
    deepest = 0
    position, end = 0, len(body)
    formats, one_byte_run = _FORMAT, _ONE_BYTE_RUN.match
    while position < end:
        kind, a, b = formats[body[position]]
        if kind == _SCALAR:
            if a == 1 and left > 1:
                run = one_byte_run(body, position, min(end, position + left))
                assert run is not None  # the byte at `position` is one of the run's
                count = run.end() - position
                position += count
                left -= count
            else:
                position += a
                left -= 1
        elif kind == _SIZED:
            position += 1 + a + b + int.from_bytes(body[position + 1 : position + 1 + a], "big")
            left -= 1
        elif kind == _INVALID:
            break  # 0xc1: the decoder refuses the body here
        else:
            if kind == _CONTAINER:
                items = a
                position += 1
            else:
                items = int.from_bytes(body[position + 1 : position + 1 + a], "big") * b
                position += 1 + a
            depth = len(outer) + 1
            if depth > deepest:
                deepest = depth
                if depth > limit:
                    return depth
            left -= 1
            if items:
                outer.append(left)
                left = items
                continue
        while left == 0:
            if not outer:
                return deepest  # the body's one item is complete; the decoder refuses trailing bytes
            left = outer.pop()
    return deepest

"""A lean HTTP/1.1 client for generating load: one keep-alive connection per simulated device.

The benchmarks measure the server, so the load generator must cost far less than the server does per
request. ``httpx`` spends about 4 ms of CPU on a small request here (as much as the server), which on a
2-core machine made the client, not the server, set the pace; this client writes a request with one
``write`` and parses the response with a few ``readuntil``/``readexactly`` calls (about 0.1 ms).
Only what the benchmarks send is supported: ``GET``/``POST``, ``Content-Length`` or chunked replies.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from urllib.parse import urlencode, urlsplit


class Response:
    __slots__ = ("body", "status")

    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Connection:
    """One persistent connection to ``base_url`` (``http://host:port``)."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or parts.hostname is None or parts.port is None:
            raise ValueError(f"expected http://host:port, got {base_url!r}")
        self.host, self.port = parts.hostname, parts.port
        self._headers = f"Host: {self.host}:{self.port}\r\n"
        if token:
            self._headers += f"Authorization: Bearer {token}\r\n"
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> Connection:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port, limit=1 << 24)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()

    async def post(self, path: str, body: bytes) -> Response:
        head = (
            f"POST {path} HTTP/1.1\r\n{self._headers}Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        return await self._exchange(head.encode("latin-1") + body)

    async def get(self, path: str, params: dict[str, object] | None = None) -> Response:
        target = f"{path}?{urlencode(params)}" if params else path
        return await self._exchange(f"GET {target} HTTP/1.1\r\n{self._headers}\r\n".encode("latin-1"))

    async def _exchange(self, request: bytes) -> Response:
        reader, writer = self._reader, self._writer
        if reader is None or writer is None:
            raise RuntimeError("use the connection in an `async with` block")
        writer.write(request)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = None
        chunked = False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if chunked:
            parts = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")
                    break
                parts.append(await reader.readexactly(size))
                await reader.readexactly(2)
            body = b"".join(parts)
        else:
            body = await reader.readexactly(length or 0)
        return Response(status, body)

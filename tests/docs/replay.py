"""Replay the HTTP examples of a Markdown page against the real app, and say where they differ.

The convention is stated for readers at the top of docs/protocol-examples.md. In short: a ```http
block that starts with a request line is a request, and the ```http block after it is its answer
(status, the headers shown, the body as a value of its Content-Type). A page's examples run in
order on one in-process server, from an empty store; ``<!-- replay: ACTION ... -->`` lines change
the server between examples (``fresh``, ``restart``, ``backup``, ``restore``, ``revoke``). Each
distinct bearer token stands for a token of the user ``ada``; values a server makes up (``VARYING``,
and the ``Winledger-Epoch`` header) are bound to what it answered the first time, then compared.
A body in parentheses describes bytes (``_body``, ``STALL``).

``python -m tests.docs.replay docs/PAGE.md`` prints what the server answers to each request of
the page, to write or update an example from.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import msgspec
from anyio.from_thread import BlockingPortal, start_blocking_portal

from tests.support.inprocess import InProcessServer

USER = "ada"
VARYING = frozenset({"epoch", "received_at", "server_time", "exported_at"})
NOT_COMPARED = frozenset({"transfer-encoding"})
REQUEST_LINE = re.compile(r"^(?P<method>[A-Z]+) (?P<target>\S+) HTTP/1\.1$")
STATUS_LINE = re.compile(r"^HTTP/1\.1 (?P<status>[0-9]{3})(?: .*)?$")
DIRECTIVE = re.compile(r"^<!-- replay: (?P<action>[a-z]+)(?P<args>(?: \S+)*) -->$")
FENCE = re.compile(r"^```(?P<lang>[a-z]*)$")
REPEAT = re.compile(r"\[(?P<item>[^\[\],]+), (?P=item), \.\.\. (?P<count>[0-9]+) elements \.\.\.\]")
PADDING = re.compile(r"^\((?P<size>[0-9]+) bytes\)$")
STALL = re.compile(r"^\((?P<sent>[0-9]+) of (?P<size>[0-9]+) bytes, then nothing\)$")


@dataclass(frozen=True)
class Message:
    """A request or a response as a page shows it."""

    line: int
    start: str
    headers: list[tuple[str, str]]
    body: str

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)


@dataclass(frozen=True)
class Directive:
    line: int
    action: str
    args: list[str]


@dataclass(frozen=True)
class Exchange:
    request: Message
    response: Message


Step = Directive | Exchange


def _message(line: int, text: str) -> Message:
    head, _, body = text.partition("\n\n")
    start, *header_lines = head.split("\n")
    headers = []
    for header in header_lines:
        name, _, value = header.partition(":")
        headers.append((name.strip(), value.strip()))
    return Message(line, start, headers, body)


def _kind(lang: str, first_line: str) -> str | None:
    """``request``, ``response``, or None for a block that is no part of an example."""
    if lang != "http":
        return None
    if REQUEST_LINE.match(first_line):
        return "request"
    if STATUS_LINE.match(first_line):
        return "response"
    raise ValueError(f"an ```http block is a request or a response, not {first_line!r}")


def parse(page: str) -> list[Step]:
    """The page's directives and request/response pairs, in page order; line numbers are the fences'."""
    steps: list[Step] = []
    pending: Message | None = None
    lines = page.split("\n")
    index = 0
    while index < len(lines):
        if directive := DIRECTIVE.match(lines[index]):
            steps.append(Directive(index + 1, directive["action"], directive["args"].split()))
        elif fence := FENCE.match(lines[index]):
            end = lines.index("```", index + 1)
            message = _message(index + 1, "\n".join(lines[index + 1 : end]))
            kind = _kind(fence["lang"], message.start)
            if kind == "response" and pending is not None:
                steps.append(Exchange(pending, message))
                pending = None
            elif pending is not None:
                raise ValueError(f"line {pending.line}: a request with no ```http response right after it")
            elif kind == "response":
                raise ValueError(f"line {message.line}: a response with no request before it")
            elif kind == "request":
                pending = message
            index = end
        index += 1
    if pending is not None:
        raise ValueError(f"line {pending.line}: a request with no ```http response right after it")
    return steps


class Mismatch(AssertionError):
    """Where a page's example and the server's answer part."""


@dataclass
class Bindings:
    """Run-dependent values: each one the page shows stands for one the server gave."""

    seen: dict[str, str] = field(default_factory=dict)

    def check(self, shown: str, actual: Any, where: str) -> None:
        if not isinstance(actual, str):
            raise Mismatch(f"{where}: the page shows {shown!r}, the server {actual!r}")
        if shown in self.seen:
            if self.seen[shown] != actual:
                raise Mismatch(f"{where}: {shown!r} stood for {self.seen[shown]!r} before, now {actual!r}")
            return
        if actual in self.seen.values():
            raise Mismatch(f"{where}: the page shows the new value {shown!r} for {actual!r}, shown before")
        self.seen[shown] = actual


def _typed(value: Any) -> Any:
    return (type(value).__name__, value)


def compare(shown: Any, actual: Any, bindings: Bindings, where: str = "$") -> None:
    if isinstance(shown, dict) and isinstance(actual, dict):
        if set(shown) != set(actual):
            missing, extra = sorted(set(actual) - set(shown)), sorted(set(shown) - set(actual))
            raise Mismatch(
                f"{where}: the page lacks keys {missing} and shows keys {extra} the server has not"
            )
        for key, value in shown.items():
            if key in VARYING and isinstance(value, str):
                bindings.check(value, actual[key], f"{where}.{key}")
            else:
                compare(value, actual[key], bindings, f"{where}.{key}")
    elif isinstance(shown, list) and isinstance(actual, list):
        if len(shown) != len(actual):
            raise Mismatch(f"{where}: the page shows {len(shown)} items, the server {len(actual)}")
        for index, (item, answer) in enumerate(zip(shown, actual, strict=True)):
            compare(item, answer, bindings, f"{where}[{index}]")
    elif _typed(shown) != _typed(actual):
        raise Mismatch(f"{where}: the page shows {shown!r}, the server {actual!r}")


def _media(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


def compare_body(shown: Message, actual: httpx.Response, bindings: Bindings) -> None:
    media = _media(shown.header("Content-Type"))
    if media in ("application/json", "application/problem+json"):
        compare(msgspec.json.decode(shown.body), msgspec.json.decode(actual.content), bindings)
    elif media == "application/msgpack":
        page = msgspec.msgpack.decode(bytes.fromhex(shown.body))
        compare(page, msgspec.msgpack.decode(actual.content), bindings)
    elif media == "application/x-ndjson":
        page_lines, answer_lines = shown.body.strip("\n").split("\n"), actual.text.strip("\n").split("\n")
        compare(
            [msgspec.json.decode(line) for line in page_lines],
            [msgspec.json.decode(line) for line in answer_lines],
            bindings,
        )
    elif media.startswith("text/"):
        if shown.body.strip("\n") != actual.text.strip("\n"):
            raise Mismatch(f"the body differs; the server's:\n{actual.text}")
    elif shown.body.strip() or actual.content:
        raise Mismatch(f"no way to compare a body of Content-Type {media!r}")


class Run:
    """One page's examples, replayed in order on in-process servers in ``folder``."""

    def __init__(self, portal: BlockingPortal, folder: Path) -> None:
        self.portal = portal
        self.folder = folder
        self.stores = 0
        self.server: InProcessServer | None = None
        self.settings: dict[str, Any] = {}
        self.tokens: dict[str, str] = {}
        self.bindings = Bindings()
        self.last_body = b""

    def _serve(self, db_path: Path, settings: dict[str, Any]) -> None:
        if self.server is not None:
            self.server.close()
        self.settings = settings
        self.server = InProcessServer(db_path, self.portal, **settings)

    def fresh(self, settings: dict[str, Any]) -> None:
        self.stores += 1
        self._serve(self.folder / f"store-{self.stores}.db", settings)
        self.tokens, self.bindings = {}, Bindings()

    def apply(self, directive: Directive) -> None:
        settings = dict(_setting(arg) for arg in directive.args)
        if directive.action == "fresh":
            self.fresh(settings)
            return
        server = self._current()
        database, backup = Path(server.db_path), self.folder / f"store-{self.stores}.backup.db"
        match directive.action:
            case "restart":
                self._serve(database, settings)
            case "backup":
                with closing(sqlite3.connect(database)) as source, closing(sqlite3.connect(backup)) as copy:
                    source.backup(copy)
            case "restore":  # by hand, as an operator copying a file back would: the epoch stays
                server.close()
                self.server = None
                shutil.copyfile(backup, database)
                for suffix in ("-wal", "-shm"):
                    Path(f"{database}{suffix}").unlink(missing_ok=True)
                self._serve(database, self.settings)
            case "revoke":
                server.revoke_token(self.token(directive.args[0]).split("_")[1])
            case _:
                raise ValueError(f"line {directive.line}: unknown replay action {directive.action!r}")

    def _current(self) -> InProcessServer:
        if self.server is None:
            self.fresh({})
        assert self.server is not None
        return self.server

    def token(self, shown: str) -> str:
        if shown not in self.tokens:
            server = self._current()
            make = server.create_token if self.tokens else server.create_user
            self.tokens[shown] = make(USER, f"token {len(self.tokens) + 1}")
        return self.tokens[shown]

    def send(self, request: Message) -> httpx.Response:
        server = self._current()
        method, target = REQUEST_LINE.match(request.start).group("method", "target")  # type: ignore[union-attr]
        headers = {}
        for name, value in request.headers:
            if name.lower() == "authorization" and value.lower().startswith("bearer "):
                value = f"Bearer {self.token(value[len('bearer ') :])}"
            headers[name] = value
        stall = STALL.match(request.body.strip())
        if stall:
            return self._stalled(server, method, target, headers, int(stall["sent"]), int(stall["size"]))
        body = self._body(request.body)
        self.last_body = body
        return server.http.request(method, target, headers=headers, content=body)

    def _body(self, text: str) -> bytes:
        text = text.strip("\n")
        padding = PADDING.match(text)
        if text == "(the same body as above)":
            return self.last_body
        if padding:
            return b" " * int(padding["size"])
        return REPEAT.sub(lambda m: "[" + ", ".join([m["item"]] * int(m["count"])) + "]", text).encode()

    def _stalled(
        self, server: InProcessServer, method: str, target: str, headers: dict[str, str], sent: int, size: int
    ) -> httpx.Response:
        async def chunks() -> AsyncIterator[bytes]:
            yield b" " * sent
            await anyio.sleep(60)

        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=server.app)
            async with httpx.AsyncClient(transport=transport, base_url=server.url) as client:
                request = client.build_request(
                    method, target, headers={**headers, "Content-Length": str(size)}, content=chunks()
                )
                response = await client.send(request)
                await response.aread()
                return response

        return server.portal.call(send)

    def check(self, exchange: Exchange) -> None:
        shown, actual = exchange.response, self.send(exchange.request)
        try:
            status = int(STATUS_LINE.match(shown.start)["status"])  # type: ignore[index]
            if actual.status_code != status:
                raise Mismatch(
                    f"status: the page shows {status}, the server {actual.status_code}: {actual.text}"
                )
            for name, value in shown.headers:
                if name.lower() in NOT_COMPARED:
                    continue
                answer = actual.headers.get(name)
                if name.lower() == "winledger-epoch":
                    self.bindings.check(value, answer, "Winledger-Epoch")
                elif answer != value:
                    raise Mismatch(f"header {name}: the page shows {value!r}, the server {answer!r}")
            compare_body(shown, actual, self.bindings)
        except Mismatch as mismatch:
            where = f"the example at line {exchange.request.line} ({exchange.request.start})"
            raise Mismatch(f"{where}: {mismatch}") from None

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None


def _setting(arg: str) -> tuple[str, Any]:
    name, _, raw = arg.partition("=")
    for kind in (int, float):
        try:
            return name, kind(raw)
        except ValueError:
            pass
    return name, raw


@contextmanager
def run(portal: BlockingPortal, folder: Path) -> Iterator[Run]:
    replay = Run(portal, folder)
    try:
        yield replay
    finally:
        replay.close()


def replay(page: str, portal: BlockingPortal, folder: Path) -> int:
    """Replay every example of ``page``; raise ``Mismatch`` at the first that differs. Returns how many."""
    count = 0
    with run(portal, folder) as replaying:
        for step in parse(page):
            if isinstance(step, Directive):
                replaying.apply(step)
            else:
                replaying.check(step)
                count += 1
    return count


def _show(response: httpx.Response) -> str:
    media = _media(response.headers.get("content-type"))
    lines = [f"HTTP/1.1 {response.status_code} {response.reason_phrase}"]
    lines += [f"{name}: {value}" for name, value in response.headers.items() if name != "content-length"]
    if media in ("application/json", "application/problem+json"):
        body = msgspec.json.format(response.content, indent=2).decode()
    elif media == "application/msgpack":
        body = response.content.hex(" ", 1)
    else:
        body = response.text
    return "\n".join(lines) + "\n\n" + body


def main(path: str) -> None:
    """Print the server's answer to each request of the page at ``path`` (directives applied)."""
    with (
        start_blocking_portal() as portal,
        tempfile.TemporaryDirectory() as folder,
        run(portal, Path(folder)) as r,
    ):
        for step in parse(Path(path).read_text(encoding="utf-8")):
            if isinstance(step, Directive):
                r.apply(step)
                print(f"--- line {step.line}: replay {step.action} {' '.join(step.args)}")
            else:
                print(f"--- line {step.request.line}: {step.request.start}")
                print(_show(r.send(step.request)))


if __name__ == "__main__":
    main(sys.argv[1])

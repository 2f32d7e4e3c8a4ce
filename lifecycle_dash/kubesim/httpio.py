"""A small HTTP/1.1 reader and response writer for the API server.

Enough of RFC 9112 for kubectl, client-go and the Python client: persistent connections,
Content-Length and chunked request bodies, chunked streaming responses (watches). No TLS (the
kubeconfig points at plain http), no pipelining beyond reading one request after another.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import parse_qsl, unquote

MAX_BODY = 32 * 1024 * 1024
SERVER_HEADER = b"Server: kubesim\r\n"


class BadHttpRequest(Exception):
    pass


@dataclass(slots=True)
class Request:
    method: str
    target: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    keep_alive: bool

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() in ("1", "true")


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """Read one request; None when the client closed the connection between requests."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise BadHttpRequest("truncated request head") from exc
    except asyncio.LimitOverrunError as exc:
        raise BadHttpRequest("request head too large") from exc
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, version = lines[0].split(" ", 2)
    except ValueError as exc:
        raise BadHttpRequest(f"bad request line {lines[0]!r}") from exc
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise BadHttpRequest(f"bad header line {line!r}")
        key = name.strip().lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    body = await _read_body(reader, headers)
    path, _, query_string = target.partition("?")
    query = dict(parse_qsl(query_string, keep_blank_values=True))
    connection = headers.get("connection", "").lower()
    keep_alive = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
    return Request(method.upper(), target, unquote(path), query, headers, body, keep_alive)


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        parts: list[bytes] = []
        size_total = 0
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                # Trailers (normally none) end with an empty line.
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass
                return b"".join(parts)
            size_total += size
            if size_total > MAX_BODY:
                raise BadHttpRequest("request body too large")
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
    length = int(headers.get("content-length", "0") or "0")
    if length > MAX_BODY:
        raise BadHttpRequest("request body too large")
    return await reader.readexactly(length) if length else b""


def _status_line(code: int) -> bytes:
    try:
        phrase = HTTPStatus(code).phrase
    except ValueError:
        phrase = "Unknown"
    return f"HTTP/1.1 {code} {phrase}\r\n".encode()


def response(
    code: int,
    body: bytes,
    *,
    content_type: str = "application/json",
    keep_alive: bool = True,
    extra_headers: tuple[tuple[str, str], ...] = (),
) -> bytes:
    head = response_head(
        code,
        len(body),
        content_type=content_type,
        keep_alive=keep_alive,
        extra_headers=extra_headers,
    )
    return head + body


def response_head(
    code: int,
    length: int,
    *,
    content_type: str = "application/json",
    keep_alive: bool = True,
    extra_headers: tuple[tuple[str, str], ...] = (),
) -> bytes:
    """Status line and headers alone: large bodies are written separately, never copied."""
    head = [
        _status_line(code),
        SERVER_HEADER,
        f"Content-Type: {content_type}\r\n".encode(),
        f"Content-Length: {length}\r\n".encode(),
        b"Cache-Control: no-cache, private\r\n",
    ]
    head.extend(f"{name}: {value}\r\n".encode() for name, value in extra_headers)
    if not keep_alive:
        head.append(b"Connection: close\r\n")
    head.append(b"\r\n")
    return b"".join(head)


def stream_head(code: int, *, content_type: str = "application/json") -> bytes:
    return b"".join(
        (
            _status_line(code),
            SERVER_HEADER,
            f"Content-Type: {content_type}\r\n".encode(),
            b"Cache-Control: no-cache, private\r\n",
            b"Transfer-Encoding: chunked\r\n",
            b"\r\n",
        )
    )


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


LAST_CHUNK = b"0\r\n\r\n"

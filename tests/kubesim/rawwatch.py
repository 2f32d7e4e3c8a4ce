"""A minimal watch client on a plain socket, to observe exactly what goes over the wire.

It tells a cleanly ended chunked stream (``None``) from a cut connection (``StreamCut``), which
the official client hides.
"""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

from tests.kubesim.simulator import TOKEN


class StreamCut(Exception):
    pass


class RawWatch:
    def __init__(self, url: str, path: str, *, token: str = TOKEN, timeout: float = 10) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or 80), timeout=timeout
        )
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n{auth}Accept: application/json\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        self._raw = b""
        self._lines: list[bytes] = []
        self._partial = b""
        self.ended = False
        head = self._read_until(b"\r\n\r\n")
        self.status = int(head.split(b" ", 2)[1])
        assert b"chunked" in head.lower(), head

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise StreamCut("connection closed before the last chunk")
        self._raw += data

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self._raw:
            self._fill()
        head, _, self._raw = self._raw.partition(marker)
        return head

    def _read_exact(self, size: int) -> bytes:
        while len(self._raw) < size:
            self._fill()
        data, self._raw = self._raw[:size], self._raw[size:]
        return data

    def next_line(self, timeout: float = 10) -> bytes | None:
        """The next complete line; None once the stream has ended cleanly."""
        deadline = time.monotonic() + timeout
        while not self._lines:
            if self.ended:
                return None
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            size = int(self._read_until(b"\r\n"), 16)
            if size == 0:
                self._read_until(b"\r\n")
                self.ended = True
                continue
            data = self._partial + self._read_exact(size)
            self._read_exact(2)
            *complete, self._partial = data.split(b"\n")
            self._lines.extend(line for line in complete if line)
        return self._lines.pop(0)

    def expect_line(self, timeout: float = 10) -> bytes:
        line = self.next_line(timeout)
        assert line is not None, "the stream ended"
        return line

    def close(self) -> None:
        self.sock.close()

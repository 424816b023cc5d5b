"""A flaky reverse proxy on 127.0.0.1 in front of a real `mtx serve`, for the client's retries.

Each request takes the next behaviour from a script: forward it and relay the answer, forward
it and then drop the connection (the effect happened, the client saw nothing), or answer an
error itself without forwarding. It runs in threads, so the blocking client can use it too.
"""

from __future__ import annotations

import socket
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


@dataclass(frozen=True)
class Forward:
    """Relay the request upstream and its answer back."""


@dataclass(frozen=True)
class ForwardThenDrop:
    """Relay the request upstream, then close the connection without answering."""


@dataclass(frozen=True)
class Refuse:
    """Answer `status` with `headers` (and the error envelope) without forwarding."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)


Behaviour = Forward | ForwardThenDrop | Refuse


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    idempotency_key: str | None


class FlakyProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = httpx.Client(base_url=upstream, timeout=30.0)
        self.seen: list[Seen] = []
        self.script: deque[Behaviour] = deque()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def then(self, *behaviours: Behaviour) -> None:
        with self._lock:
            self.script.extend(behaviours)

    def take(self, seen: Seen) -> Behaviour:
        with self._lock:
            self.seen.append(seen)
            return self.script.popleft() if self.script else Forward()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    proxy: FlakyProxy

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A dropped connection is the point of this server, not an error."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def _relay(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {name: value for name, value in self.headers.items() if name.lower() != "host"}
        proxy = self.server.proxy
        behaviour = proxy.take(Seen(self.command, self.path, self.headers.get("idempotency-key")))
        if isinstance(behaviour, Refuse):
            payload = b'{"error":{"code":"proxy_refused","message":"Refused by the test proxy."}}'
            self._answer(behaviour.status, behaviour.headers, payload)
            return
        answer = proxy.upstream.request(self.command, self.path, content=body, headers=headers)
        if isinstance(behaviour, ForwardThenDrop):
            self.close_connection = True
            with suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        relayed = {
            name: value
            for name, value in answer.headers.items()
            if name.lower() not in {"content-length", "transfer-encoding", "connection"}
        }
        self._answer(answer.status_code, relayed, answer.content)

    def _answer(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        with suppress(OSError):
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() != "content-type":
                    self.send_header(name, value)
            self.send_header("content-type", headers.get("content-type", "application/json"))
            self.send_header("content-length", str(len(payload)))
            self.send_header("connection", "close")
            self.end_headers()
            self.wfile.write(payload)
        self.close_connection = True

    do_GET = do_POST = do_DELETE = _relay

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests assert on `seen`."""


@contextmanager
def flaky_proxy(upstream: str) -> Iterator[FlakyProxy]:
    proxy = FlakyProxy(upstream)
    proxy._thread.start()
    try:
        yield proxy
    finally:
        proxy._server.shutdown()
        proxy._server.server_close()
        proxy.upstream.close()

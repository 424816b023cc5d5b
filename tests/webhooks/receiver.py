"""A real HTTP server on 127.0.0.1 that records webhook requests and answers from a script.

It runs in threads of its own (`ThreadingHTTPServer`), so a handler that sleeps past the
deliverer's read timeout does not block the event loop the test and the worker share.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Answer:
    """Answer `status` (with `headers`) after sleeping `delay` seconds."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class Drop:
    """Close the connection without answering."""


@dataclass(frozen=True)
class Hold:
    """Keep the request open, unanswered, until `released` is set (at most `limit`
    seconds), then answer `status`: a delivery provably in flight."""

    released: threading.Event = field(default_factory=threading.Event)
    status: int = 200
    limit: float = 300.0


Behaviour = Answer | Drop | Hold


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """Records every request; answers the next ones from `script`, then `default`."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: deque[Behaviour] = deque()
        self.default: Behaviour = Answer(200)
        self._lock = threading.Condition()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.receiver = self
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def then(self, *behaviours: Behaviour) -> None:
        """Answer the next requests with these, in order."""
        with self._lock:
            self.script.extend(behaviours)

    def take(self, request: Received) -> Behaviour:
        with self._lock:
            self.received.append(request)
            self._lock.notify_all()
            return self.script.popleft() if self.script else self.default

    def wait_for(self, count: int, timeout: float) -> bool:
        """Block until `count` requests arrived (True) or `timeout` seconds passed (False)."""
        with self._lock:
            return self._lock.wait_for(lambda: len(self.received) >= count, timeout)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops connections of a concurrent worker
    receiver: Receiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout, closed) is part of the tests, not an error."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        request = Received(
            self.path, {name.lower(): value for name, value in self.headers.items()}, body
        )
        behaviour = self.server.receiver.take(request)
        if isinstance(behaviour, Drop):
            self.close_connection = True
            with suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if isinstance(behaviour, Hold):
            behaviour.released.wait(behaviour.limit)
            behaviour = Answer(behaviour.status)
        elif behaviour.delay:
            time.sleep(behaviour.delay)
        with suppress(OSError):
            self.send_response(behaviour.status)
            for name, value in behaviour.headers.items():
                self.send_header(name, value)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test asserts on `received` instead."""


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()

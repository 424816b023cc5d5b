"""A bounded HTTP/1.1 load generator: N keep-alive connections, one request in flight each.

It speaks just enough HTTP/1.1 for JSON APIs (Content-Length bodies, keep-alive) over
plain asyncio streams, so the client spends far less CPU per request than a general
client such as httpx would. That matters on a 2-core machine where the client, the
server and the database share the CPUs: a heavy client flattens every ratio.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

#: The status recorded when a request got no HTTP response (connection reset or closed).
CONNECTION_FAILED = 0


class ProtocolError(Exception):
    """The server answered with something this small client does not understand."""


def build_request(
    method: str,
    path: str,
    *,
    host: str,
    port: int,
    headers: dict[str, str] | None = None,
    json_body: Any = None,
) -> bytes:
    """One complete HTTP/1.1 request, ready to be written again and again."""
    body = b"" if json_body is None else json.dumps(json_body, separators=(",", ":")).encode()
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines.extend(f"{name}: {value}" for name, value in (headers or {}).items())
    if json_body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    keep_alive: bool


async def read_response(reader: asyncio.StreamReader) -> Response:
    head = await reader.readuntil(b"\r\n\r\n")
    try:
        status = int(head[9:12])
    except ValueError:
        raise ProtocolError(f"bad status line: {head[:40]!r}") from None
    lowered = head.lower()
    marker = lowered.find(b"\r\ncontent-length:")
    if marker < 0:
        raise ProtocolError("response without Content-Length")
    end = lowered.index(b"\r\n", marker + 2)
    length = int(lowered[marker + 17 : end])
    body = await reader.readexactly(length) if length else b""
    return Response(status, body, b"\r\nconnection: close" not in lowered)


@dataclass
class LoadResult:
    """What one measurement window saw: counts, statuses, latencies (ms) and its length."""

    label: str
    workers: int
    elapsed_s: float
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    #: Statuses of the warm-up requests, kept to check that every request succeeded.
    warmup_statuses: Counter[int] = field(default_factory=Counter)
    expected_status: int = 200
    sample_body: bytes = b""

    @property
    def ok(self) -> int:
        return self.statuses[self.expected_status]

    @property
    def errors(self) -> int:
        return sum(self.statuses.values()) - self.ok

    @property
    def all_statuses(self) -> Counter[int]:
        return self.statuses + self.warmup_statuses

    @property
    def total_requests(self) -> int:
        return sum(self.all_statuses.values())

    @property
    def warmup_errors(self) -> int:
        return sum(self.warmup_statuses.values()) - self.warmup_statuses[self.expected_status]

    @property
    def rps(self) -> float:
        """Successful requests per second of the measured window."""
        return self.ok / self.elapsed_s if self.elapsed_s > 0 else 0.0


async def run_load(
    label: str,
    host: str,
    port: int,
    requests: Sequence[bytes],
    *,
    workers: int,
    duration_s: float,
    warmup_s: float,
    expected_status: int = 200,
) -> LoadResult:
    """Drive `workers` connections for warmup + duration seconds; record the duration part.

    Worker i sends requests[i % len(requests)] in a closed loop. Only requests that
    start after the warm-up count, and no request starts after the deadline, so
    `rps` is completed requests over the time they took.
    """
    if not requests:
        raise ValueError("no requests to send")
    begin = time.perf_counter()
    measure_from = begin + warmup_s
    deadline = measure_from + duration_s
    result = LoadResult(label, workers, 0.0, expected_status=expected_status)
    finished_at: list[float] = []

    async def worker(index: int) -> None:
        request = requests[index % len(requests)]
        reader, writer = await asyncio.open_connection(host, port)
        latencies = result.latencies_ms
        try:
            while True:
                started = time.perf_counter()
                if started >= deadline:
                    break
                try:
                    writer.write(request)
                    response = await read_response(reader)
                except (OSError, asyncio.IncompleteReadError, ProtocolError):
                    # Counted as status 0; the server dropped the connection, so open another.
                    response = Response(CONNECTION_FAILED, b"", keep_alive=False)
                done = time.perf_counter()
                if started >= measure_from:
                    latencies.append((done - started) * 1000.0)
                    result.statuses[response.status] += 1
                    if not result.sample_body:
                        result.sample_body = response.body
                else:
                    result.warmup_statuses[response.status] += 1
                if not response.keep_alive:
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
            finished_at.append(time.perf_counter())
        finally:
            writer.close()

    await asyncio.gather(*(worker(i) for i in range(workers)))
    result.elapsed_s = max(finished_at) - measure_from
    return result


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (0.0 when there are none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]

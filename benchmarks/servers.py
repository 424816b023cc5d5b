"""Server subprocesses on loopback: start, wait until they answer, stop (always)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

from benchmarks.loadgen import build_request, read_response

HOST = "127.0.0.1"
Popen: TypeAlias = "subprocess.Popen[bytes]"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0


class ServerFailed(Exception):
    """A server exited or never became ready; the message ends with its log's tail."""


def free_port() -> int:
    """A TCP port nothing listens on right now, on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def clean_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment minus any MTX_*/BENCH_* settings, plus `extra`.

    A developer's own MTX_REDIS_URL or MTX_DATABASE_URL must not leak into a run.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MTX_", "BENCH_"))}
    env.update(extra)
    return env


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class Server:
    name: str
    process: Popen
    port: int
    log_path: Path
    host: str = HOST

    def cpu_seconds(self) -> float | None:
        """User + system CPU the server process has used so far (Linux /proc), or None."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        ticks = int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited in time. Safe to call twice."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


async def _answers(host: str, port: int, path: str) -> bool:
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        return False
    try:
        writer.write(build_request("GET", path, host=host, port=port))
        response = await asyncio.wait_for(read_response(reader), 5)
    except (OSError, asyncio.IncompleteReadError, TimeoutError):
        return False
    finally:
        writer.close()
    return response.status == 200


def _spawn(argv: Sequence[str], env: Mapping[str, str], cwd: Path, log_path: Path) -> Popen:
    """Start `argv` in its own session, so a Ctrl-C in the terminal reaches only the
    benchmark, which then stops its servers in order."""
    with log_path.open("wb") as log:
        return subprocess.Popen(
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


async def _wait_ready(server: Server, ready_path: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not await _answers(server.host, server.port, ready_path):
        if server.process.poll() is not None:
            raise ServerFailed(
                f"{server.name} exited with {server.process.returncode}:\n"
                + log_tail(server.log_path)
            )
        if time.monotonic() > deadline:
            raise ServerFailed(f"{server.name} not ready after {START_TIMEOUT_S:.0f}s")
        await asyncio.sleep(0.1)


async def start_server(
    name: str,
    argv: Sequence[str],
    *,
    port: int,
    env: Mapping[str, str],
    cwd: Path,
    log_path: Path,
    ready_path: str = "/healthz",
) -> Server:
    """Start `argv` (which must listen on HOST:port) and return once `ready_path` says 200."""
    server = Server(name, _spawn(argv, env, cwd, log_path), port, log_path)
    try:
        await _wait_ready(server, ready_path)
    except BaseException:
        server.stop()
        raise
    return server

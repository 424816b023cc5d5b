"""Real `mtx serve` processes for end-to-end tests.

`serve()` starts the console script on a free loopback port with a given environment,
waits until GET /healthz answers and always stops the whole process group afterwards
(`--workers N` forks children). `seeding()` opens the same database in the test process
so the factories in tests/factories.py can fill it before (and inspect it after).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import ssl
import sys
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from miningtx.config import Settings
from miningtx.kit.db import Database
from tests.conftest import TEST_XPUB, make_settings

#: The `mtx` console script of the virtualenv running the tests.
MTX = Path(sys.executable).with_name("mtx")
#: Generous: on a machine shared by several test runs a start-up has taken over 60 s; it
#: stays well under the 300 s per-test timeout, so a server that never starts says so.
STARTUP_TIMEOUT = 120.0
STOP_TIMEOUT = 10.0
#: Loose enough that health polls and header checks never trip the per-IP limit.
UNAUTHENTICATED_LIMIT = "100000/minute"


@dataclass(frozen=True)
class Seed:
    """The server's database, opened in the test process."""

    db: Database
    settings: Settings


@asynccontextmanager
async def seeding(database_url: str) -> AsyncIterator[Seed]:
    """Open `database_url` for the factories; the server subprocess uses the same URL."""
    settings = make_settings(database_url)
    db = Database(settings)
    try:
        yield Seed(db, settings)
    finally:
        await db.dispose()


@dataclass
class Server:
    """One running `mtx serve`: where it listens and what it logged."""

    base_url: str
    port: int
    process: asyncio.subprocess.Process
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def server_environment(database_url: str, overrides: Mapping[str, str]) -> dict[str, str]:
    """The parent's environment minus any MTX_* or metrics settings, plus the test's own."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("MTX_") and name != "PROMETHEUS_MULTIPROC_DIR"
    }
    environment.update(
        {
            "MTX_DATABASE_URL": database_url,
            "MTX_LOG_LEVEL": "WARNING",
            "MTX_RATE_LIMIT": "120/minute",
            "MTX_RATE_LIMIT_UNAUTHENTICATED": UNAUTHENTICATED_LIMIT,
            "MTX_WALLET_XPUB": TEST_XPUB,
        }
    )
    environment.update(overrides)
    return environment


async def stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM the process group, SIGKILL it if it lingers; never leaves a child behind."""
    group = process.pid  # started with start_new_session=True, so it leads its own group
    if process.returncode is None:
        with suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            with suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
    # Worker children of a supervisor that died abruptly would otherwise outlive the test.
    with suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)


async def _wait_healthy(server: Server, verify: ssl.SSLContext | bool, deadline: float) -> bool:
    """True once /healthz answers 200; False if the process exited first."""
    async with httpx.AsyncClient(verify=verify, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.process.returncode is not None:
                return False
            try:
                response = await client.get(f"{server.base_url}/healthz")
            except httpx.TransportError:
                await asyncio.sleep(0.05)
                continue
            assert response.status_code == 200, response.text
            assert response.json() == {"status": "ok"}
            # Still alive: the answer came from this process, not from one that owned the port.
            await asyncio.sleep(0.05)
            return server.process.returncode is None
    raise AssertionError(f"mtx serve did not become healthy in time:\n{server.log()}")


def _prepare(folder: Path) -> None:
    assert MTX.exists(), f"the mtx console script is missing at {MTX}"
    folder.mkdir(parents=True, exist_ok=True)


@asynccontextmanager
async def serve(
    database_url: str,
    folder: Path,
    *,
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
    https: ssl.SSLContext | None = None,
    command: Sequence[str] | None = None,
) -> AsyncIterator[Server]:
    """Run `mtx serve` on a free 127.0.0.1 port until the block ends.

    `folder` is the working directory (so no stray .env or ./var is used) and holds the
    log. With `https`, the server is expected to speak TLS and is verified with it.
    `command` replaces the `mtx` script (it is given `serve --host ... --port ...`).
    """
    _prepare(folder)
    environment = server_environment(database_url, env or {})
    scheme = "https" if https is not None else "http"
    for _attempt in range(3):  # another process may grab the free port before we bind it
        port = free_port()
        log_path = folder / f"mtx-serve-{port}.log"
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                *(command or [str(MTX)]),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *args,
                cwd=folder,
                env=environment,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        server = Server(f"{scheme}://127.0.0.1:{port}", port, process, log_path)
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT
            healthy = await _wait_healthy(server, https if https is not None else True, deadline)
            if not healthy:
                if "address already in use" in server.log().lower():
                    continue
                raise AssertionError(f"mtx serve exited with {process.returncode}:\n{server.log()}")
            yield server
            return
        finally:
            await stop(process)
    raise AssertionError("could not find a free port for mtx serve in 3 attempts")


async def run_command(
    *argv: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    time_limit: float = 120.0,
) -> tuple[int, str, str]:
    """Run a command to completion (killed after `time_limit` s): exit code, stdout, stderr."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        env=dict(env) if env is not None else None,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), time_limit)
    except TimeoutError:
        raise AssertionError(f"{argv[0]} did not finish within {time_limit} s") from None
    finally:
        await stop(process)
    assert process.returncode is not None
    return process.returncode, out.decode(errors="replace"), err.decode(errors="replace")


async def on_own_connection(
    server: Server, method: str, path: str, **kwargs: Any
) -> httpx.Response:
    """One request on a fresh client, so every request in a batch has its own connection."""
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60.0) as client:
        return await client.request(method, path, **kwargs)


async def race(
    server: Server, count: int, method: str, path: str, **kwargs: Any
) -> list[httpx.Response]:
    """`count` identical requests at once, each on its own connection."""
    requests = (on_own_connection(server, method, path, **kwargs) for _ in range(count))
    return await asyncio.wait_for(asyncio.gather(*requests), timeout=90.0)

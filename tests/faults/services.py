"""Services a fault test owns and may take down: its own PostgreSQL cluster and redis-server.

The shared PostgreSQL and Redis serve other tests at the same time and are never stopped;
a test that needs an outage starts one of these on a free port in a temporary folder,
stops and starts it as it likes, and removes it afterwards. As root, PostgreSQL runs as
the `postgres` user (initdb refuses root).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import asyncpg

from miningtx.kit.migrate import upgrade
from tests.servers import free_port

#: The newest installed PostgreSQL's programs (initdb, pg_ctl).
PG_BIN = max(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
#: Seconds pg_ctl may take to start or stop the cluster.
PG_CTL_WAIT = 60


async def _run(argv: Sequence[str], time_limit: float) -> str:
    """Run a command to completion; its output, or an AssertionError saying why not."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), time_limit)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"{argv[0]} did not finish within {time_limit} s") from None
    text = out.decode(errors="replace")
    assert process.returncode == 0, f"{' '.join(argv)} exited {process.returncode}:\n{text}"
    return text


class PostgresCluster:
    """A PostgreSQL cluster of the test's own, listening on 127.0.0.1:`port`."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = port
        self.log_path = folder / "postgres.log"

    def _as_owner(self, *argv: str) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *argv]
        return list(argv)

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    async def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        initdb = str(PG_BIN / "initdb")
        argv = [initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync"]
        await _run(self._as_owner(*argv), PG_CTL_WAIT)

    async def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c max_connections=200"
        )
        pg_ctl = str(PG_BIN / "pg_ctl")
        argv = [pg_ctl, "-D", str(self.data), "-l", str(self.log_path), "-o", options]
        await _run(self._as_owner(*argv, "-w", "-t", str(PG_CTL_WAIT), "start"), PG_CTL_WAIT + 5)

    async def stop(self, mode: str = "fast") -> None:
        """`fast`: every session is terminated and its open transaction rolled back."""
        pg_ctl = str(PG_BIN / "pg_ctl")
        argv = [pg_ctl, "-D", str(self.data), "-m", mode, "-w", "-t", str(PG_CTL_WAIT), "stop"]
        await _run(self._as_owner(*argv), PG_CTL_WAIT + 5)

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    async def create_database(self, name: str) -> str:
        """A new database migrated to the current schema; returns its SQLAlchemy URL."""
        connection = await asyncpg.connect(
            host="127.0.0.1", port=self.port, user="postgres", database="postgres"
        )
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        url = self.url(name)
        # Alembic runs its own event loop, so it gets a thread of its own.
        await asyncio.to_thread(upgrade, url)
        return url


@asynccontextmanager
async def postgres_cluster() -> AsyncIterator[PostgresCluster]:
    """A started cluster of the test's own; stopped (immediately) and deleted at the end."""
    # Not under pytest's tmp_path: its parents are closed to the `postgres` user.
    folder = Path(tempfile.mkdtemp(prefix="mtx-pg-"))
    cluster = PostgresCluster(folder, free_port())
    try:
        await cluster.init()
        await cluster.start()
        yield cluster
    finally:
        if cluster.running():
            with suppress(AssertionError):
                await cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


class RedisServer:
    """A redis-server of the test's own on 127.0.0.1:`port`, without persistence."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        assert self.process is None, "already running"
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / f"redis-{self.port}.log").open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        await self._wait_answering()

    async def _wait_answering(self) -> None:
        for _ in range(200):
            with suppress(OSError):
                _reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.write(b"PING\r\n")
                answer = await asyncio.wait_for(_reader.readline(), 2)
                writer.close()
                if answer == b"+PONG\r\n":
                    return
            assert self.process is not None
            assert self.process.returncode is None, "redis-server exited"
            await asyncio.sleep(0.05)
        raise AssertionError(f"redis-server on port {self.port} did not answer")

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers; the port is closed when this returns."""
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        with suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def command(self, *words: str) -> str:
        """One command through redis-cli; its output."""
        return await _run(["redis-cli", "-p", str(self.port), *words], 10)


@asynccontextmanager
async def redis_server(folder: Path) -> AsyncIterator[RedisServer]:
    """A started redis-server of the test's own; stopped at the end."""
    server = RedisServer(folder, free_port())
    try:
        await server.start()
        yield server
    finally:
        await server.stop()

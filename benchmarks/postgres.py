"""PostgreSQL for the benchmark: throw-away databases and the pgbench baseline."""

from __future__ import annotations

import asyncio
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

DEFAULT_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
_SAFE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PgbenchFailed(Exception):
    pass


@dataclass(frozen=True)
class PgServer:
    """Where PostgreSQL is, from an admin DSN (a database any role may connect to)."""

    admin_dsn: str

    def dsn(self, database: str) -> str:
        """A plain libpq/asyncpg DSN for `database` on the same server."""
        parts = urlsplit(self.admin_dsn)
        return urlunsplit(parts._replace(path=f"/{database}"))

    def sqlalchemy_url(self, database: str) -> str:
        return self.dsn(database).replace("postgresql://", "postgresql+asyncpg://", 1)

    @property
    def host(self) -> str:
        return urlsplit(self.admin_dsn).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        return urlsplit(self.admin_dsn).port or 5432

    @property
    def user(self) -> str:
        return urlsplit(self.admin_dsn).username or "postgres"

    async def execute(self, sql: str) -> None:
        connection = await asyncpg.connect(self.admin_dsn)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    async def settings(self) -> dict[str, str]:
        """Server settings worth writing next to the figures."""
        connection = await asyncpg.connect(self.admin_dsn)
        try:
            rows = await connection.fetch(
                "SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1::text[])",
                [
                    "server_version",
                    "synchronous_commit",
                    "fsync",
                    "shared_buffers",
                    "max_connections",
                ],
            )
        finally:
            await connection.close()
        return {r["name"]: r["setting"] + (f" x {r['unit']}" if r["unit"] else "") for r in rows}

    async def create_database(self, prefix: str) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        assert _SAFE_NAME.match(name), name
        await self.execute(f'CREATE DATABASE "{name}"')
        return name

    async def drop_database(self, name: str) -> None:
        assert _SAFE_NAME.match(name), name
        await self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class PgbenchResult:
    tps: float
    transactions: int
    failed: int
    elapsed_s: float
    latencies_ms: list[float] = field(default_factory=list)


def pgbench_binary() -> str:
    found = shutil.which("pgbench") or (
        "/usr/bin/pgbench" if Path("/usr/bin/pgbench").exists() else None
    )
    if found is None:
        raise PgbenchFailed("pgbench is not installed (apt-get install postgresql-client)")
    return found


async def _run(argv: list[str]) -> str:
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        output, _ = await process.communicate()
    except BaseException:
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    text = output.decode(errors="replace")
    if process.returncode != 0:
        raise PgbenchFailed(f"{' '.join(argv)} exited with {process.returncode}:\n{text[-2000:]}")
    return text


def _connection_args(server: PgServer) -> list[str]:
    return ["-h", server.host, "-p", str(server.port), "-U", server.user]


async def pgbench_init(server: PgServer, database: str, scale: int) -> None:
    """`pgbench -i`: the TPC-B-like tables at `scale` (1 = one branch, 100,000 accounts)."""
    await _run(
        [pgbench_binary(), "-i", "-q", "-s", str(scale), *_connection_args(server), database]
    )


def _read_latency_logs(prefix: Path) -> list[float]:
    """Per-transaction latencies (ms) from pgbench -l files, which are then deleted."""
    latencies: list[float] = []
    for log in prefix.parent.glob(prefix.name + ".*"):
        with log.open() as lines:
            latencies.extend(int(line.split()[2]) / 1000.0 for line in lines if line.strip())
        log.unlink()
    return latencies


async def pgbench_run(
    server: PgServer, database: str, *, clients: int, threads: int, duration_s: int, log_dir: Path
) -> PgbenchResult:
    """The built-in TPC-B-like script for `duration_s` seconds with `clients` connections."""
    prefix = log_dir / f"pgbench_{uuid.uuid4().hex[:8]}"
    output = await _run(
        [
            pgbench_binary(),
            *_connection_args(server),
            "-c",
            str(clients),
            "-j",
            str(threads),
            "-T",
            str(duration_s),
            "-l",
            f"--log-prefix={prefix}",
            database,
        ]
    )
    tps = re.search(r"^tps = ([\d.]+)", output, re.MULTILINE)
    done = re.search(r"actually processed: (\d+)", output)
    failed = re.search(r"number of failed transactions: (\d+)", output)
    if tps is None or done is None:
        raise PgbenchFailed(f"could not read pgbench output:\n{output}")
    transactions = int(done.group(1))
    rate = float(tps.group(1))
    return PgbenchResult(
        tps=rate,
        transactions=transactions,
        failed=int(failed.group(1)) if failed else 0,
        elapsed_s=transactions / rate if rate else 0.0,
        latencies_ms=_read_latency_logs(prefix),
    )

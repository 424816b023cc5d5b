"""Load benchmark: the API against a bare one-query app and against pgbench, side by side.

    python -m benchmarks.load            # ~4-5 minutes, updates benchmarks/RESULTS.md
    python -m benchmarks.load --quick    # ~1 minute, prints the table only

For SQLite (a fresh file) and PostgreSQL (a fresh database, dropped afterwards) it
seeds a platform through `mtx` and the sandbox deposit route, starts `mtx serve`
and the bare baseline app (benchmarks/bare_app.py) as single uvicorn processes on
free loopback ports, and initialises pgbench's own database. Each round then runs
every measurement once, one after another, alternating the order between rounds:

- GET /v1/balance vs the bare app's one-query endpoint (same SQL, plain driver);
- POST /v1/contracts/activate {"contract_id": "starter"} vs pgbench's TPC-B-like
  transaction with the same number of clients.

Servers, temporary files and databases are removed on the way out, failures included.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import math
import os
import platform
import resource
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import postgres, seed
from benchmarks.loadgen import LoadResult, build_request, run_load
from benchmarks.report import (
    Comparison,
    Sample,
    Series,
    detail_table,
    results_block,
    summary_table,
    write_results,
)
from benchmarks.servers import HOST, Server, clean_environment, free_port, log_tail, start_server
from miningtx.kit.money import format_decimal

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "RESULTS.md"
RATE_LIMIT = "1000000/minute"
#: The product's default pools: SQLAlchemy read pool on SQLite, MTX_DB_POOL_SIZE on PostgreSQL.
BARE_POOL = {"sqlite": 8, "postgresql": 10}
PGBENCH_SCALE = 1
BALANCE_AIM = 0.80
ACTIVATION_AIM = 0.30
#: Starter activations each reader customer holds, so in_contracts sums real rows.
READER_ACTIVATIONS = 3
#: Activation rate assumed before the first measurement, to size deposits (x2 margin).
ASSUMED_ACTIVATION_RPS = 1500.0


@dataclass(frozen=True)
class Plan:
    clients: int
    duration_s: int
    warmup_s: float
    rounds: int
    databases: tuple[str, ...]
    pg_admin_dsn: str
    results: Path | None
    keep: bool


@dataclass
class Deployment:
    """One database with the platform and the bare app serving it."""

    kind: str
    title: str
    database_url: str
    env: dict[str, str]
    mtx: Server
    bare: Server
    readers: list[seed.BenchCustomer]
    buyers: list[seed.BenchCustomer]
    terms: seed.ContractTerms
    seeded_activations: int


class BenchmarkFailed(Exception):
    pass


def parse_args(argv: list[str] | None = None) -> Plan:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="~1 minute: 2 short rounds")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--duration", type=int, help="seconds per measurement (8; quick 3)")
    parser.add_argument("--warmup", type=float, help="warm-up seconds before each (1; quick 0.5)")
    parser.add_argument("--rounds", type=int, help="rounds of every measurement (3; quick 2)")
    parser.add_argument(
        "--databases",
        default="sqlite,postgresql",
        help="comma-separated: sqlite, postgresql (default both)",
    )
    parser.add_argument(
        "--pg-dsn",
        default=os.environ.get("MTX_BENCH_PG_DSN", postgres.DEFAULT_ADMIN_DSN),
        help="admin DSN of the PostgreSQL server (env MTX_BENCH_PG_DSN)",
    )
    parser.add_argument(
        "--results",
        type=Path,
        help=f"update this file's generated block (default {RESULTS.relative_to(REPO)}"
        " on full runs, nothing on --quick)",
    )
    parser.add_argument("--no-results", action="store_true", help="do not write results")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (server logs)")
    args = parser.parse_args(argv)
    databases = tuple(d.strip() for d in args.databases.split(",") if d.strip())
    if not databases or set(databases) - {"sqlite", "postgresql"}:
        parser.error("--databases takes sqlite, postgresql or both")
    if args.clients < 1:
        parser.error("--clients must be at least 1")
    results = None if args.no_results else args.results or (None if args.quick else RESULTS)
    return Plan(
        clients=args.clients,
        duration_s=args.duration or (3 if args.quick else 8),
        warmup_s=args.warmup if args.warmup is not None else (0.5 if args.quick else 1.0),
        rounds=args.rounds or (2 if args.quick else 3),
        databases=databases,
        pg_admin_dsn=args.pg_dsn,
        results=results,
        keep=args.keep,
    )


def say(message: str) -> None:
    print(message, flush=True)


def server_env(database_url: str) -> dict[str, str]:
    return clean_environment(
        {
            "MTX_DATABASE_URL": database_url,
            "MTX_MODE": "sandbox",
            "MTX_RATE_LIMIT": RATE_LIMIT,
            "MTX_RATE_LIMIT_UNAUTHENTICATED": RATE_LIMIT,
        }
    )


async def deploy(
    kind: str,
    *,
    database_url: str,
    bare_database: str,
    plan: Plan,
    work: Path,
    stack: contextlib.AsyncExitStack,
) -> Deployment:
    """Seed a platform on `database_url` and serve it and the bare app next to it."""
    title = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[kind]
    env = server_env(database_url)
    terms = await seed.open_for_business(env, work)
    people = await seed.create_customers(database_url, kind[:2], 2 * plan.clients)
    readers, buyers = people[: plan.clients], people[plan.clients :]
    mtx_port = free_port()
    mtx = await start_server(
        f"mtx serve ({title})",
        [seed.mtx_binary(), "serve", "--host", HOST, "--port", str(mtx_port)],
        port=mtx_port,
        env=env,
        cwd=work,
        log_path=work / f"mtx-{kind}.log",
    )
    stack.callback(mtx.stop)
    bare_port = free_port()
    bare = await start_server(
        f"bare app ({title})",
        [
            sys.executable,
            "-m",
            "uvicorn",
            "benchmarks.bare_app:create_app",
            "--factory",
            "--app-dir",
            str(REPO),
            "--host",
            HOST,
            "--port",
            str(bare_port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        port=bare_port,
        env=clean_environment(
            {"BENCH_BARE_DATABASE": bare_database, "BENCH_BARE_POOL_SIZE": str(BARE_POOL[kind])}
        ),
        cwd=work,
        log_path=work / f"bare-{kind}.log",
    )
    stack.callback(bare.stop)
    api = seed.Api(HOST, mtx.port)
    try:
        await api.ensure_available(readers, READER_ACTIVATIONS * terms.price)
        for _ in range(READER_ACTIVATIONS):
            await asyncio.gather(*(api.activate(r) for r in readers))
    finally:
        await api.close()
    return Deployment(
        kind,
        title,
        database_url,
        env,
        mtx,
        bare,
        readers,
        buyers,
        terms,
        seeded_activations=READER_ACTIVATIONS * len(readers),
    )


def _client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def http_sample(
    label: str, server: Server, requests: list[bytes], plan: Plan
) -> tuple[Sample, LoadResult]:
    cpu_before, client_before = server.cpu_seconds(), _client_cpu()
    wall_before = time.perf_counter()
    result = await run_load(
        label,
        server.host,
        server.port,
        requests,
        workers=plan.clients,
        duration_s=plan.duration_s,
        warmup_s=plan.warmup_s,
    )
    wall = time.perf_counter() - wall_before
    cpu_after = server.cpu_seconds()
    server_cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    total = result.total_requests
    sample = Sample(
        rps=result.rps,
        latencies_ms=result.latencies_ms,
        requests=len(result.latencies_ms),
        errors=result.errors + result.warmup_errors,
        elapsed_s=result.elapsed_s,
        server_cpu_ms_per_request=None
        if server_cpu is None or not total
        else server_cpu * 1000 / total,
        server_cpu_share=None if server_cpu is None else server_cpu / wall,
        client_cpu_share=(_client_cpu() - client_before) / wall,
    )
    return sample, result


class Bench:
    """Holds the deployments and every series; runs the rounds."""

    def __init__(self, plan: Plan, work: Path, pg: postgres.PgServer) -> None:
        self.plan = plan
        self.work = work
        self.pg = pg
        self.deployments: list[Deployment] = []
        self.pgbench_db: str | None = None
        self.series: dict[str, Series] = {}
        self.activations_ok: dict[str, int] = {}
        self.failures: list[str] = []

    def series_for(self, key: str, title: str) -> Series:
        return self.series.setdefault(key, Series(key, title))

    def record(self, key: str, title: str, sample: Sample, result: LoadResult | None) -> None:
        self.series_for(key, title).samples.append(sample)
        say(
            f"  {title:<44} {sample.rps:>8,.0f} req/s  "
            f"p50 {sample.latency(0.5):6.2f} ms  p99 {sample.latency(0.99):6.2f} ms"
            + (f"  ERRORS {sample.errors}" if sample.errors else "")
        )
        if sample.errors:
            seen = f"statuses {dict(result.all_statuses)}" if result else "failed transactions"
            self.failures.append(f"{title}: {sample.errors} errors ({seen})")

    def measurements(self) -> list[Callable[[], Awaitable[None]]]:
        steps: list[Callable[[], Awaitable[None]]] = []
        for d in self.deployments:
            steps += [self._bare(d), self._balance(d)]
        if self.pgbench_db is not None:
            steps.append(self._pgbench)
        steps += [self._activate(d) for d in self.deployments]
        return steps

    def _bare(self, d: Deployment) -> Callable[[], Awaitable[None]]:
        async def step() -> None:
            requests = [
                build_request("GET", f"/balance?customer={r.seq}", host=HOST, port=d.bare.port)
                for r in d.readers
            ]
            title = f"{d.title} bare one-query endpoint"
            sample, result = await http_sample(title, d.bare, requests, self.plan)
            self.record(f"{d.kind}.bare", title, sample, result)

        return step

    def _balance(self, d: Deployment) -> Callable[[], Awaitable[None]]:
        async def step() -> None:
            requests = [
                build_request(
                    "GET",
                    "/v1/balance",
                    host=HOST,
                    port=d.mtx.port,
                    headers={"Authorization": f"Bearer {r.key}"},
                )
                for r in d.readers
            ]
            title = f"{d.title} GET /v1/balance"
            sample, result = await http_sample(title, d.mtx, requests, self.plan)
            self.record(f"{d.kind}.balance", title, sample, result)

        return step

    def _activate(self, d: Deployment) -> Callable[[], Awaitable[None]]:
        async def step() -> None:
            title = f"{d.title} POST /v1/contracts/activate"
            previous = self.series.get(f"{d.kind}.activate")
            rate = max(previous.rps if previous else 0.0, ASSUMED_ACTIVATION_RPS)
            window = self.plan.duration_s + self.plan.warmup_s
            per_buyer = math.ceil(2 * rate * window / len(d.buyers))
            api = seed.Api(HOST, d.mtx.port)
            try:
                await api.ensure_available(d.buyers, per_buyer * d.terms.price)
            finally:
                await api.close()
            requests = [
                build_request(
                    "POST",
                    "/v1/contracts/activate",
                    host=HOST,
                    port=d.mtx.port,
                    headers={"Authorization": f"Bearer {b.key}"},
                    json_body={"contract_id": seed.CONTRACT},
                )
                for b in d.buyers
            ]
            sample, result = await http_sample(title, d.mtx, requests, self.plan)
            self.activations_ok[d.kind] = (
                self.activations_ok.get(d.kind, 0) + result.all_statuses[200]
            )
            self.record(f"{d.kind}.activate", title, sample, result)

        return step

    async def _pgbench(self) -> None:
        assert self.pgbench_db is not None
        result = await postgres.pgbench_run(
            self.pg,
            self.pgbench_db,
            clients=self.plan.clients,
            threads=min(self.plan.clients, os.cpu_count() or 1),
            duration_s=self.plan.duration_s,
            log_dir=self.work,
        )
        sample = Sample(
            rps=result.tps,
            latencies_ms=result.latencies_ms,
            requests=result.transactions,
            errors=result.failed,
            elapsed_s=result.elapsed_s,
        )
        self.record("pgbench", "pgbench TPC-B-like", sample, None)

    async def run_rounds(self) -> None:
        steps = self.measurements()
        for number in range(1, self.plan.rounds + 1):
            say(f"Round {number}/{self.plan.rounds}")
            for step in steps if number % 2 else list(reversed(steps)):
                await step()

    async def checks(self) -> list[str]:
        """The books still balance and capacity used matches the activations that succeeded."""
        lines = []
        for d in self.deployments:
            ledger = await seed.mtx(d.env, self.work, "ledger", "check")
            capacity = await seed.mtx(d.env, self.work, "capacity", "show")
            activations = d.seeded_activations + self.activations_ok.get(d.kind, 0)
            expected = format_decimal(activations * d.terms.hash_mths, 3)
            ok = ledger["ok"] and capacity["sold_ths"] == expected
            lines.append(
                f"{d.title}: ledger invariants {'hold' if ledger['ok'] else 'BROKEN'}; "
                f"{activations:,} activations, sold {capacity['sold_ths']} TH/s "
                f"(expected {expected}): {'ok' if ok else 'MISMATCH'}"
            )
            if not ok:
                self.failures.append(lines[-1])
        return lines


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown CPU"


def _code_version() -> str:
    """The commit measured, and whether the working tree differed from it."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "src", "pyproject.toml"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"commit {commit}" + (" with uncommitted changes in src/" if dirty else "")


async def machine_notes(pg: postgres.PgServer | None) -> dict[str, str]:
    cpu = _cpu_model()
    notes = {
        "code": _code_version(),
        "CPU": f"{cpu}, {os.cpu_count()} cores (client, servers and databases share them)",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "SQLite": sqlite3.sqlite_version,
        "packages": ", ".join(
            f"{name} {importlib.metadata.version(name)}"
            for name in ("fastapi", "starlette", "uvicorn", "sqlalchemy", "asyncpg", "aiosqlite")
        ),
    }
    if pg is not None:
        notes["PostgreSQL"] = ", ".join(f"{k}={v}" for k, v in (await pg.settings()).items())
    return notes


def settings_notes(plan: Plan) -> dict[str, str]:
    return {
        "clients": f"{plan.clients} concurrent keep-alive connections (HTTP) / pgbench -c "
        f"{plan.clients} -j {min(plan.clients, os.cpu_count() or 1)}",
        "timing": f"{plan.rounds} rounds; each measurement {plan.warmup_s:g} s warm-up "
        f"(HTTP only) + {plan.duration_s} s measured; order reversed every other round",
        "servers": "`mtx serve` and the bare app: one uvicorn process each (uvloop, httptools),"
        " on 127.0.0.1, started fresh for this run",
        "mtx settings": f"MTX_MODE=sandbox, MTX_RATE_LIMIT={RATE_LIMIT} (the default 120/minute"
        " per key would throttle the load), MTX_RATE_LIMIT_UNAUTHENTICATED="
        f"{RATE_LIMIT}; everything else default (MTX_DB_POOL_SIZE=10, MTX_LOG_LEVEL=INFO"
        " with one JSON access line per request, in-memory rate limits)",
        "bare app": f"same SQL as the balance route; asyncpg pool of {BARE_POOL['postgresql']}"
        f" / {BARE_POOL['sqlite']} aiosqlite connections; no auth, middleware or logging",
        "data": f"{2 * plan.clients} customers per database ({plan.clients} read their balance,"
        f" each holding {READER_ACTIVATIONS} starter contracts; {plan.clients} buy starter"
        f" contracts); deposits via POST /v1/test_helpers/deposits of {seed.DEPOSIT_AMOUNT};"
        f" reward pool funded with {seed.REWARD_POOL_FUNDING}, capacity {seed.CAPACITY_THS}"
        " TH/s",
        "pgbench": f"built-in TPC-B-like script, `pgbench -i -s {PGBENCH_SCALE}` on its own"
        " database, simple query protocol, over TCP to 127.0.0.1",
        "load generator": "benchmarks/loadgen.py: asyncio streams, one request in flight per"
        " connection, in the benchmark process",
    }


def command_line() -> str:
    python = Path(sys.executable)
    shown = str(python.relative_to(REPO)) if python.is_relative_to(REPO) else python.name
    return shlex.join([shown, "-m", "benchmarks.load", *sys.argv[1:]])


async def benchmark(plan: Plan) -> int:
    wanted_pg = "postgresql" in plan.databases
    pg = postgres.PgServer(plan.pg_admin_dsn)
    started = time.monotonic()
    async with contextlib.AsyncExitStack() as stack:
        work = Path(tempfile.mkdtemp(prefix="mtx-bench-"))
        if plan.keep:
            say(f"Keeping {work}")
        else:
            stack.callback(_remove_tree, work)
        bench = Bench(plan, work, pg)
        try:
            await _deploy_all(bench, stack, wanted_pg)
            say(f"Set up in {time.monotonic() - started:.0f} s; measuring")
            await bench.run_rounds()
            checks = await bench.checks()
        except Exception:
            for d in bench.deployments:
                for server in (d.mtx, d.bare):
                    say(f"--- last lines of {server.name} log:\n{log_tail(server.log_path)}")
            raise
        notes = await machine_notes(pg if wanted_pg else None)
    comparisons = _comparisons(bench)
    series = list(bench.series.values())
    say("")
    say(summary_table(comparisons))
    say("")
    say(detail_table(series))
    say("")
    for line in checks:
        say(line)
    say(f"Total time {time.monotonic() - started:.0f} s")
    if plan.results is not None:
        write_results(
            plan.results,
            results_block(
                when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                command=command_line(),
                machine=notes,
                settings=settings_notes(plan),
                comparisons=comparisons,
                series=series,
                checks=checks,
            ),
        )
        say(f"Wrote {plan.results}")
    if bench.failures:
        say("FAILED:\n" + "\n".join(bench.failures))
        return 1
    return 0


async def _deploy_all(bench: Bench, stack: contextlib.AsyncExitStack, wanted_pg: bool) -> None:
    plan, work, pg = bench.plan, bench.work, bench.pg
    if "sqlite" in plan.databases:
        path = work / "sqlite" / "miningtx.db"
        path.parent.mkdir()
        say(f"SQLite: seeding {path}")
        bench.deployments.append(
            await deploy(
                "sqlite",
                database_url=f"sqlite+aiosqlite:///{path}",
                bare_database=f"sqlite:///{path}",
                plan=plan,
                work=work,
                stack=stack,
            )
        )
    if wanted_pg:
        name = await pg.create_database("mtx_bench")
        stack.push_async_callback(pg.drop_database, name)
        say(f"PostgreSQL: seeding database {name}")
        bench.deployments.append(
            await deploy(
                "postgresql",
                database_url=pg.sqlalchemy_url(name),
                bare_database=pg.dsn(name),
                plan=plan,
                work=work,
                stack=stack,
            )
        )
        bench.pgbench_db = await pg.create_database("mtx_bench_pgbench")
        stack.push_async_callback(pg.drop_database, bench.pgbench_db)
        say(f"pgbench: initialising {bench.pgbench_db}")
        await postgres.pgbench_init(pg, bench.pgbench_db, PGBENCH_SCALE)


def _comparisons(bench: Bench) -> list[Comparison]:
    out = []
    for d in bench.deployments:
        out.append(
            Comparison(
                d.title,
                "GET /v1/balance",
                bench.series[f"{d.kind}.balance"],
                bench.series[f"{d.kind}.bare"],
                BALANCE_AIM,
            )
        )
        if "pgbench" in bench.series:
            out.append(
                Comparison(
                    d.title,
                    "POST /v1/contracts/activate",
                    bench.series[f"{d.kind}.activate"],
                    bench.series["pgbench"],
                    ACTIVATION_AIM,
                )
            )
    return out


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    plan = parse_args(argv)
    try:
        import uvloop  # noqa: PLC0415  # optional: a faster client loop when installed

        loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:

        async def guarded() -> int:
            current = asyncio.current_task()
            assert current is not None
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, current.cancel)
            return await benchmark(plan)

        try:
            return runner.run(guarded())
        except (KeyboardInterrupt, asyncio.CancelledError):
            say("Interrupted; servers stopped and databases dropped.")
            return 130


if __name__ == "__main__":
    sys.exit(main())

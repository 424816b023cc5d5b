"""Accrual benchmark: one day's rewards for N contracts against a plain INSERT of N rows.

    python -m benchmarks.accrual                                 # 100,000 and 1,000,000
    python -m benchmarks.accrual --contracts 100000 --rounds 3

For each size, on PostgreSQL: a fresh database `mtx_bench_acc_<random>` (schema by the
migrations), seeded with set-based SQL (generate_series): N/10 customers each with an
available account, N active contracts of the three catalog kinds all owed the reward
of the last cut-off, and a reward reserve funded from the treasury exactly as
activations fund it, so the ledger invariants and the solvency report hold. Then, in
each round:

- accrual: `mining.accrual.accrue` (what `mtx worker` and `mtx rewards catch-up` run)
  pays one day's reward to every contract (MTX_ACCRUAL_BATCH_SIZE per transaction);
  the clock then moves one day on, so the next round pays the next day;
- baseline: `INSERT INTO scratch SELECT ... FROM generate_series(1, N)`, N rows as wide
  as a reward's ledger transfer into an unlogged table with a primary key only, on the
  same server, same run;
- floor: the same N transfer rows inserted the same way into the real `ledger_transfers`
  (its seven indexes, two foreign keys, WAL), then rolled back: what writing just one of
  the three rows a reward needs costs in this schema.

It prints the time per 100,000 contracts, the ratios accrual / baseline and accrual /
floor (medians over rounds of the ratio within a round), and the peak
memory of this process (ru_maxrss) and of Python allocations during the accrual
(tracemalloc), which stay flat from 100k to 1M because no contract row is ever loaded
into Python. After the last round it checks the books (ledger invariants, reserves
against unpaid days, fleet capacity sold) and drops the database, failures included.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import resource
import statistics
import sys
import time as clock
import tracemalloc
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import asyncpg

from benchmarks import postgres
from miningtx.config import Settings
from miningtx.kit.clock import ONE_DAY, cutoff_at, latest_cutoff_day, utcnow
from miningtx.kit.db import Database
from miningtx.kit.migrate import upgrade
from miningtx.mining.accrual import accrue
from miningtx.solvency.service import solvency_report

AIM = 3.0
#: Contracts per customer in the seeded platform.
CONTRACTS_PER_CUSTOMER = 10
SCRATCH = """
CREATE UNLOGGED TABLE IF NOT EXISTS bench_scratch (
    seq bigserial PRIMARY KEY,
    id varchar(32) NOT NULL,
    idempotency_key varchar(160) NOT NULL,
    kind varchar(32) NOT NULL,
    debit_account_seq bigint NOT NULL,
    credit_account_seq bigint NOT NULL,
    amount bigint NOT NULL,
    customer_seq bigint,
    direction varchar(8),
    reference varchar(64),
    value_date date NOT NULL,
    created_at timestamptz NOT NULL
)
"""
BASELINE = """
INSERT INTO bench_scratch (id, idempotency_key, kind, debit_account_seq,
    credit_account_seq, amount, customer_seq, direction, reference, value_date, created_at)
SELECT 'tx_' || substr(md5(random()::text), 1, 20),
       'ct_' || lpad(g::text, 20, '0') || ':reward:' || current_date,
       'reward', 3, 100 + g % $2, 6670000, g % $2, 'credit', 'ct_' || lpad(g::text, 20, '0'),
       current_date, now()
FROM generate_series(1, $1::bigint) AS g
"""
FLOOR = """
INSERT INTO ledger_transfers (id, idempotency_key, kind, debit_account_seq,
    credit_account_seq, amount, customer_seq, direction, reference, value_date, created_at)
SELECT 'tx_' || substr(md5(random()::text || clock_timestamp()::text), 1, 20),
       'bench:' || g || ':floor', 'reward', $2, $3 + g % $4, 6670000, $5 + g % $4,
       'credit', 'ct_b' || lpad(g::text, 17, '0'), current_date, now()
FROM generate_series(1, $1::bigint) AS g
"""


@dataclass
class Round:
    accrual_s: float
    baseline_s: float
    floor_s: float
    rewards: int
    tracemalloc_peak: int


@dataclass
class SizeResult:
    contracts: int
    rounds: list[Round] = field(default_factory=list)
    maxrss_kib: int = 0
    problems: list[str] = field(default_factory=list)

    def median(self, attribute: str) -> float:
        return statistics.median(float(getattr(r, attribute)) for r in self.rounds)

    def ratio(self, attribute: str) -> float:
        """Median over rounds of accrual time / the other time in the same round."""
        return statistics.median(r.accrual_s / float(getattr(r, attribute)) for r in self.rounds)


def say(message: str) -> None:
    print(message, flush=True)


async def seed(
    connection: asyncpg.Connection, contracts: int, day: date, activated_at: datetime
) -> None:
    """N active contracts owed `day`'s reward, their customers, a funded reserve: all SQL."""
    customers = max(1, contracts // CONTRACTS_PER_CUSTOMER)
    async with connection.transaction():
        await connection.execute(
            """
            INSERT INTO customers (id, username, email, referral_code, kyc_status,
                kyc_bonus_credited, total_rewards, created_at)
            SELECT 'usr_b' || lpad(g::text, 15, '0'), 'b' || g, 'b' || g || '@bench.example',
                   'B' || g, 'verified', false, 0, $2
            FROM generate_series(1, $1::bigint) AS g
            """,
            customers,
            activated_at,
        )
        await connection.execute(
            """
            INSERT INTO ledger_accounts (code, kind, customer_seq, allow_negative, balance)
            SELECT 'customer:' || id || ':available', 'customer_available', seq, false, 0
            FROM customers ORDER BY seq
            """
        )
        first_customer = await connection.fetchval("SELECT min(seq) FROM customers")
        # The three catalog contracts in turn, each customer's ten spread over the table.
        await connection.execute(
            """
            INSERT INTO contract_activations (id, customer_seq, contract_id, contract_name,
                price, hash_mths, daily_reward, duration_days, rewards_paid, next_reward_on,
                status, activated_at)
            SELECT 'ct_b' || lpad(g::text, 17, '0'), $2 + g % $3, c.id, c.name, c.price,
                   c.hash_mths, c.daily_reward, c.duration_days, 0, $4, 'active', $5
            FROM generate_series(1, $1::bigint) AS g
            JOIN (SELECT *, row_number() OVER (ORDER BY position, id) - 1 AS k
                  FROM mining_contracts) AS c ON c.k = g % 3
            ORDER BY g
            """,
            contracts,
            first_customer,
            customers,
            day,
            activated_at,
        )
        promise, hosted = await connection.fetchrow(
            "SELECT sum(daily_reward * duration_days), sum(hash_mths) FROM contract_activations"
        )
        # Funded as activations fund it: treasury -> reward pool -> reward reserve.
        seq = {
            row["code"]: row["seq"]
            for row in await connection.fetch(
                "SELECT code, seq FROM ledger_accounts WHERE customer_seq IS NULL"
            )
        }
        for key, debit, credit in (
            ("bench:fund", "platform:treasury:bsc", "platform:reward_pool"),
            ("bench:reserve", "platform:reward_pool", "platform:reward_reserved"),
        ):
            await connection.execute(
                """
                INSERT INTO ledger_transfers (id, idempotency_key, kind, debit_account_seq,
                    credit_account_seq, amount, value_date, created_at)
                VALUES ($1, $1, 'bench_seed', $2, $3, $4, $5, $6)
                """,
                key,
                seq[debit],
                seq[credit],
                promise,
                activated_at.date(),
                activated_at,
            )
        await connection.execute(
            "UPDATE ledger_accounts SET balance = CASE code"
            " WHEN 'platform:treasury:bsc' THEN balance - $1"
            " WHEN 'platform:reward_reserved' THEN balance + $1 ELSE balance END"
            " WHERE code IN ('platform:treasury:bsc', 'platform:reward_reserved')",
            promise,
        )
        await connection.execute(
            "UPDATE fleet SET capacity_mths = $1, sold_mths = $1 WHERE id = 1", hosted
        )
        await connection.execute(SCRATCH)
    await connection.execute("ANALYZE")


async def reward_rows(connection: asyncpg.Connection) -> int:
    count: int = await connection.fetchval(
        "SELECT count(*) FROM ledger_transfers WHERE kind = 'reward'"
    )
    return count


async def measure_size(
    server: postgres.PgServer, contracts: int, rounds: int, batch_size: int
) -> SizeResult:
    result = SizeResult(contracts)
    name = await server.create_database("mtx_bench_acc")
    url = server.sqlalchemy_url(name)
    db: Database | None = None
    connection: asyncpg.Connection | None = None
    try:
        await asyncio.to_thread(upgrade, url)
        settings = Settings(_env_file=None, database_url=url, accrual_batch_size=batch_size)
        db = Database(settings)
        # Midday tomorrow by the deployment's clock: no cut-off passes while this runs.
        wall = utcnow()
        midday = datetime.combine(wall.date() + ONE_DAY, time(12), tzinfo=UTC)
        async with db.write() as session:
            now = await db.clock.advance(session, math.ceil((midday - wall).total_seconds()))
        day = latest_cutoff_day(now, db.clock.cutoff)
        connection = await asyncpg.connect(server.dsn(name))
        started = clock.perf_counter()
        # Activated 25 h before the cut-off of `day`: that day's reward is their first.
        await seed(
            connection, contracts, day, cutoff_at(day, db.clock.cutoff) - timedelta(hours=25)
        )
        say(f"  seeded {contracts:,} contracts in {clock.perf_counter() - started:.1f} s")
        for number in range(rounds):
            if number:
                async with db.write() as session:
                    await db.clock.advance(session, 86_400)
            # Alternate the order, so drift on a busy machine weighs on both sides.
            baselines_first = number % 2 == 1
            if baselines_first:
                baseline_s, floor_s = await time_baselines(connection, contracts)
            tracemalloc.start()
            started = clock.perf_counter()
            done = await accrue(db, batch_size=batch_size)
            accrual_s = clock.perf_counter() - started
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            if not baselines_first:
                baseline_s, floor_s = await time_baselines(connection, contracts)
            result.rounds.append(Round(accrual_s, baseline_s, floor_s, done.rewards, peak))
            say(
                f"  day {number + 1}: {done.rewards:,} rewards in {accrual_s:.2f} s;"
                f" baseline {baseline_s:.2f} s (x{accrual_s / baseline_s:.1f}),"
                f" floor {floor_s:.2f} s (x{accrual_s / floor_s:.1f})"
            )
        result.maxrss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        async with db.snapshot() as session:
            result.problems = (await solvency_report(session)).problems
        paid = await reward_rows(connection)
        if paid != contracts * rounds:
            result.problems.append(f"{paid} rewards for {contracts} contracts x {rounds} days")
        if any(r.rewards != contracts for r in result.rounds):
            result.problems.append("a round did not pay every contract exactly once")
        return result
    finally:
        if connection is not None:
            await connection.close()
        if db is not None:
            await db.dispose()
        await server.drop_database(name)


async def time_baselines(connection: asyncpg.Connection, rows: int) -> tuple[float, float]:
    """Seconds for the plain scratch insert, then for the rolled-back real-table insert."""
    customers = max(1, rows // CONTRACTS_PER_CUSTOMER)
    started = clock.perf_counter()
    await connection.execute(BASELINE, rows, customers)
    baseline_s = clock.perf_counter() - started
    reserved, first_account, first_customer = await connection.fetchrow(
        "SELECT (SELECT seq FROM ledger_accounts WHERE code = 'platform:reward_reserved'),"
        " min(seq), min(customer_seq) FROM ledger_accounts WHERE kind = 'customer_available'"
    )
    transaction = connection.transaction()
    await transaction.start()
    try:
        started = clock.perf_counter()
        await connection.execute(FLOOR, rows, reserved, first_account, customers, first_customer)
        floor_s = clock.perf_counter() - started
    finally:
        await transaction.rollback()
    return baseline_s, floor_s


def report(results: list[SizeResult]) -> None:
    say("")
    say(
        "| contracts | accrual s | per 100k s | baseline per 100k s | accrual / baseline |"
        " floor per 100k s | accrual / floor | rss MiB | py peak KiB |"
    )
    say("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        per = 100_000 / r.contracts
        accrual = r.median("accrual_s")
        say(
            f"| {r.contracts:,} | {accrual:.2f} | {accrual * per:.2f} |"
            f" {r.median('baseline_s') * per:.2f} | {r.ratio('baseline_s'):.1f} |"
            f" {r.median('floor_s') * per:.2f} | {r.ratio('floor_s'):.1f} |"
            f" {r.maxrss_kib / 1024:.0f} | {max(a.tracemalloc_peak for a in r.rounds) / 1024:.0f} |"
        )


async def benchmark(args: argparse.Namespace) -> int:
    server = postgres.PgServer(args.pg_dsn)
    pg = await server.settings()
    say(
        f"PostgreSQL {pg.get('server_version')} (synchronous_commit={pg.get('synchronous_commit')},"
        f" shared_buffers={pg.get('shared_buffers')}); {platform.python_implementation()}"
        f" {platform.python_version()}, {os.cpu_count()} CPUs; batch {args.batch_size}"
    )
    results: list[SizeResult] = []
    for contracts in args.contracts:
        say(f"{contracts:,} contracts, {args.rounds} rounds")
        results.append(await measure_size(server, contracts, args.rounds, args.batch_size))
    report(results)
    failed = [p for r in results for p in r.problems]
    for problem in failed:
        say(f"PROBLEM: {problem}")
    worst = max(r.ratio("baseline_s") for r in results)
    say(
        f"aim: accrual within {AIM:.0f}x of the plain insert: worst median ratio {worst:.1f}"
        f" ({'met' if worst <= AIM else 'not met'})"
    )
    return 1 if failed else 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.accrual", description=__doc__)
    parser.add_argument(
        "--contracts", type=int, nargs="+", default=[100_000, 1_000_000], help="sizes to run"
    )
    parser.add_argument("--rounds", type=int, default=2, help="days accrued per size (2)")
    parser.add_argument(
        "--batch-size", type=int, default=Settings.model_fields["accrual_batch_size"].default
    )
    parser.add_argument(
        "--pg-dsn",
        default=os.environ.get("MTX_BENCH_PG_DSN", postgres.DEFAULT_ADMIN_DSN),
        help="admin DSN of the PostgreSQL server (env MTX_BENCH_PG_DSN)",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1 or min(args.contracts) < 1:
        parser.error("--rounds and --contracts must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return asyncio.run(benchmark(args))
    except KeyboardInterrupt:
        say("Interrupted; the benchmark database was dropped.")
        return 130


if __name__ == "__main__":
    sys.exit(main())

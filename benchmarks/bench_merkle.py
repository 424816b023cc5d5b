"""Liability tree benchmark: build, sign and prove for 100,000 and 1,000,000 customers.

    python -m benchmarks.bench_merkle                       # 100k and 1M, about 5 minutes
    python -m benchmarks.bench_merkle --customers 100000    # one size

Each size runs in a fresh child process, so its peak RSS is its own. The child streams
N customers (deterministic pseudo-random balances in every field, a third of them zero)
into `build_tree` from a generator, as a database cursor would, then signs the root with
a throwaway key and builds and verifies 1,000 customers' proofs. Printed per size: build
seconds, seconds per 100k customers (wall clock and CPU: the CPU figure is
what to compare on a shared machine), leaves (padded), the tree's own bytes, peak RSS of
the process and its growth over the start, and the cost of one proof. Nothing is
written to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime

from eth_account import Account

from miningtx.solvency.merkle import Liabilities, build_tree, sign_snapshot
from miningtx_verify import verify_proof
from miningtx_verify.rules import FIELDS

SIZES = (100_000, 1_000_000)
PROOFS = 1_000


def customers(count: int) -> Iterator[tuple[str, Liabilities]]:
    rng = random.Random(count)
    for number in range(count):
        yield (
            f"cus_{number:012d}",
            Liabilities(*(rng.choice((0, rng.randrange(10**12))) for _ in FIELDS)),
        )


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def measure(count: int) -> dict[str, float]:
    start_rss = peak_rss_mib()
    started, cpu_started = time.perf_counter(), time.process_time()
    tree = build_tree("sol_bench", customers(count))
    built, built_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    snapshot = sign_snapshot(
        tree,
        published_at=datetime.now(UTC),
        ledger_position="bench",
        account=Account.create(),
    )
    sample = tree.customer_ids[:: max(1, count // PROOFS)][:PROOFS]
    started = time.perf_counter()
    proofs = [tree.proof(customer_id, snapshot) for customer_id in sample]
    proved = time.perf_counter() - started
    started = time.perf_counter()
    for proof in proofs:
        verify_proof(proof)
    verified = time.perf_counter() - started
    tree_bytes = sum(len(level) for level in tree.levels) + len(tree.salts)
    tree_bytes += tree.positions.itemsize * len(tree.positions)
    return {
        "customers": count,
        "leaves": tree.leaf_count,
        "build_s": built,
        "per_100k_s": built * 100_000 / count,
        "cpu_per_100k_s": built_cpu * 100_000 / count,
        "tree_mib": tree_bytes / 2**20,
        "peak_rss_mib": peak_rss_mib(),
        "rss_growth_mib": peak_rss_mib() - start_rss,
        "proof_ms": proved * 1000 / len(proofs),
        "verify_ms": verified * 1000 / len(proofs),
        "proof_kib": len(json.dumps(proofs[0])) / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, action="append", help="a size (repeatable)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child)))
        return
    print(f"Python {platform.python_version()}, {platform.machine()}, {platform.system()}")
    header = (
        "| customers | leaves | build s | per 100k s | CPU per 100k s | tree MiB | peak RSS MiB "
        "| RSS growth MiB | proof ms | verify ms | proof KiB |"
    )
    print(header)
    print("|---:" * 11 + "|")
    for count in args.customers or SIZES:
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_merkle", "--child", str(count)],
            capture_output=True,
            text=True,
            check=True,
            timeout=3600,
        )
        row = json.loads(done.stdout)
        print(
            f"| {row['customers']:,} | {row['leaves']:,} | {row['build_s']:.1f} "
            f"| {row['per_100k_s']:.2f} | {row['cpu_per_100k_s']:.2f} | {row['tree_mib']:.0f} "
            f"| {row['peak_rss_mib']:.0f} "
            f"| {row['rss_growth_mib']:.0f} | {row['proof_ms']:.2f} | {row['verify_ms']:.2f} "
            f"| {row['proof_kib']:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()

"""`mtx-verify proof.json` (or `python -m miningtx_verify proof.json`): exit 0 when it holds."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from miningtx_verify.proof import ProofError, VerifiedProof, verify_proof
from miningtx_verify.rules import FIELDS

UNITS_PER_USDT = 1_000_000


def usdt(units: int) -> str:
    """Micro-USDT as USDT with 6 decimals, exact (no floats)."""
    whole, fraction = divmod(units, UNITS_PER_USDT)
    return f"{whole}.{fraction:06d}"


def summary(result: VerifiedProof) -> str:
    balances = ", ".join(f"{name} {usdt(result.balances[name])}" for name in FIELDS)
    totals = ", ".join(f"{name} {usdt(result.totals[name])}" for name in FIELDS)
    return "\n".join(
        [
            f"OK: snapshot {result.snapshot_id} at {result.published_at} "
            f"(ledger position {result.ledger_position}), signed by {result.signer}",
            f"your {result.leaves} leaves of {result.leaf_count} are in root "
            f"0x{result.root_hash.hex()}",
            f"your balances (USDT): {balances}",
            f"all customers (USDT): {totals}",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mtx-verify",
        description="Check a MiningTX proof of liabilities offline (exit 0: it holds).",
    )
    parser.add_argument("proof", type=Path, help="the proof JSON downloaded from MiningTX")
    args = parser.parse_args(argv)
    try:
        document = json.loads(args.proof.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        print(f"FAILED: cannot read {args.proof}: {error}", file=sys.stderr)
        return 1
    try:
        result = verify_proof(document)
    except ProofError as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1
    print(summary(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The liability tree of 10,000 customers: every proof verifies, every tampering is named."""

from __future__ import annotations

import copy
import json
import random
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from miningtx.solvency.merkle import (
    Liabilities,
    LiabilityError,
    LiabilityTree,
    SignedSnapshot,
    build_tree,
    sign_snapshot,
)
from miningtx_verify import ProofError, verify_proof
from miningtx_verify.rules import FIELDS, HASH_SIZE, RECORD_SIZE, decode_sums

CUSTOMERS = 10_000
PUBLISHED_AT = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Published:
    inputs: dict[str, Liabilities]
    tree: LiabilityTree
    snapshot: SignedSnapshot


def liabilities(rng: random.Random) -> Liabilities:
    """Mostly small balances, some zero, a few whales (up to a billion USDT)."""

    def amount() -> int:
        roll = rng.random()
        if roll < 0.3:
            return 0
        if roll < 0.99:
            return rng.randrange(1, 10_000 * 10**6)
        return rng.randrange(1, 10**9 * 10**6)

    return Liabilities(*(amount() for _ in FIELDS))


@pytest.fixture(scope="module")
def published() -> Published:
    rng = random.Random(16)
    inputs = {f"cus_{number:05d}": liabilities(rng) for number in range(CUSTOMERS)}
    tree = build_tree("sol_test16", inputs.items())
    account = Account.create()  # a throwaway key; the real one never enters the repository
    snapshot = sign_snapshot(
        tree, published_at=PUBLISHED_AT, ledger_position="transfer 123456", account=account
    )
    return Published(inputs, tree, snapshot)


def test_every_customers_proof_verifies_and_holds_their_balances(published: Published) -> None:
    totals = [sum(getattr(owed, name) for owed in published.inputs.values()) for name in FIELDS]
    for customer_id, owed in published.inputs.items():
        result = verify_proof(published.tree.proof(customer_id, published.snapshot))
        assert result.balances == {name: getattr(owed, name) for name in FIELDS}
        assert result.totals == dict(zip(FIELDS, totals, strict=True))
        assert result.leaves == 2
    assert published.tree.leaf_count == 32_768  # 20,000 leaves padded to a power of two


def test_root_totals_equal_the_inputs_to_the_unit(published: Published) -> None:
    for name in FIELDS:
        assert getattr(published.tree.totals, name) == sum(
            getattr(owed, name) for owed in published.inputs.values()
        )
    assert published.snapshot.totals == published.tree.totals


def test_every_node_is_the_sum_of_its_children_and_none_is_negative(published: Published) -> None:
    levels = published.tree.levels
    leaf_sums = [
        decode_sums(levels[0][i + HASH_SIZE : i + RECORD_SIZE])
        for i in range(0, len(levels[0]), RECORD_SIZE)
    ]
    assert all(amount >= 0 for sums in leaf_sums for amount in sums)
    # Padding leaves hold nothing: what the customers' leaves hold is everything.
    used = sorted(published.tree.positions)
    assert sum(sum(leaf_sums[i]) for i in used) == sum(
        sum(leaf_sums[i]) for i in range(len(leaf_sums))
    )
    below = leaf_sums
    for level in levels[1:]:
        sums = [
            decode_sums(level[i + HASH_SIZE : i + RECORD_SIZE])
            for i in range(0, len(level), RECORD_SIZE)
        ]
        for parent, (left, right) in enumerate(zip(below[::2], below[1::2], strict=True)):
            assert sums[parent] == tuple(a + b for a, b in zip(left, right, strict=True))
        below = sums


def test_a_customers_leaves_are_spread_and_split(published: Published) -> None:
    whale = max(published.inputs, key=lambda customer: published.inputs[customer].total)
    proof = published.tree.proof(whale, published.snapshot)
    shares = [int(leaf["amounts"]["available"]) for leaf in proof["leaves"]]
    assert sum(shares) == published.inputs[whale].available
    assert max(shares) < published.inputs[whale].available  # no leaf carries the whole balance
    first_leaves = [published.tree.leaf_indexes(f"cus_{n:05d}")[0] for n in range(100)]
    assert first_leaves != sorted(first_leaves)  # positions are not in customer order


def test_a_negative_liability_is_refused_at_build_time() -> None:
    customers = [("cus_a", Liabilities(available=5)), ("cus_b", Liabilities(in_stakes=-1))]
    with pytest.raises(LiabilityError, match="customer cus_b: in_stakes is negative") as caught:
        build_tree("sol_neg", customers)
    assert (caught.value.code, caught.value.customer_id) == ("negative_liability", "cus_b")


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (Liabilities(available=1.5), "invalid_amount"),  # type: ignore[arg-type]
        (Liabilities(available=True), "invalid_amount"),
        (Liabilities(promised_yields=2**64), "amount_too_large"),
    ],
)
def test_a_non_integer_or_oversized_amount_is_refused(bad: Liabilities, code: str) -> None:
    with pytest.raises(LiabilityError) as caught:
        build_tree("sol_bad", [("cus_a", Liabilities(available=1)), ("cus_b", bad)])
    assert caught.value.code == code


def test_a_customer_listed_twice_is_refused() -> None:
    with pytest.raises(LiabilityError) as caught:
        build_tree("sol_dup", [("cus_a", Liabilities(1)), ("cus_a", Liabilities(2))])
    assert caught.value.code == "duplicate_customer"


def _bump(value: str) -> str:
    return str(int(value) + 1)


def _flip(hex_text: str) -> str:
    """The same hex string with its last digit changed."""
    last = hex_text[-1]
    return hex_text[:-1] + ("0" if last != "0" else "1")


Tamper = Callable[[dict[str, Any]], None]
TAMPERINGS: dict[str, tuple[Tamper, str]] = {
    "leaf amount": (
        lambda p: p["leaves"][0]["amounts"].update(
            available=_bump(p["leaves"][0]["amounts"]["available"])
        ),
        "leaves[0] (tree index {0}): its path does not lead to the root hash",
    ),
    "leaf salt": (
        lambda p: p["leaves"][1].update(salt=_flip(p["leaves"][1]["salt"])),
        "leaves[1] (tree index {1}): its path does not lead to the root hash",
    ),
    "path node hash": (
        lambda p: p["leaves"][1]["path"][5].update(hash=_flip(p["leaves"][1]["path"][5]["hash"])),
        "leaves[1] (tree index {1}): its path does not lead to the root hash",
    ),
    "path node sum": (
        lambda p: p["leaves"][0]["path"][9]["sums"].update(
            in_stakes=_bump(p["leaves"][0]["path"][9]["sums"]["in_stakes"])
        ),
        "leaves[0] (tree index {0}): its path does not lead to the root hash",
    ),
    "negative path node": (
        lambda p: p["leaves"][0]["path"][3]["sums"].update(promised_rewards="-1"),
        "leaves[0] (tree index {0}) path level 3: sibling sum promised_rewards is negative (-1)",
    ),
    "negative leaf": (
        lambda p: p["leaves"][1]["amounts"].update(available="-5"),
        "leaves[1] (tree index {1}): amount available is negative (-5)",
    ),
    "root hash": (
        lambda p: p["root"].update(hash=_flip(p["root"]["hash"])),
        "root hash: the published",
    ),
    "root total": (
        lambda p: p["root"]["totals"].update(
            pending_withdrawals=_bump(p["root"]["totals"]["pending_withdrawals"])
        ),
        "root totals: pending_withdrawals is published as",
    ),
    "balances": (
        lambda p: p["balances"].update(available=_bump(p["balances"]["available"])),
        "balances: available is stated as",
    ),
    "signature": (
        lambda p: p.update(signature=_flip(p["signature"][:-2]) + p["signature"][-2:]),
        "signature: ",
    ),
    "signer": (
        lambda p: p.update(signer="0x" + "11" * 20),
        "signature: the snapshot was signed by",
    ),
    "ledger position": (
        lambda p: p.update(ledger_position="transfer 123457"),
        "signature: the snapshot was signed by",
    ),
}


@pytest.mark.parametrize("what", list(TAMPERINGS))
def test_tampering_fails_saying_what(published: Published, what: str) -> None:
    proof = published.tree.proof("cus_00042", published.snapshot)
    verify_proof(proof)  # untouched, it holds
    tamper, expected = TAMPERINGS[what]
    tampered = copy.deepcopy(proof)
    tamper(tampered)
    with pytest.raises(ProofError) as caught:
        verify_proof(tampered)
    indexes = [leaf["index"] for leaf in proof["leaves"]]
    assert str(caught.value).startswith(expected.format(*indexes)), str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_proof_does_not_verify_with_another_customers_salts(published: Published) -> None:
    mine = published.tree.proof("cus_00007", published.snapshot)
    theirs = published.tree.proof("cus_00008", published.snapshot)
    for leaf, other in zip(mine["leaves"], theirs["leaves"], strict=True):
        leaf["salt"] = other["salt"]
    with pytest.raises(ProofError, match=r"leaves\[0\] .*does not lead to the root hash"):
        verify_proof(mine)


def test_the_cli_checks_downloaded_proofs_as_a_real_process(
    published: Published, tmp_path: Path
) -> None:
    for customer_id in ("cus_09999",):
        path = tmp_path / f"{customer_id}.json"
        path.write_text(json.dumps(published.tree.proof(customer_id, published.snapshot)))
        done = subprocess.run(
            [str(BIN / "mtx-verify"), str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert (done.returncode, done.stderr) == (0, ""), done.stderr
        assert done.stdout.startswith("OK: snapshot sol_test16 at 2026-12-02T15:00:00Z")
        owed = published.inputs[customer_id]
        whole, fraction = divmod(owed.available, 10**6)
        assert f"available {whole}.{fraction:06d}" in done.stdout

    proof = published.tree.proof("cus_00001", published.snapshot)
    proof["root"]["totals"]["available"] = _bump(proof["root"]["totals"]["available"])
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(proof))
    done = subprocess.run(
        [sys.executable, "-I", "-m", "miningtx_verify", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("FAILED: root totals: available is published as")
    assert done.stderr.count("\n") == 1

"""The standalone verifier: it stands alone, its hashing rules are pinned, its CLI is one line."""

from __future__ import annotations

import ast
import hashlib
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from eth_account import Account

from miningtx.solvency.merkle import Liabilities, build_tree, sign_snapshot
from miningtx_verify import rules
from miningtx_verify.cli import main

PACKAGE = Path(__file__).resolve().parents[2] / "clients" / "verify" / "src" / "miningtx_verify"
#: All the verifier may import besides the standard library and itself.
ALLOWED = {"eth_account", "miningtx_verify"}


def test_the_verifier_imports_only_the_standard_library_and_eth_account() -> None:
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) >= 4
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{source}: relative import"
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in ALLOWED or top in sys.stdlib_module_names, f"{source}: {name}"


def test_verifying_a_proof_loads_no_server_module(tmp_path: Path) -> None:
    """Run as a customer would (isolated mode, a real process) and list what got imported."""
    tree = build_tree("sol_alone", [("cus_a", Liabilities(available=1_500_000))])
    snapshot = sign_snapshot(
        tree,
        published_at=datetime(2026, 12, 2, tzinfo=UTC),
        ledger_position="transfer 1",
        account=Account.create(),
    )
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(tree.proof("cus_a", snapshot)))
    script = (
        "import sys\n"
        "from miningtx_verify.cli import main\n"
        f"code = main([{str(path)!r}])\n"
        "server = sorted(m for m in sys.modules if m == 'miningtx' or m.startswith('miningtx.'))\n"
        "print('server modules:', server)\n"
        "raise SystemExit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "your balances (USDT): available 1.500000," in done.stdout
    assert done.stdout.strip().endswith("server modules: []")


def test_the_hashing_rules_are_the_documented_bytes() -> None:
    """Recomputed here from the docs with hashlib alone: a change to the rules fails this."""
    salt = bytes(range(32))
    amounts = (1, 2, 3, 4, 2**64 - 1)
    encoded = b"".join(amount.to_bytes(8, "big") for amount in amounts)
    assert (
        rules.leaf_hash("sol_x", salt, amounts)
        == hashlib.sha256(b"\x00" + b"\x05sol_x" + salt + encoded).digest()
    )
    left, right = b"\xaa" * 32, b"\xbb" * 32
    assert (
        rules.node_hash(left, (1, 0, 0, 0, 0), right, (0, 0, 0, 0, 7))
        == hashlib.sha256(
            b"\x01"
            + left
            + (1).to_bytes(8, "big")
            + bytes(32)
            + right
            + bytes(32)
            + (7).to_bytes(8, "big")
        ).digest()
    )
    assert rules.add_sums_raw(
        rules.encode_sums((1, 2**63, 0, 5, 2**64 - 2)), rules.encode_sums((1, 2**63 - 1, 0, 5, 1))
    ) == rules.encode_sums((2, 2**64 - 1, 0, 10, 2**64 - 1))
    message = rules.snapshot_message(
        "sol_x", "2026-12-02T15:00:00Z", "transfer 9", b"\x01" * 32, dict.fromkeys(rules.FIELDS, 3)
    )
    assert message == (
        "MiningTX proof of liabilities\nversion: 1\nsnapshot: sol_x\n"
        "time: 2026-12-02T15:00:00Z\nledger position: transfer 9\n"
        f"root: 0x{'01' * 32}\ntotal available: 3\ntotal in_stakes: 3\n"
        "total pending_withdrawals: 3\ntotal promised_rewards: 3\ntotal promised_yields: 3"
    )


@pytest.mark.parametrize("amounts", [(-1, 0, 0, 0, 0), (0, 0, 0, 0, 2**64)])
def test_the_encoding_refuses_what_it_cannot_represent(amounts: tuple[int, ...]) -> None:
    with pytest.raises(rules.RuleError):
        rules.encode_sums(amounts)


def test_an_unreadable_or_foreign_file_fails_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path / "missing.json")]) == 1
    assert capsys.readouterr().err.startswith("FAILED: cannot read")
    (tmp_path / "other.json").write_text('{"format": "something else"}')
    assert main([str(tmp_path / "other.json")]) == 1
    err = capsys.readouterr().err
    assert err == "FAILED: format: not a miningtx-liability-proof document\n"

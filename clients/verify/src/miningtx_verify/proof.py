"""Check a customer's proof-of-liabilities document offline.

A proof (JSON, format `miningtx-liability-proof`, version 1) carries the customer's
leaves (tree index, salt, amounts), each leaf's sibling path to the root (hash and sums
per level, from the leaf up), the root hash and totals, and the operator's signature
over the snapshot. `verify_proof` recomputes everything and raises `ProofError` with one
line naming the first thing that does not hold. Amounts are strings of integer
micro-USDT (JSON numbers lose precision in browsers beyond 2**53).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct

from miningtx_verify.rules import (
    AMOUNT_LIMIT,
    FIELDS,
    HASH_SIZE,
    SALT_SIZE,
    SNAPSHOT_ID,
    TIMESTAMP,
    RuleError,
    encode_sums,
    leaf_hash,
    node_hash_raw,
    snapshot_message,
)

PROOF_FORMAT = "miningtx-liability-proof"
PROOF_VERSION = 1
_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
#: The deepest tree a proof may describe (2**40 leaves is far beyond any snapshot).
MAX_DEPTH = 40
_FIELD_SET = frozenset(FIELDS)


class ProofError(Exception):
    """The proof does not verify; the message is one line saying what failed."""


@dataclass(frozen=True)
class VerifiedProof:
    snapshot_id: str
    published_at: str
    ledger_position: str
    root_hash: bytes
    totals: dict[str, int]
    #: What the customer's own leaves add up to, per field.
    balances: dict[str, int]
    leaves: int
    leaf_count: int
    signer: str


def amounts_json(amounts: Mapping[str, int]) -> dict[str, str]:
    """Amounts as the proof writes them: every field, integer micro-USDT as a string."""
    return {name: str(amounts[name]) for name in FIELDS}


def _get(document: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in document:
        raise ProofError(f"{where}{key}: missing")
    return document[key]


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ProofError(f"{where}: expected an object")
    return value


def _text(value: Any, where: str, pattern: re.Pattern[str] | None = None) -> str:
    if not isinstance(value, str) or (pattern is not None and not pattern.fullmatch(value)):
        raise ProofError(f"{where}: malformed ({value!r})")
    return value


def _hex_bytes(value: Any, size: int, where: str) -> bytes:
    text = _text(value, where)
    digits = text.removeprefix("0x")
    if len(digits) != 2 * size or not re.fullmatch(r"[0-9a-fA-F]*", digits):
        raise ProofError(f"{where}: expected {size} bytes of hex, got {text!r}")
    return bytes.fromhex(digits)


def _amounts(value: Any, where: str, what: str) -> tuple[int, ...]:
    """One non-negative integer per field; a negative one is named as such."""
    mapping = _object(value, where)
    if mapping.keys() != _FIELD_SET:
        raise ProofError(f"{where}: must name exactly {', '.join(FIELDS)}")
    raws = [mapping[name] for name in FIELDS]
    if all(type(raw) is str and raw.isascii() and raw.isdigit() for raw in raws):
        amounts = tuple(map(int, raws))  # the common case: plain digits
        if max(amounts) < AMOUNT_LIMIT and all(raw == "0" or raw[0] != "0" for raw in raws):
            return amounts
    for name, raw in zip(FIELDS, raws, strict=True):
        if not isinstance(raw, str) or not (raw.isascii() and _INTEGER.fullmatch(raw)):
            raise ProofError(f"{where}.{name}: not an integer of micro-USDT ({raw!r})")
        amount = int(raw)
        if amount < 0:
            raise ProofError(f"{where}: {what} {name} is negative ({amount})")
        if amount >= AMOUNT_LIMIT:
            raise ProofError(f"{where}: {what} {name} is out of range ({amount})")
    raise AssertionError("unreachable: some amount failed a check above")  # pragma: no cover


@dataclass(frozen=True)
class _Reached:
    where: str
    root_hash: bytes
    root_sums: tuple[int, ...]
    amounts: tuple[int, ...]


def _climb(snapshot_id: str, leaf: Any, position: int, depth: int, seen: set[int]) -> _Reached:
    """Recompute one leaf's hash and walk its path up to the root it implies."""
    where = f"leaves[{position}]"
    leaf = _object(leaf, where)
    index = _get(leaf, "index", f"{where}.")
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < 2**depth:
        raise ProofError(f"{where}.index: not a leaf of a tree of {2**depth} ({index!r})")
    if index in seen:
        raise ProofError(f"{where}.index: leaf {index} appears twice")
    seen.add(index)
    where = f"leaves[{position}] (tree index {index})"
    salt = _hex_bytes(_get(leaf, "salt", f"leaves[{position}]."), SALT_SIZE, f"{where} salt")
    amounts = _amounts(_get(leaf, "amounts", f"leaves[{position}]."), where, "amount")
    path = _get(leaf, "path", f"leaves[{position}].")
    if not isinstance(path, list) or len(path) != depth:
        length = len(path) if isinstance(path, list) else "no"
        raise ProofError(f"{where}: the path has {length} levels, the tree has {depth}")
    current_hash = leaf_hash(snapshot_id, salt, amounts)
    current_sums = amounts
    for level, raw_step in enumerate(path):
        at = f"{where} path level {level}"
        step = _object(raw_step, at)
        sibling_hash = _hex_bytes(_get(step, "hash", f"{at} "), HASH_SIZE, f"{at} hash")
        sibling_sums = _amounts(_get(step, "sums", f"{at} "), at, "sibling sum")
        current = current_hash + encode_sums(current_sums)
        sibling = sibling_hash + encode_sums(sibling_sums)
        current_hash = node_hash_raw(
            sibling + current if (index >> level) & 1 else current + sibling
        )
        current_sums = tuple(a + b for a, b in zip(current_sums, sibling_sums, strict=True))
        if any(total >= AMOUNT_LIMIT for total in current_sums):
            raise ProofError(f"{at}: the node's sum is out of range")
    return _Reached(where, current_hash, current_sums, amounts)


@functools.lru_cache(maxsize=64)
def _signer_of(message: str, signature: str) -> str:
    """The address that signed `message` (cached: every proof of a snapshot shares it)."""
    try:
        return str(Account.recover_message(encode_defunct(text=message), signature=signature))
    except Exception as error:
        raise ProofError(f"signature: cannot be read ({type(error).__name__})") from error


def _kind_checked(document: Mapping[str, Any]) -> Mapping[str, Any]:
    if _get(document, "format", "") != PROOF_FORMAT:
        raise ProofError(f"format: not a {PROOF_FORMAT} document")
    if _get(document, "version", "") != PROOF_VERSION:
        raise ProofError(f"version: this verifier reads version {PROOF_VERSION}")
    if _get(document, "fields", "") != list(FIELDS):
        raise ProofError(f"fields: expected {', '.join(FIELDS)}")
    return document


def _depth(leaf_count: Any) -> int:
    """The number of levels below the root of a tree of `leaf_count` leaves."""
    if (
        not isinstance(leaf_count, int)
        or isinstance(leaf_count, bool)
        or leaf_count < 1
        or leaf_count & (leaf_count - 1)
        or leaf_count > 2**MAX_DEPTH
    ):
        raise ProofError(f"leaf_count: not a power of two ({leaf_count!r})")
    return leaf_count.bit_length() - 1


def verify_proof(document: Any) -> VerifiedProof:
    """Every check a customer needs; raises ProofError naming the first failure."""
    document = _kind_checked(_object(document, "proof"))
    snapshot_id = _text(_get(document, "snapshot_id", ""), "snapshot_id", SNAPSHOT_ID)
    published_at = _text(_get(document, "published_at", ""), "published_at", TIMESTAMP)
    ledger_position = _text(_get(document, "ledger_position", ""), "ledger_position")
    leaf_count = _get(document, "leaf_count", "")
    depth = _depth(leaf_count)
    root = _object(_get(document, "root", ""), "root")
    root_hash = _hex_bytes(_get(root, "hash", "root."), HASH_SIZE, "root hash")
    totals = _amounts(_get(root, "totals", "root."), "root totals", "total")
    signer = _text(_get(document, "signer", ""), "signer", _ADDRESS)
    signature = _text(_get(document, "signature", ""), "signature")
    balances = _amounts(_get(document, "balances", ""), "balances", "balance")
    leaves = _get(document, "leaves", "")
    if not isinstance(leaves, list) or not leaves:
        raise ProofError("leaves: expected a non-empty list")

    seen: set[int] = set()
    reached = [
        _climb(snapshot_id, leaf, position, depth, seen) for position, leaf in enumerate(leaves)
    ]
    wrong = [leaf for leaf in reached if leaf.root_hash != root_hash]
    if wrong and len(reached) > 1 and len({leaf.root_hash for leaf in reached}) == 1:
        raise ProofError(
            f"root hash: the published 0x{root_hash.hex()} is not the root every leaf's "
            f"path leads to (0x{reached[0].root_hash.hex()})"
        )
    if wrong:
        raise ProofError(
            f"{wrong[0].where}: its path does not lead to the root hash "
            "(the leaf's amounts, salt or a path node differ from what was published)"
        )
    computed = reached[0].root_sums
    for name, published, actual in zip(FIELDS, totals, computed, strict=True):
        if published != actual:
            raise ProofError(
                f"root totals: {name} is published as {published} but the tree sums to {actual}"
            )
    held = [sum(leaf.amounts[field] for leaf in reached) for field in range(len(FIELDS))]
    for name, stated, actual in zip(FIELDS, balances, held, strict=True):
        if stated != actual:
            raise ProofError(f"balances: {name} is stated as {stated} but the leaves hold {actual}")

    try:
        message = snapshot_message(
            snapshot_id,
            published_at,
            ledger_position,
            root_hash,
            dict(zip(FIELDS, totals, strict=True)),
        )
    except RuleError as error:
        raise ProofError(f"ledger_position: {error}") from error
    recovered = _signer_of(message, signature)
    if recovered.lower() != signer.lower():
        raise ProofError(
            f"signature: the snapshot was signed by {recovered}, not the published signer {signer}"
        )
    return VerifiedProof(
        snapshot_id=snapshot_id,
        published_at=published_at,
        ledger_position=ledger_position,
        root_hash=root_hash,
        totals=dict(zip(FIELDS, totals, strict=True)),
        balances=dict(zip(FIELDS, balances, strict=True)),
        leaves=len(reached),
        leaf_count=leaf_count,
        signer=signer,
    )

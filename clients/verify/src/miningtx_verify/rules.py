"""The one definition of how a liability tree is hashed and how a snapshot is signed.

The server's builder imports these functions, so what it publishes and what a customer
checks cannot drift apart. Everything here is plain bytes and integers:

- an amount is an integer of micro-USDT (0.000001 USDT), 0 <= amount < 2**64, encoded
  as 8 bytes big-endian; the amounts of a leaf or node are its `FIELDS` in that order
  (`SUMS_SIZE` bytes);
- leaf hash = SHA-256(0x00 || len(snapshot id) as 1 byte || snapshot id (ASCII) ||
  salt (32 bytes) || amounts);
- inner node hash = SHA-256(0x01 || left hash || left sums || right hash || right sums),
  and the node's sums are the field-wise sums of its children's: every node commits to
  both children's sums separately, so no child can carry a hidden negative part;
- the snapshot is signed with EIP-191 `personal_sign` over `snapshot_message`.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Mapping, Sequence

#: The liability fields of every leaf and node, in their encoding order (micro-USDT).
FIELDS = (
    "available",
    "in_stakes",
    "pending_withdrawals",
    "promised_rewards",
    "promised_yields",
)
HASH_SIZE = 32
SALT_SIZE = 32
AMOUNT_SIZE = 8
SUMS_SIZE = AMOUNT_SIZE * len(FIELDS)
#: A stored node: its hash followed by its sums.
RECORD_SIZE = HASH_SIZE + SUMS_SIZE
#: Amounts and sums must stay below this (they are 8-byte unsigned integers).
AMOUNT_LIMIT = 2 ** (8 * AMOUNT_SIZE)
_SUMS = struct.Struct(">" + "Q" * len(FIELDS))
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
MESSAGE_VERSION = 1
#: Snapshot ids are short ASCII tokens; they are part of every leaf hash.
SNAPSHOT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: The publication time, in UTC to the second.
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


class RuleError(ValueError):
    """A value the encoding cannot represent (negative, too large, malformed)."""


def encode_sums(amounts: Sequence[int]) -> bytes:
    """The canonical bytes of one amount per field; refuses negatives and overflow."""
    if len(amounts) != len(FIELDS):
        raise RuleError(f"expected {len(FIELDS)} amounts, got {len(amounts)}")
    if min(amounts) < 0 or max(amounts) >= AMOUNT_LIMIT:
        for name, amount in zip(FIELDS, amounts, strict=True):
            if amount < 0:
                raise RuleError(f"{name} is negative ({amount})")
            if amount >= AMOUNT_LIMIT:
                raise RuleError(f"{name} is too large ({amount})")
    return _SUMS.pack(*amounts)


def decode_sums(data: bytes) -> tuple[int, ...]:
    return _SUMS.unpack(data)


def snapshot_id_bytes(snapshot_id: str) -> bytes:
    """The length-prefixed snapshot id that starts every leaf's preimage."""
    if not SNAPSHOT_ID.fullmatch(snapshot_id):
        raise RuleError(f"snapshot id {snapshot_id!r} is not 1-64 of A-Z a-z 0-9 _ -")
    encoded = snapshot_id.encode("ascii")
    return len(encoded).to_bytes(1, "big") + encoded


def leaf_hash_raw(snapshot_prefix: bytes, salt: bytes, sums: bytes) -> bytes:
    """Leaf hash from already encoded parts (the builder's fast path)."""
    return hashlib.sha256(LEAF_PREFIX + snapshot_prefix + salt + sums).digest()


def leaf_hash(snapshot_id: str, salt: bytes, amounts: Sequence[int]) -> bytes:
    if len(salt) != SALT_SIZE:
        raise RuleError(f"a salt is {SALT_SIZE} bytes, got {len(salt)}")
    return leaf_hash_raw(snapshot_id_bytes(snapshot_id), salt, encode_sums(amounts))


def node_hash_raw(children: bytes) -> bytes:
    """Inner node hash from its two stored children (left record then right record)."""
    return hashlib.sha256(NODE_PREFIX + children).digest()


def add_sums_raw(left: bytes, right: bytes) -> bytes:
    """Field-wise sum of two encoded sums.

    Adding the big-endian concatenations as single integers adds each field separately,
    because no field can carry into its neighbour: the caller guarantees every total is
    below AMOUNT_LIMIT (`node_sums` checks it; the builder checks the root totals).
    """
    total = int.from_bytes(left, "big") + int.from_bytes(right, "big")
    return total.to_bytes(SUMS_SIZE, "big")


def node_sums(left: Sequence[int], right: Sequence[int]) -> tuple[int, ...]:
    sums = tuple(a + b for a, b in zip(left, right, strict=True))
    encode_sums(sums)
    return sums


def node_hash(
    left_hash: bytes, left_sums: Sequence[int], right_hash: bytes, right_sums: Sequence[int]
) -> bytes:
    return node_hash_raw(left_hash + encode_sums(left_sums) + right_hash + encode_sums(right_sums))


def snapshot_message(
    snapshot_id: str,
    published_at: str,
    ledger_position: str,
    root_hash: bytes,
    totals: Mapping[str, int],
) -> str:
    """The text the operator key signs (EIP-191 personal_sign): one `key: value` a line."""
    snapshot_id_bytes(snapshot_id)
    if not TIMESTAMP.fullmatch(published_at):
        raise RuleError(f"time {published_at!r} is not YYYY-MM-DDTHH:MM:SSZ")
    if not ledger_position.isprintable() or not ledger_position:
        raise RuleError("the ledger position must be one printable line")
    if set(totals) != set(FIELDS):
        raise RuleError(f"totals must name exactly {', '.join(FIELDS)}")
    encode_sums([totals[name] for name in FIELDS])
    lines = [
        "MiningTX proof of liabilities",
        f"version: {MESSAGE_VERSION}",
        f"snapshot: {snapshot_id}",
        f"time: {published_at}",
        f"ledger position: {ledger_position}",
        f"root: 0x{root_hash.hex()}",
        *(f"total {name}: {totals[name]}" for name in FIELDS),
    ]
    return "\n".join(lines)

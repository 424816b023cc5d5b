"""The Merkle sum tree behind a proof-of-liabilities snapshot, and each customer's proof.

`build_tree` takes every customer's liabilities and commits to them: each field
(available, in stakes, pending withdrawals, promised rewards, promised yields) is summed
separately in every node, so the root commits to each total. The hashing rules live in
`miningtx_verify.rules`, the standalone verifier customers run, so the two cannot drift.

What the tree hides. A customer sees sibling hashes and sums on their path, so leaves
must not reveal anyone's balance, size or position:
- each customer is split into `LEAVES_PER_CUSTOMER` leaves; every field is divided
  between them at a uniformly random cut (`secrets.randbelow`), so no leaf carries a
  whole balance and the leaf count reveals only the customer count;
- every leaf (including padding) has its own random 32-byte salt, and the snapshot id
  is part of every leaf hash, so a leaf cannot be tested against a guessed balance or
  replayed into another snapshot;
- the leaves are padded to a power of two with zero leaves (indistinguishable: salted
  like the others) and placed by a uniformly random permutation
  (`secrets.SystemRandom().shuffle`), so a position says nothing about a customer.

Memory: a level is one `bytes` of fixed 72-byte records (hash, then sums), the leaves'
salts one `bytes`, the customers' leaf positions one `array`; there is no Python object
per node. The whole tree is about 2 x 72 bytes x padded leaf count.
"""

from __future__ import annotations

import dataclasses
import itertools
import secrets
from array import array
from collections.abc import Iterable
from dataclasses import astuple, dataclass, fields
from datetime import UTC, datetime
from typing import Any

from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from miningtx_verify.proof import PROOF_FORMAT, PROOF_VERSION, amounts_json
from miningtx_verify.rules import (
    AMOUNT_LIMIT,
    FIELDS,
    HASH_SIZE,
    RECORD_SIZE,
    SALT_SIZE,
    SUMS_SIZE,
    add_sums_raw,
    decode_sums,
    leaf_hash_raw,
    node_hash_raw,
    snapshot_id_bytes,
    snapshot_message,
)

#: Leaves per customer. Two random shares already keep every leaf from showing a whole
#: balance; each further share costs another leaf (time and memory grow linearly).
LEAVES_PER_CUSTOMER = 2
_ZERO_SUMS = bytes(SUMS_SIZE)


class LiabilityError(ValueError):
    """A liability the tree refuses to commit to; `code` is stable, `customer_id` names it."""

    def __init__(self, code: str, customer_id: str | None, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.customer_id = customer_id


@dataclass(frozen=True)
class Liabilities:
    """What the platform owes one customer (or all of them), integer micro-USDT per field."""

    available: int = 0
    in_stakes: int = 0
    pending_withdrawals: int = 0
    promised_rewards: int = 0
    promised_yields: int = 0

    def amounts(self) -> tuple[int, ...]:
        return astuple(self)

    @classmethod
    def of(cls, amounts: Iterable[int]) -> Liabilities:
        return cls(*amounts)

    @property
    def total(self) -> int:
        return sum(self.amounts())


if tuple(field.name for field in fields(Liabilities)) != FIELDS:  # pragma: no cover
    raise RuntimeError("Liabilities must list miningtx_verify.rules.FIELDS in order")


@dataclass(frozen=True)
class LiabilityTree:
    """A built tree: levels from the leaves (0) up to the root, and where each customer is."""

    snapshot_id: str
    leaves_per_customer: int
    #: levels[0] holds the leaves; levels[-1] the root; each a run of RECORD_SIZE records.
    levels: tuple[bytes, ...]
    #: SALT_SIZE bytes per leaf, by tree index.
    salts: bytes
    customer_ids: tuple[str, ...]
    #: Tree index of customer c's i-th leaf at [c * leaves_per_customer + i].
    positions: array[int]
    #: Customer id -> its number c in `customer_ids`.
    numbers: dict[str, int]

    @property
    def leaf_count(self) -> int:
        return len(self.levels[0]) // RECORD_SIZE

    @property
    def root_hash(self) -> bytes:
        return self.levels[-1][:HASH_SIZE]

    @property
    def totals(self) -> Liabilities:
        return Liabilities.of(decode_sums(self.levels[-1][HASH_SIZE:RECORD_SIZE]))

    def leaf_indexes(self, customer_id: str) -> list[int]:
        start = self.numbers[customer_id] * self.leaves_per_customer
        return sorted(self.positions[start : start + self.leaves_per_customer])

    def proof(self, customer_id: str, snapshot: SignedSnapshot) -> dict[str, Any]:
        """The customer's proof document (what `mtx-verify` checks); KeyError if unknown."""
        if snapshot.root_hash != self.root_hash or snapshot.snapshot_id != self.snapshot_id:
            raise ValueError("the signed snapshot is not this tree's")
        leaves = []
        balances = [0] * len(FIELDS)
        for index in self.leaf_indexes(customer_id):
            amounts = decode_sums(self._record(0, index)[HASH_SIZE:])
            balances = [held + amount for held, amount in zip(balances, amounts, strict=True)]
            path = []
            for level in range(len(self.levels) - 1):
                sibling = self._record(level, (index >> level) ^ 1)
                path.append(
                    {
                        "hash": sibling[:HASH_SIZE].hex(),
                        "sums": amounts_json(_named(decode_sums(sibling[HASH_SIZE:]))),
                    }
                )
            leaves.append(
                {
                    "index": index,
                    "salt": self.salts[index * SALT_SIZE : (index + 1) * SALT_SIZE].hex(),
                    "amounts": amounts_json(_named(amounts)),
                    "path": path,
                }
            )
        return {
            "format": PROOF_FORMAT,
            "version": PROOF_VERSION,
            "fields": list(FIELDS),
            "snapshot_id": snapshot.snapshot_id,
            "published_at": snapshot.published_at,
            "ledger_position": snapshot.ledger_position,
            "customer_id": customer_id,
            "leaf_count": self.leaf_count,
            "root": {
                "hash": snapshot.root_hash.hex(),
                "totals": amounts_json(_named(snapshot.totals.amounts())),
            },
            "signer": snapshot.signer,
            "signature": snapshot.signature,
            "balances": amounts_json(_named(balances)),
            "leaves": leaves,
        }

    def _record(self, level: int, index: int) -> bytes:
        return self.levels[level][index * RECORD_SIZE : (index + 1) * RECORD_SIZE]


@dataclass(frozen=True)
class SignedSnapshot:
    """The published head of a snapshot: what the operator key signed, and the signature."""

    snapshot_id: str
    published_at: str
    ledger_position: str
    root_hash: bytes
    totals: Liabilities
    signer: str
    signature: str

    @property
    def message(self) -> str:
        return snapshot_message(
            self.snapshot_id,
            self.published_at,
            self.ledger_position,
            self.root_hash,
            _named(self.totals.amounts()),
        )


def build_tree(
    snapshot_id: str,
    customers: Iterable[tuple[str, Liabilities]],
    *,
    leaves_per_customer: int = LEAVES_PER_CUSTOMER,
) -> LiabilityTree:
    """Commit to every customer's liabilities; refuses a negative or non-integer amount."""
    if leaves_per_customer < 1:
        raise ValueError("leaves_per_customer must be at least 1")
    prefix = snapshot_id_bytes(snapshot_id)
    ids: list[str] = []
    numbers: dict[str, int] = {}
    shares = bytearray()
    totals = [0] * len(FIELDS)
    for customer_id, liabilities in customers:
        amounts = _checked(customer_id, liabilities)
        if customer_id in numbers:
            raise LiabilityError(
                "duplicate_customer", customer_id, f"customer {customer_id} is listed twice"
            )
        numbers[customer_id] = len(ids)
        ids.append(customer_id)
        totals = [total + amount for total, amount in zip(totals, amounts, strict=True)]
        split = [_split(amount, leaves_per_customer) for amount in amounts]
        for share in zip(*split, strict=True):
            shares += b"".join(part.to_bytes(8, "big") for part in share)
    for name, total in zip(FIELDS, totals, strict=True):
        if total >= AMOUNT_LIMIT:
            raise LiabilityError(
                "total_too_large", None, f"the total of {name} ({total}) exceeds 2**64 - 1"
            )

    used = len(ids) * leaves_per_customer
    leaf_count = 1 << max(used - 1, 0).bit_length()
    order = list(range(leaf_count))
    secrets.SystemRandom().shuffle(order)
    positions = array("Q", order[:used])
    salts = secrets.token_bytes(SALT_SIZE * leaf_count)
    leaves = bytearray(RECORD_SIZE * leaf_count)
    for slot, index in enumerate(order):
        sums = bytes(shares[slot * SUMS_SIZE : (slot + 1) * SUMS_SIZE]) if slot < used else b""
        sums = sums or _ZERO_SUMS
        salt = salts[index * SALT_SIZE : (index + 1) * SALT_SIZE]
        leaves[index * RECORD_SIZE : (index + 1) * RECORD_SIZE] = (
            leaf_hash_raw(prefix, salt, sums) + sums
        )
    del order, shares
    levels = [bytes(leaves)]
    del leaves
    while len(levels[-1]) > RECORD_SIZE:
        levels.append(_parents(levels[-1]))
    return LiabilityTree(
        snapshot_id=snapshot_id,
        leaves_per_customer=leaves_per_customer,
        levels=tuple(levels),
        salts=salts,
        customer_ids=tuple(ids),
        positions=positions,
        numbers=numbers,
    )


def sign_snapshot(
    tree: LiabilityTree, *, published_at: datetime, ledger_position: str, account: LocalAccount
) -> SignedSnapshot:
    """Sign the tree's head with the operator's EVM key (EIP-191 personal_sign)."""
    if published_at.tzinfo is None:
        raise ValueError("published_at must carry a time zone")
    unsigned = SignedSnapshot(
        snapshot_id=tree.snapshot_id,
        published_at=published_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        ledger_position=ledger_position,
        root_hash=tree.root_hash,
        totals=tree.totals,
        signer=account.address,
        signature="",
    )
    signed = account.sign_message(encode_defunct(text=unsigned.message))
    return dataclasses.replace(unsigned, signature="0x" + bytes(signed.signature).hex())


def _parents(level: bytes) -> bytes:
    """The level above: each pair of records becomes (node hash, summed sums)."""
    pair = 2 * RECORD_SIZE
    out = bytearray(len(level) // 2)
    for offset in range(0, len(level), pair):
        children = level[offset : offset + pair]
        sums = add_sums_raw(
            children[HASH_SIZE:RECORD_SIZE], children[RECORD_SIZE + HASH_SIZE : pair]
        )
        out[offset // 2 : offset // 2 + RECORD_SIZE] = node_hash_raw(children) + sums
    return bytes(out)


def _checked(customer_id: str, liabilities: Liabilities) -> tuple[int, ...]:
    amounts = liabilities.amounts()
    for name, amount in zip(FIELDS, amounts, strict=True):
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise LiabilityError(
                "invalid_amount",
                customer_id,
                f"customer {customer_id}: {name} is not an integer of micro-USDT ({amount!r})",
            )
        if amount < 0:
            raise LiabilityError(
                "negative_liability",
                customer_id,
                f"customer {customer_id}: {name} is negative ({amount}); "
                "a liability tree cannot commit to it",
            )
        if amount >= AMOUNT_LIMIT:
            raise LiabilityError(
                "amount_too_large",
                customer_id,
                f"customer {customer_id}: {name} ({amount}) exceeds 2**64 - 1 micro-USDT",
            )
    return amounts


def _split(amount: int, parts: int) -> list[int]:
    """`amount` as `parts` non-negative shares, cut at uniformly random points."""
    if parts == 1:
        return [amount]
    cuts = sorted(secrets.randbelow(amount + 1) for _ in range(parts - 1))
    bounds = [0, *cuts, amount]
    return [high - low for low, high in itertools.pairwise(bounds)]


def _named(amounts: Iterable[int]) -> dict[str, int]:
    return dict(zip(FIELDS, amounts, strict=True))

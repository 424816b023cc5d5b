"""The seam between approved withdrawals and whatever puts them on-chain.

A `PayoutSender` takes an approved withdrawal and returns the hash of the transaction
that sends `amount - fee` USDT to `address` on `network`. The service records the hash
(`mark_broadcast`: approved -> broadcast) and, once the transaction is final,
settles it (`settle_withdrawal`: broadcast -> processed, moving the funds out of
pending withdrawals); a payout that cannot be sent or reverts is `fail_withdrawal`ed,
which returns the amount to the customer.

Sandbox: `SimulatedChain` stands in for the chains and "sends" at once, so
`approve_withdrawal` (when `simulates(network)`) runs approved -> broadcast -> processed
in the operator's one transaction.

Live: the signer (a later issue) is a separate process holding the hot-wallet key
(`MTX_SIGNER_SEED_FILE`); the API never does. It plugs in by implementing this protocol
in its own process: it polls `repository.list_for_review(session,
WithdrawalStatus.APPROVED)`, builds and signs the USDT `transfer(address, amount - fee)`
with a nonce it manages, records the hash with `mark_broadcast` in a committed unit of
work *before* submitting the raw transaction (so a crash can never send twice unnoticed),
and later calls `settle_withdrawal` after the network's confirmations or `fail_withdrawal`
on a revert.
"""

from __future__ import annotations

from typing import Protocol

from eth_utils.crypto import keccak

from miningtx.models import Withdrawal


class PayoutSender(Protocol):
    """Sends an approved withdrawal on-chain and returns its transaction hash (0x + 64 hex)."""

    async def send(self, withdrawal: Withdrawal) -> str: ...


class SimulatedChain:
    """Sandbox only: a network on which every payout is accepted at once.

    The transaction hash is derived from the withdrawal id, so it is stable and clearly
    not a real chain's (nothing is sent anywhere).
    """

    async def send(self, withdrawal: Withdrawal) -> str:
        return "0x" + keccak(text=f"miningtx-sandbox-payout:{withdrawal.id}").hex()

"""The signer: the one process that holds private keys and puts transactions on-chain.

`mtx signer run` loads the wallet mnemonic (`MTX_SIGNER_SEED_FILE`, or the variable
`MTX_SIGNER_MNEMONIC`; never logged), refuses to start unless its account key is the
deployment's `MTX_WALLET_XPUB`, and then, per network with a node configured, repeats:

1. follow the transactions it signed: resend any the node does not know (the same
   bytes: same hash, same nonce), and once a receipt is final settle the withdrawal
   (`processed`) or fail it with the funds returned (`failed`);
2. pay approved withdrawals from the hot wallet: sign USDT `transfer(address,
   amount - fee)`, record the signed bytes and mark the withdrawal `broadcast` in one
   committed transaction, and only then send. A crash before the commit leaves
   nothing signed anywhere; after it, step 1 sends those same bytes. A transfer that
   would revert (the hot wallet lacks USDT) fails the withdrawal without sending;
3. sweep deposit addresses (and the funding address) holding at least
   `MTX_SWEEP_THRESHOLD` into the hot wallet, topping up their gas from the hot
   wallet first.

Every transaction is recorded with its sender and nonce under a unique key, so two
signers can never sign two different transactions for one nonce or one withdrawal.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import structlog
from bip32 import BIP32
from eth_account import Account
from eth_account.hdaccount import seed_from_mnemonic
from eth_account.signers.local import LocalAccount
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from web3.exceptions import ContractLogicError

from miningtx.config import Settings
from miningtx.kit.db import Database, WriteSession
from miningtx.kit.networks import NETWORKS
from miningtx.models import (
    ChainTransaction,
    ChainTransactionKind,
    ChainTransactionStatus,
    Deposit,
    DepositAddress,
    DepositStatus,
    Withdrawal,
    WithdrawalStatus,
)
from miningtx.wallet import service
from miningtx.wallet.chain import ChainClient, ChainError, from_micro, open_chain
from miningtx.wallet.devwallet import ACCOUNT_PATH, read_mnemonic
from miningtx.wallet.keys import (
    DEV_WALLET_SEED,
    FUNDING_INDEX,
    HOT_WALLET_INDEX,
    funding_address,
    hot_wallet_address,
    parse_account_xpub,
    resolve_wallet_xpub,
)

log = structlog.get_logger(__name__)

MNEMONIC_VARIABLE = "MTX_SIGNER_MNEMONIC"
#: Gas limit of a USDT transfer sent by a sweep (an ERC-20 transfer needs ~35-60k).
SWEEP_GAS = 100_000
#: Gas of a plain native-coin transfer.
NATIVE_TRANSFER_GAS = 21_000
#: Payouts signed per network per round.
BATCH = 20
#: Test hook (sandbox only): exit abruptly right after this step, to prove recovery.
CRASH_VARIABLE = "MTX_SIGNER_TEST_CRASH"


class SignerError(Exception):
    """The signer cannot start: no key, or a key that is not this deployment's."""


class Keys:
    """Private keys of the wallet: m/44'/60'/0'/0/n deposit addresses, /1/0 hot, /1/1 funding."""

    def __init__(self, mnemonic: str) -> None:
        root = BIP32.from_seed(seed_from_mnemonic(mnemonic, ""))
        self._account = BIP32.from_xpriv(root.get_xpriv_from_path(ACCOUNT_PATH))
        self.xpub: str = self._account.get_xpub()

    @cache  # noqa: B019  # one Keys per process; the cache lives as long as the keys
    def _key(self, path: str) -> LocalAccount:
        secret: bytes = self._account.get_privkey_from_path(path)
        account: LocalAccount = Account.from_key(secret)
        return account

    def hot_wallet(self) -> LocalAccount:
        return self._key(f"m/1/{HOT_WALLET_INDEX}")

    def funding(self) -> LocalAccount:
        return self._key(f"m/1/{FUNDING_INDEX}")

    def deposit(self, index: int) -> LocalAccount:
        return self._key(f"m/0/{index}")


def load_keys(settings: Settings) -> Keys:
    """The signer's keys, checked against the deployment's xpub."""
    mnemonic = os.environ.get(MNEMONIC_VARIABLE, "").strip()
    if not mnemonic:
        seed_file = settings.signer_seed_file
        if seed_file is None and settings.sandbox:
            seed_file = Path(settings.sandbox_wallet_dir) / DEV_WALLET_SEED
        if seed_file is None:
            raise SignerError(f"set MTX_SIGNER_SEED_FILE (or {MNEMONIC_VARIABLE}) for the signer")
        try:
            mnemonic = read_mnemonic(seed_file)
        except (OSError, ValueError) as error:
            raise SignerError(f"cannot read the signer's seed file: {error}") from None
    try:
        keys = Keys(mnemonic)
    except ValueError:
        raise SignerError("the signer's mnemonic is not a valid BIP-39 mnemonic") from None
    expected = resolve_wallet_xpub(settings)
    if parse_account_xpub(expected).get_xpub() != keys.xpub:
        raise SignerError(
            "the signer's mnemonic does not belong to this deployment's MTX_WALLET_XPUB"
        )
    return keys


def platform_addresses(settings: Settings) -> dict[str, dict[str, str]]:
    """The hot wallet and funding address per network (the same on every EVM network)."""
    xpub = resolve_wallet_xpub(settings)
    return {
        network: {"hot_wallet": hot_wallet_address(xpub), "funding": funding_address(xpub)}
        for network in NETWORKS
    }


@dataclass
class Signer:
    db: Database
    settings: Settings
    keys: Keys

    async def run_round(self) -> int:
        """One pass over every configured network; returns how much it did."""
        done = 0
        for chain in self.settings.chains():
            try:
                async with open_chain(chain) as client:
                    done += await self._follow(client)
                    done += await self._pay(client)
                    done += await self._sweep(client)
            except ChainError as error:
                log.warning("signer_chain_unreachable", network=chain.network, error=str(error))
        return done

    async def run_forever(self, stop: asyncio.Event) -> None:
        log.info("signer_started", hot_wallet=self.keys.hot_wallet().address)
        while not stop.is_set():
            if not await self.run_round():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.settings.worker_interval)
        log.info("signer_stopped")

    # 1. Follow what was signed -------------------------------------------------------

    async def _follow(self, client: ChainClient) -> int:
        chain = client.chain
        async with self.db.read() as session:
            open_txs = list(
                await session.scalars(
                    select(ChainTransaction)
                    .where(
                        ChainTransaction.network == chain.network,
                        ChainTransaction.status == ChainTransactionStatus.SIGNED,
                    )
                    .order_by(ChainTransaction.seq)
                )
            )
        if not open_txs:
            return 0
        final = await client.final_block(await client.head())
        done = 0
        for tx in open_txs:
            receipt = await client.receipt(tx.tx_hash)
            if receipt is None:
                if not await client.known(tx.tx_hash):
                    await self._send(client, tx)
                continue
            if int(receipt["blockNumber"]) > final:
                continue
            await self._finish(tx, succeeded=int(receipt["status"]) == 1)
            done += 1
        return done

    async def _finish(self, tx: ChainTransaction, *, succeeded: bool) -> None:
        async with self.db.write() as session:
            now = await self.db.clock.sync(session)
            finished = await session.scalar(
                update(ChainTransaction)
                .where(
                    ChainTransaction.seq == tx.seq,
                    ChainTransaction.status == ChainTransactionStatus.SIGNED,
                )
                .values(
                    status=ChainTransactionStatus.CONFIRMED
                    if succeeded
                    else ChainTransactionStatus.REVERTED,
                    finished_at=now,
                )
                .returning(ChainTransaction.seq)
            )
            if finished is None or tx.withdrawal_seq is None:
                return
            withdrawal_id = await session.scalar(
                select(Withdrawal.id).where(Withdrawal.seq == tx.withdrawal_seq)
            )
            if withdrawal_id is None:
                return
            if succeeded:
                await service.settle_withdrawal(session, withdrawal_id, now)
            else:
                await service.fail_withdrawal(
                    session,
                    withdrawal_id,
                    f"the USDT transfer reverted on-chain (transaction {tx.tx_hash})",
                    now,
                )
        log.info("chain_tx_final", kind=tx.kind, tx_hash=tx.tx_hash, succeeded=succeeded)

    async def _send(self, client: ChainClient, tx: ChainTransaction) -> None:
        try:
            await client.send_raw(tx.raw_tx)
        except ChainError as error:
            # "already known" / "nonce too low" when it went out before: following it
            # by its hash settles that; anything else is retried next round.
            log.warning("chain_tx_send_failed", tx_hash=tx.tx_hash, error=str(error))
            return
        log.info("chain_tx_sent", kind=tx.kind, tx_hash=tx.tx_hash, nonce=tx.nonce)

    # 2. Pay approved withdrawals ------------------------------------------------------

    async def _pay(self, client: ChainClient) -> int:
        chain = client.chain
        async with self.db.read() as session:
            approved = list(
                await session.scalars(
                    select(Withdrawal)
                    .where(
                        Withdrawal.status == WithdrawalStatus.APPROVED,
                        Withdrawal.network == chain.network,
                    )
                    .order_by(Withdrawal.seq)
                    .limit(BATCH)
                )
            )
        done = 0
        for withdrawal in approved:
            if await self._pay_one(client, withdrawal):
                done += 1
        return done

    async def _pay_one(self, client: ChainClient, withdrawal: Withdrawal) -> bool:
        hot = self.keys.hot_wallet()
        raw_amount = from_micro(withdrawal.amount - withdrawal.fee, await client.decimals())
        call: dict[str, Any] = {
            "from": hot.address,
            "to": client.usdt,
            "data": client.transfer_data(withdrawal.address, raw_amount),
        }
        try:
            gas = await client.estimate_gas(call)  # type: ignore[arg-type]
        except ContractLogicError as error:
            async with self.db.write() as session:
                now = await self.db.clock.sync(session)
                await service.fail_withdrawal(
                    session,
                    withdrawal.id,
                    f"the USDT transfer would revert: {error.message or 'reverted'}"[:200],
                    now,
                )
            log.warning("payout_would_revert", withdrawal=withdrawal.id)
            return True
        tx = await self._sign(client, hot, call | {"gas": gas * 12 // 10, "value": 0})
        async with self.db.write() as session:
            now = await self.db.clock.sync(session)
            record = await _record(
                session,
                client,
                ChainTransactionKind.PAYOUT,
                tx,
                to=withdrawal.address,
                value=raw_amount,
                now=now,
                withdrawal_seq=withdrawal.seq,
            )
            if record is None:
                return False  # another signer took this withdrawal or this nonce
            await service.mark_broadcast(session, withdrawal.id, tx.tx_hash, now)
        _crash_here("recorded", self.settings)
        await self._send(client, record)
        _crash_here("sent", self.settings)
        return True

    async def _sign(
        self, client: ChainClient, sender: LocalAccount, call: dict[str, Any]
    ) -> Signed:
        """Sign `call` from `sender` with its next nonce and the node's gas price."""
        async with self.db.read() as session:
            last = await session.scalar(
                select(func.max(ChainTransaction.nonce)).where(
                    ChainTransaction.network == client.chain.network,
                    ChainTransaction.from_address == sender.address,
                )
            )
        nonce = max(await client.nonce(sender.address), -1 if last is None else int(last) + 1)
        tx = call | {
            "nonce": nonce,
            "chainId": client.chain.chain_id,
            "gasPrice": await client.gas_price() * 2,
        }
        tx.pop("from", None)
        signed = sender.sign_transaction(tx)
        return Signed(
            sender=sender.address,
            nonce=nonce,
            tx_hash="0x" + signed.hash.hex(),
            raw_tx="0x" + signed.raw_transaction.hex(),
        )

    # 3. Sweep deposit addresses ---------------------------------------------------------

    async def _sweep(self, client: ChainClient) -> int:
        chain = client.chain
        decimals = await client.decimals()
        threshold = from_micro(self.settings.sweep_threshold, decimals)
        async with self.db.read() as session:
            indexes = list(
                await session.execute(
                    select(DepositAddress.address, DepositAddress.derivation_index)
                    .where(
                        DepositAddress.address.in_(
                            select(Deposit.address).where(
                                Deposit.network == chain.network,
                                Deposit.status == DepositStatus.CONFIRMED,
                            )
                        )
                    )
                    .order_by(DepositAddress.derivation_index)
                )
            )
            busy = set(
                await session.scalars(
                    select(ChainTransaction.from_address).where(
                        ChainTransaction.network == chain.network,
                        ChainTransaction.status == ChainTransactionStatus.SIGNED,
                        ChainTransaction.kind == ChainTransactionKind.SWEEP,
                    )
                )
            ) | set(
                await session.scalars(
                    select(ChainTransaction.to_address).where(
                        ChainTransaction.network == chain.network,
                        ChainTransaction.status == ChainTransactionStatus.SIGNED,
                        ChainTransaction.kind == ChainTransactionKind.GAS,
                    )
                )
            )
        owners = [(self.keys.deposit(int(row.derivation_index))) for row in indexes]
        owners.append(self.keys.funding())
        done = 0
        for owner in owners:
            if owner.address in busy:
                continue
            balance = await client.token_balance(owner.address)
            if balance < threshold or balance == 0:
                continue
            done += await self._sweep_one(client, owner, balance)
        return done

    async def _sweep_one(self, client: ChainClient, owner: LocalAccount, balance: int) -> int:
        hot = self.keys.hot_wallet()
        gas_price = await client.gas_price() * 2
        needed = SWEEP_GAS * gas_price
        if await client.native_balance(owner.address) < needed:
            gas = {"to": owner.address, "value": needed * 2, "gas": NATIVE_TRANSFER_GAS}
            top_up = await self._sign(client, hot, gas)
            await self._record_and_send(
                client, ChainTransactionKind.GAS, top_up, to=owner.address, value=needed * 2
            )
            return 1
        call = {
            "to": client.usdt,
            "data": client.transfer_data(hot.address, balance),
            "gas": SWEEP_GAS,
            "value": 0,
        }
        sweep = await self._sign(client, owner, call)
        await self._record_and_send(
            client, ChainTransactionKind.SWEEP, sweep, to=hot.address, value=balance
        )
        return 1

    async def _record_and_send(
        self, client: ChainClient, kind: ChainTransactionKind, tx: Signed, *, to: str, value: int
    ) -> None:
        async with self.db.write() as session:
            now = await self.db.clock.sync(session)
            record = await _record(session, client, kind, tx, to=to, value=value, now=now)
        if record is not None:
            await self._send(client, record)


async def _record(
    session: WriteSession,
    client: ChainClient,
    kind: ChainTransactionKind,
    tx: Signed,
    *,
    to: str,
    value: int,
    now: datetime,
    withdrawal_seq: int | None = None,
) -> ChainTransaction | None:
    """Record a signed transaction before it is sent; None when its nonce or withdrawal
    is already taken by another record (another signer got there first)."""
    record = ChainTransaction(
        network=client.chain.network,
        kind=kind,
        withdrawal_seq=withdrawal_seq,
        from_address=tx.sender,
        to_address=to,
        nonce=tx.nonce,
        tx_hash=tx.tx_hash,
        raw_tx=tx.raw_tx,
        value=str(value),
        status=ChainTransactionStatus.SIGNED,
        created_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(record)
    except IntegrityError:
        return None
    return record


@dataclass(frozen=True, slots=True)
class Signed:
    sender: str
    nonce: int
    tx_hash: str
    raw_tx: str


def _crash_here(step: str, settings: Settings) -> None:
    """Sandbox test hook: die like a killed process right after `step`."""
    if settings.sandbox and os.environ.get(CRASH_VARIABLE) == step:
        log.warning("signer_test_crash", step=step)
        os._exit(137)

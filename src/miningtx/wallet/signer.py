"""The signer: the one process that holds private keys and puts transactions on-chain.

`mtx signer run` loads the wallet mnemonic (`MTX_SIGNER_SEED_FILE`, or the variable
`MTX_SIGNER_MNEMONIC`; never logged), refuses to start unless its account key is the
deployment's `MTX_WALLET_XPUB`, and then, per network with a node configured, repeats:

1. follow the transactions it signed: resend any the node does not know (the same
   bytes: same hash, same nonce), and once a receipt is final settle the withdrawal
   (`processed`) or fail it with the funds returned (`failed`);
2. sweep deposit addresses (and the funding address) holding at least
   `MTX_SWEEP_THRESHOLD`: into the hot wallet up to its ceiling (counting the sweeps
   already on their way to it), the rest straight to the cold address; their gas is
   topped up from the hot wallet first (enough for both transfers). The round waits,
   at most `MTX_SIGNER_RECEIPT_WAIT` seconds, for the top-ups and the sweeps into the
   hot wallet to be mined, so that what they bring can pay withdrawals in step 3;
3. pay approved withdrawals from the hot wallet, in approval order, with what it holds
   minus what is in flight (USDT, and native coin for gas): see
   `custody.plan_payouts`. One it cannot cover stays `approved`, marked waiting, and is
   paid in a later round once a sweep or a refill from the cold address covers it. A
   payout is signed (USDT `transfer(address, amount - fee)`), recorded with the
   withdrawal marked `broadcast` in one committed transaction, and only then sent. A
   crash before the commit leaves nothing signed anywhere; after it, step 1 sends those
   same bytes. Only a transfer the chain itself refuses (gas estimation reverting
   although the hot wallet holds enough, e.g. a blocked destination; or a mined
   revert, step 1) fails the withdrawal with the funds returned;
4. record what the hot wallet holds (`hot_wallet_observations`), logging
   `hot_wallet_below_floor` when it is below `MTX_CHAIN_<N>_HOT_FLOOR`.

Every transaction is recorded with its sender and nonce under a unique key, so two
signers can never sign two different transactions for one nonce or one withdrawal.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
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
from miningtx.kit.money import format_amount
from miningtx.kit.networks import NETWORKS
from miningtx.kit.testhooks import pause_here
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
from miningtx.wallet.custody import (
    PayoutCandidate,
    SweepSplit,
    hot_room,
    plan_payouts,
    record_observation,
    split_sweep,
)
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
#: Gas a payout may cost at most, for the hot wallet's native-balance check (an ERC-20
#: transfer estimates at ~35-60k; the signer signs 1.2x its estimate).
PAYOUT_GAS = 100_000
#: Payouts signed per network per round.
BATCH = 20
#: Approved withdrawals a round plans over (the oldest first), waiting ones included.
PLAN_WINDOW = 500
#: Seconds between receipt polls while a round waits for its own transactions.
RECEIPT_POLL = 0.05
#: What a sweep of a deposit address signs or waits for.
SWEEP_KINDS = (
    ChainTransactionKind.GAS,
    ChainTransactionKind.SWEEP,
    ChainTransactionKind.COLD_SWEEP,
)
#: Test hook (sandbox only, `kit.testhooks`): freeze the signer right after a payout is
#: `recorded` (committed, not sent) or `sent`, so a crash test can SIGKILL it there.
PAUSE_VARIABLE = "MTX_SIGNER_TEST_PAUSE"


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
                    done += await self._sweep(client)
                    done += await self._pay(client)
                    await self._observe(client)
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

    # 2. Sweep deposit addresses ---------------------------------------------------------

    async def _sweep(self, client: ChainClient) -> int:
        chain = client.chain
        hot = self.keys.hot_wallet()
        full, open_txs = await self._full_addresses(client)
        if not full:
            return 0
        on_the_way = 0  # sweeps into the hot wallet not mined yet
        for tx in open_txs:
            if tx.kind == ChainTransactionKind.SWEEP and await client.receipt(tx.tx_hash) is None:
                on_the_way += int(tx.value)
        decimals = await client.decimals()
        room = hot_room(chain, decimals, await client.token_balance(hot.address) + on_the_way)
        topping_up = {tx.to_address for tx in open_txs if tx.kind == ChainTransactionKind.GAS}
        gas_price = await client.gas_price() * 2
        ready: list[tuple[LocalAccount, SweepSplit]] = []
        topped_up: dict[str, tuple[LocalAccount, SweepSplit]] = {}
        done = 0
        for owner, balance in full:
            split = split_sweep(balance, room)
            if room is not None:
                room -= split.to_hot
            if await self._sweep_gas_price(client, owner, split) is not None:
                ready.append((owner, split))
            elif owner.address not in topping_up:  # else its gas is on the way
                value = SWEEP_GAS * gas_price * split.transfers * 2
                gas = {"to": owner.address, "value": value, "gas": NATIVE_TRANSFER_GAS}
                top_up = await self._sign(client, hot, gas)
                if await self._record_and_send(
                    client, ChainTransactionKind.GAS, top_up, to=owner.address, value=value
                ):
                    topped_up[top_up.tx_hash] = (owner, split)
                done += 1
        for tx_hash in await self._await_receipts(client, list(topped_up)):
            ready.append(topped_up[tx_hash])
        into_hot = []
        for owner, split in ready:
            sent = await self._sweep_one(client, owner, split)
            into_hot += sent
            done += split.transfers
        await self._await_receipts(client, into_hot)
        return done

    async def _sweep_gas_price(
        self, client: ChainClient, owner: LocalAccount, split: SweepSplit
    ) -> int | None:
        """The gas price `owner` can pay its sweep transfers with (twice the node's price,
        or as much as its native balance allows, at least the node's); None: too little."""
        price = await client.gas_price()
        affordable = await client.native_balance(owner.address) // (SWEEP_GAS * split.transfers)
        return min(price * 2, affordable) if affordable >= price else None

    async def _full_addresses(
        self, client: ChainClient
    ) -> tuple[list[tuple[LocalAccount, int]], list[Any]]:
        """The addresses holding at least the sweep threshold and not being swept already,
        with their balances; and the open gas/sweep transactions of the network."""
        chain = client.chain
        threshold = from_micro(self.settings.sweep_threshold, await client.decimals())
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
            open_txs = list(
                await session.execute(
                    select(
                        ChainTransaction.kind,
                        ChainTransaction.from_address,
                        ChainTransaction.to_address,
                        ChainTransaction.tx_hash,
                        ChainTransaction.value,
                    ).where(
                        ChainTransaction.network == chain.network,
                        ChainTransaction.status == ChainTransactionStatus.SIGNED,
                        ChainTransaction.kind.in_(SWEEP_KINDS),
                    )
                )
            )
        sweeping = {tx.from_address for tx in open_txs if tx.kind != ChainTransactionKind.GAS}
        owners = [(self.keys.deposit(int(row.derivation_index))) for row in indexes]
        owners.append(self.keys.funding())
        full: list[tuple[LocalAccount, int]] = []
        for owner in owners:
            if owner.address in sweeping:
                continue
            balance = await client.token_balance(owner.address)
            if balance >= threshold and balance > 0:
                full.append((owner, balance))
        return full, open_txs

    async def _sweep_one(
        self, client: ChainClient, owner: LocalAccount, split: SweepSplit
    ) -> list[str]:
        """Send `owner`'s USDT: up to the ceiling to the hot wallet, the rest to the cold
        address; the hashes of the transfers into the hot wallet."""
        hot = self.keys.hot_wallet().address
        gas_price = await self._sweep_gas_price(client, owner, split)
        into_hot: list[str] = []
        if gas_price is None:  # the price rose since the top-up: next round tops up more
            return into_hot
        for kind, to, value in (
            (ChainTransactionKind.SWEEP, hot, split.to_hot),
            (ChainTransactionKind.COLD_SWEEP, client.chain.cold_address, split.to_cold),
        ):
            if not value or to is None:
                continue
            call = {
                "to": client.usdt,
                "data": client.transfer_data(to, value),
                "gas": SWEEP_GAS,
                "value": 0,
            }
            sweep = await self._sign(client, owner, call, gas_price=gas_price)
            sent = await self._record_and_send(client, kind, sweep, to=to, value=value)
            if sent and kind == ChainTransactionKind.SWEEP:
                into_hot.append(sweep.tx_hash)
        return into_hot

    async def _await_receipts(self, client: ChainClient, tx_hashes: list[str]) -> list[str]:
        """Wait (at most `MTX_SIGNER_RECEIPT_WAIT` seconds) for these transactions to be
        mined; the ones that were, successfully, in the order given."""
        if not tx_hashes:
            return []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.signer_receipt_wait
        succeeded: dict[str, bool] = {}
        while True:
            for tx_hash in tx_hashes:
                if tx_hash not in succeeded:
                    receipt = await client.receipt(tx_hash)
                    if receipt is not None:
                        succeeded[tx_hash] = int(receipt["status"]) == 1
            if len(succeeded) == len(tx_hashes) or loop.time() >= deadline:
                break
            await asyncio.sleep(RECEIPT_POLL)
        return [tx_hash for tx_hash in tx_hashes if succeeded.get(tx_hash)]

    # 3. Pay approved withdrawals ------------------------------------------------------

    async def _pay(self, client: ChainClient) -> int:
        chain = client.chain
        hot = self.keys.hot_wallet()
        async with self.db.read() as session:
            approved = list(
                await session.scalars(
                    select(Withdrawal)
                    .where(
                        Withdrawal.status == WithdrawalStatus.APPROVED,
                        Withdrawal.network == chain.network,
                    )
                    .order_by(Withdrawal.decided_at, Withdrawal.seq)
                    .limit(PLAN_WINDOW)
                )
            )
            in_flight = list(
                await session.execute(
                    select(
                        ChainTransaction.kind, ChainTransaction.value, ChainTransaction.nonce
                    ).where(
                        ChainTransaction.network == chain.network,
                        ChainTransaction.from_address == hot.address,
                        ChainTransaction.status == ChainTransactionStatus.SIGNED,
                    )
                )
            )
        if not approved:
            return 0
        decimals = await client.decimals()
        gas_cost = PAYOUT_GAS * await client.gas_price() * 2
        mined = await client.nonce(hot.address, "latest")
        funds = HotFunds(usdt=await client.token_balance(hot.address), mined_nonce=mined)
        usdt = funds.usdt
        native = await client.native_balance(hot.address)
        for tx in in_flight:  # signed from the hot wallet, not mined yet: already spent
            if int(tx.nonce) < mined:
                continue
            native -= gas_cost
            if tx.kind == ChainTransactionKind.PAYOUT:
                usdt -= int(tx.value)
            elif tx.kind == ChainTransactionKind.GAS:
                native -= int(tx.value)
        by_id = {w.id: w for w in approved}
        async with self.db.read() as session:
            now = await self.db.clock.sync(session)
        plan = plan_payouts(
            [
                PayoutCandidate(w.id, from_micro(w.amount - w.fee, decimals), w.waiting_since)
                for w in approved
            ],
            usdt=usdt,
            native=native,
            gas_cost=gas_cost,
            now=now,
            grace=timedelta(minutes=self.settings.withdrawal_wait_grace_minutes),
            limit=BATCH,
        )
        if plan.wait:
            async with self.db.write() as session:
                now = await self.db.clock.sync(session)
                for withdrawal_id, reason in plan.wait.items():
                    if await service.mark_waiting(session, withdrawal_id, reason, now):
                        log.info(
                            "withdrawal_waiting_for_funds",
                            network=chain.network,
                            withdrawal=withdrawal_id,
                            reason=reason,
                        )
        done = 0
        for withdrawal_id in plan.pay:
            if await self._pay_one(client, by_id[withdrawal_id], funds):
                done += 1
        return done

    async def _pay_one(self, client: ChainClient, withdrawal: Withdrawal, funds: HotFunds) -> bool:
        """Sign and send one payout the hot wallet can cover (checked by the plan, and
        again when it is recorded: another signer may have spent the funds meanwhile)."""
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
            # The hot wallet holds enough (the plan checked): the chain itself refuses
            # this transfer (a blocked destination, say), so it can never be paid.
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
            if not await _still_covered(session, client, hot.address, funds, raw_amount):
                return False  # another signer spent it first: this one waits a round
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
        about = {"withdrawal": withdrawal.id, "tx_hash": tx.tx_hash, "nonce": tx.nonce}
        pause_here(PAUSE_VARIABLE, "recorded", self.settings, **about)
        await self._send(client, record)
        pause_here(PAUSE_VARIABLE, "sent", self.settings, **about)
        return True

    # 4. Observe the hot wallet -------------------------------------------------------------

    async def _observe(self, client: ChainClient) -> None:
        chain = client.chain
        hot = self.keys.hot_wallet().address
        raw_usdt = await client.token_balance(hot)
        native = await client.native_balance(hot)
        async with self.db.write() as session:
            now = await self.db.clock.sync(session)
            seen = await record_observation(
                session,
                chain,
                raw_usdt=raw_usdt,
                decimals=await client.decimals(),
                native=native,
                now=now,
            )
        if seen.below_floor:
            log.warning(
                "hot_wallet_below_floor",
                network=chain.network,
                hot_wallet=hot,
                usdt=format_amount(seen.usdt),
                floor=format_amount(seen.floor or 0),
            )

    async def _sign(
        self,
        client: ChainClient,
        sender: LocalAccount,
        call: dict[str, Any],
        *,
        gas_price: int | None = None,
    ) -> Signed:
        """Sign `call` from `sender` with its next nonce and twice the node's gas price
        (or `gas_price`)."""
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
            "gasPrice": gas_price if gas_price is not None else await client.gas_price() * 2,
        }
        tx.pop("from", None)
        signed = sender.sign_transaction(tx)
        return Signed(
            sender=sender.address,
            nonce=nonce,
            tx_hash="0x" + signed.hash.hex(),
            raw_tx="0x" + signed.raw_transaction.hex(),
        )

    async def _record_and_send(
        self, client: ChainClient, kind: ChainTransactionKind, tx: Signed, *, to: str, value: int
    ) -> bool:
        """Record `tx`, then send it; False when another signer took its nonce first."""
        async with self.db.write() as session:
            now = await self.db.clock.sync(session)
            record = await _record(session, client, kind, tx, to=to, value=value, now=now)
        if record is None:
            return False
        await self._send(client, record)
        return True


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
class HotFunds:
    """The hot wallet's USDT and its mined nonce count, read together when a round plans."""

    usdt: int
    mined_nonce: int


async def _still_covered(
    session: WriteSession, client: ChainClient, hot: str, funds: HotFunds, raw_amount: int
) -> bool:
    """Whether `funds` still cover `raw_amount` after every payout signed from the hot
    wallet and not mined when they were read, including any another signer recorded
    since. Two signers cannot both pass for one nonce (it is unique), and the later
    nonce is only taken after the earlier record is committed, so it sees that one."""
    values = await session.scalars(
        select(ChainTransaction.value).where(
            ChainTransaction.network == client.chain.network,
            ChainTransaction.from_address == hot,
            ChainTransaction.kind == ChainTransactionKind.PAYOUT,
            ChainTransaction.status == ChainTransactionStatus.SIGNED,
            ChainTransaction.nonce >= funds.mined_nonce,
        )
    )
    return sum(int(value) for value in values) + raw_amount <= funds.usdt


@dataclass(frozen=True, slots=True)
class Signed:
    sender: str
    nonce: int
    tx_hash: str
    raw_tx: str

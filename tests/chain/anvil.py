"""Real local EVM nodes for the chain tests: `anvil` processes and a USDT-like token.

`running_anvil()` starts the npm-installed anvil on a free loopback port and always kills
its process group afterwards; `AnvilNode` wraps the anvil/evm JSON-RPC methods web3 has
no async wrapper for (mining, snapshots, reorgs, impersonation); `deploy_token()` deploys
tests/chain/contracts/TestUSDT.vy, compiled once per session with vyper.

Anvil's funded, unlocked dev accounts come from `ANVIL_MNEMONIC`, deliberately *not* the
suite's TEST_MNEMONIC: deposit addresses derive from TEST_XPUB at m/44'/60'/0'/0/n, which
with anvil's default mnemonic would be anvil's dev accounts, each holding 10,000 ETH.
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
import signal
import socket
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import vyper  # type: ignore[import-untyped]  # vyper ships no type information
from eth_account import Account
from eth_account.datastructures import SignedTransaction
from eth_typing import ChecksumAddress, HexStr
from hexbytes import HexBytes
from web3 import AsyncWeb3
from web3.contract import AsyncContract
from web3.types import LogReceipt, Nonce, RPCEndpoint, TxParams, TxReceipt

REPO_ROOT = Path(__file__).resolve().parents[2]
TOKEN_SOURCE = Path(__file__).with_name("contracts") / "TestUSDT.vy"

#: BIP-39's public all-"abandon" test vector: the harness's own dev accounts. Never for real
#: funds, and distinct from TEST_MNEMONIC so no deposit address is a funded dev account.
ANVIL_MNEMONIC = (
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
)
DEV_ACCOUNT_COUNT = 4
#: ETH (whole ether) anvil gives each dev account.
DEV_ACCOUNT_BALANCE_ETH = 10_000
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
#: Long enough for a few interval-mined blocks (`block_time`); instant mining needs none.
RECEIPT_TIMEOUT = 30.0
#: Explicit gas for a token transfer when the caller wants a revert mined (status 0)
#: rather than refused up front by gas estimation.
TRANSFER_GAS = 100_000
TRANSFER_TOPIC = HexStr(AsyncWeb3.keccak(text="Transfer(address,address,uint256)").to_0x_hex())
_DECIMAL = re.compile(r"(\d+)(?:\.(\d+))?")


class AnvilError(RuntimeError):
    """Anvil failed to start, or answered a JSON-RPC call with an error."""


@dataclass(frozen=True)
class DevAccount:
    """One of anvil's funded, unlocked accounts, with its key for local signing."""

    address: ChecksumAddress
    private_key: HexBytes


@functools.cache
def dev_accounts() -> tuple[DevAccount, ...]:
    """The accounts anvil derives from `ANVIL_MNEMONIC` (derived once per session)."""
    Account.enable_unaudited_hdwallet_features()
    accounts = (
        Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
        for index in range(DEV_ACCOUNT_COUNT)
    )
    return tuple(DevAccount(account.address, HexBytes(account.key)) for account in accounts)


def anvil_binary() -> Path:
    """The anvil that `make install` (npm install) puts under the repository's node_modules."""
    return REPO_ROOT / "node_modules" / ".bin" / "anvil"


def units(amount: str, decimals: int) -> int:
    """Exact raw token units of a decimal string ("1.123456789", 18 -> 1123456789000000000).

    Refuses (ValueError) anything it cannot represent exactly: signs, exponents, or more
    fractional digits than `decimals`.
    """
    match = _DECIMAL.fullmatch(amount)
    if match is None:
        raise ValueError(f"not a plain non-negative decimal: {amount!r}")
    whole, fraction = match.group(1), match.group(2) or ""
    if len(fraction) > decimals:
        raise ValueError(f"{amount!r} has more than {decimals} fractional digits")
    scale: int = 10**decimals
    return int(whole) * scale + int(fraction.ljust(decimals, "0") or "0")


@dataclass
class AnvilNode:
    """One running anvil: where it listens, its web3 client and test-only RPC helpers."""

    rpc_url: str
    chain_id: int
    process: asyncio.subprocess.Process
    w3: AsyncWeb3[Any]
    accounts: tuple[DevAccount, ...] = field(default_factory=dev_accounts)
    _impersonated: set[ChecksumAddress] = field(default_factory=set)

    async def rpc(self, method: str, *params: Any) -> Any:
        """Raw JSON-RPC call; an error answer raises AnvilError instead of passing through."""
        response = await self.w3.provider.make_request(RPCEndpoint(method), list(params))
        if "error" in response:
            raise AnvilError(f"{method}{list(params)!r}: {response['error']}")
        return response.get("result")

    async def head(self) -> int:
        """The latest block number."""
        return await self.w3.eth.block_number

    async def mine(self, blocks: int = 1) -> None:
        """Mine `blocks` blocks at once (anvil_mine), with or without pending transactions."""
        await self.rpc("anvil_mine", hex(blocks))

    async def set_automine(self, enabled: bool) -> None:
        """Instant mining on or off; off, transactions wait in the pool for `mine()`."""
        await self.rpc("evm_setAutomine", enabled)

    async def snapshot(self) -> str:
        """Snapshot of the whole chain (blocks, state, nonces): an id for `revert()`."""
        snapshot_id: str = await self.rpc("evm_snapshot")
        return snapshot_id

    async def revert(self, snapshot_id: str) -> None:
        """Roll the chain back to `snapshot_id`, dropping every block mined since.

        Anvil consumes the snapshot (and any taken after it): snapshot again to reuse.
        """
        if not await self.rpc("evm_revert", snapshot_id):
            raise AnvilError(f"evm_revert: unknown snapshot {snapshot_id}")

    async def reorg(self, depth: int, txs: Sequence[tuple[bytes, int]] = ()) -> None:
        """Replace the last `depth` blocks with `depth` new ones at the same heights.

        The replaced blocks' transactions are dropped; `txs` are (signed raw transaction,
        offset) pairs put into the new block `offset` (0 = the first replaced height). The
        head height is unchanged; every hash from head-depth+1 up changes.
        """
        pairs = [[HexBytes(raw).to_0x_hex(), offset] for raw, offset in txs]
        await self.rpc("anvil_reorg", depth, pairs)

    async def set_balance(self, address: str, wei: int) -> None:
        """Give `address` exactly `wei` of the native coin (gas money), without a transaction."""
        await self.rpc("anvil_setBalance", address, hex(wei))

    async def impersonate(self, address: str) -> None:
        """Let `eth_sendTransaction` send from `address` without its key (it still pays gas)."""
        await self.rpc("anvil_impersonateAccount", address)
        self._impersonated.add(AsyncWeb3.to_checksum_address(address))

    async def stop_impersonating(self, address: str) -> None:
        await self.rpc("anvil_stopImpersonatingAccount", address)
        self._impersonated.discard(AsyncWeb3.to_checksum_address(address))

    async def receipt(self, tx_hash: bytes) -> TxReceipt:
        """The transaction's receipt once mined (at once with instant mining)."""
        return await self.w3.eth.wait_for_transaction_receipt(
            HexBytes(tx_hash), timeout=RECEIPT_TIMEOUT, poll_latency=0.02
        )

    @asynccontextmanager
    async def isolated(self) -> AsyncIterator[None]:
        """Run a block and then put the chain back exactly as it was before.

        Reverts to a snapshot and also undoes what a snapshot does not cover: pending pool
        transactions, instant mining switched off and impersonated accounts.
        """
        snapshot_id = await self.snapshot()
        try:
            yield
        finally:
            await self.revert(snapshot_id)
            await self.rpc("anvil_dropAllTransactions")
            await self.set_automine(True)
            for address in list(self._impersonated):
                await self.stop_impersonating(address)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _wait_until_listening(process: asyncio.subprocess.Process, port: int) -> bool:
    """True once the port accepts connections; False if anvil exited first."""
    deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT
    while process.returncode is None:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if asyncio.get_running_loop().time() > deadline:
                raise AnvilError(f"anvil did not listen on port {port} in time") from None
            await asyncio.sleep(0.02)
            continue
        writer.close()
        await writer.wait_closed()
        return True
    return False


async def _stop(process: asyncio.subprocess.Process) -> None:
    """Terminate anvil's whole process group (the npm wrapper is node, anvil its child)."""
    if process.returncode is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
    # The wrapper may exit before its child: make sure nothing of the group is left.
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@asynccontextmanager
async def running_anvil(
    chain_id: int, *, block_time: float | None = None, attempts: int = 3
) -> AsyncIterator[AnvilNode]:
    """A fresh anvil with `chain_id` on a free loopback port, killed on exit.

    Mines instantly unless `block_time` (seconds) asks for interval mining. Without
    `--fork-url` anvil opens no outbound connection (checked with strace on 1.7.1), so
    there is no network flag to pass. A port taken between probing and binding is retried.
    """
    binary = anvil_binary()
    failure = ""
    if not binary.exists():
        raise AnvilError(f"{binary} is missing: run `npm install` in the repository root")
    for _ in range(attempts):
        port = _free_port()
        command = [
            str(binary),
            "--host", "127.0.0.1",
            "--port", str(port),
            "--chain-id", str(chain_id),
            "--mnemonic", ANVIL_MNEMONIC,
            "--accounts", str(DEV_ACCOUNT_COUNT),
            "--balance", str(DEV_ACCOUNT_BALANCE_ETH),
            "--silent",
        ]  # fmt: skip
        if block_time is not None:
            command += ["--block-time", str(block_time)]
        with tempfile.TemporaryFile() as stderr:
            process = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
            try:
                if not await _wait_until_listening(process, port):
                    stderr.seek(0)
                    failure = stderr.read().decode(errors="replace")
                    continue
                rpc_url = f"http://127.0.0.1:{port}"
                w3 = AsyncWeb3(AsyncWeb3.AsyncHTTPProvider(rpc_url))
                try:
                    reported = await w3.eth.chain_id
                    if reported != chain_id:
                        raise AnvilError(f"anvil reports chain id {reported}, not {chain_id}")
                    yield AnvilNode(rpc_url, chain_id, process, w3)
                finally:
                    await w3.provider.disconnect()
                return
            finally:
                await _stop(process)
    raise AnvilError(f"anvil did not start after {attempts} attempts: {failure}")


@dataclass(frozen=True)
class CompiledContract:
    abi: list[dict[str, Any]]
    bytecode: HexStr


@functools.cache
def compiled_token() -> CompiledContract:
    """TestUSDT.vy compiled by vyper, once per test session."""
    output = vyper.compile_code(TOKEN_SOURCE.read_text(), output_formats=["abi", "bytecode"])
    return CompiledContract(abi=output["abi"], bytecode=HexStr(output["bytecode"]))


@dataclass(frozen=True)
class Token:
    """A deployed TestUSDT. Amounts are raw integer units (use `units()` for "1.5")."""

    node: AnvilNode
    address: ChecksumAddress
    decimals: int
    contract: AsyncContract
    deployer: DevAccount

    async def mint(self, to: str, raw_amount: int) -> HexBytes:
        """Create `raw_amount` for `to` (a Transfer from the zero address); returns the tx hash."""
        tx_hash: HexBytes = await self.contract.functions.mint(to, raw_amount).transact(
            {"from": self.deployer.address}
        )
        await self.node.receipt(tx_hash)
        return tx_hash

    async def balance_of(self, address: str) -> int:
        balance: int = await self.contract.functions.balanceOf(address).call()
        return balance

    async def sign_transfer(
        self,
        private_key: bytes,
        to: str,
        raw_amount: int,
        *,
        nonce: int | None = None,
        gas: int | None = None,
    ) -> HexBytes:
        """A signed raw `transfer` from the key's address, not sent (e.g. for `reorg` txs).

        With `gas=None` the gas is estimated, so a transfer that would revert raises
        web3's ContractLogicError here; pass `gas` (e.g. TRANSFER_GAS) to sign it anyway.
        """
        sender = Account.from_key(private_key).address
        params: TxParams = {
            "from": sender,
            "chainId": self.node.chain_id,
            "nonce": (
                Nonce(nonce)
                if nonce is not None
                else await self.node.w3.eth.get_transaction_count(sender, "pending")
            ),
        }
        if gas is not None:
            params["gas"] = gas
        tx = await self.contract.functions.transfer(to, raw_amount).build_transaction(params)
        signed: SignedTransaction = Account.sign_transaction(tx, private_key)
        return signed.raw_transaction

    async def transfer_from_key(
        self, private_key: bytes, to: str, raw_amount: int, *, gas: int | None = None
    ) -> HexBytes:
        """Send a transfer signed by any key (e.g. a deposit address's); returns the tx hash.

        The sender pays gas: give it some with `node.set_balance` first. Reverts: see
        `sign_transfer`; with explicit `gas` the revert is mined with receipt status 0.
        """
        raw = await self.sign_transfer(private_key, to, raw_amount, gas=gas)
        return await self.node.w3.eth.send_raw_transaction(raw)

    async def transfer_impersonated(
        self, from_: str, to: str, raw_amount: int, *, gas: int | None = None
    ) -> HexBytes:
        """Send a transfer from `from_` without its key (anvil impersonation); the tx hash.

        `from_` pays gas, so it needs a native balance (`node.set_balance`).
        """
        sender = AsyncWeb3.to_checksum_address(from_)
        params: TxParams = {"from": sender}
        if gas is not None:
            params["gas"] = gas
        await self.node.impersonate(sender)
        try:
            tx_hash: HexBytes = await self.contract.functions.transfer(to, raw_amount).transact(
                params
            )
        finally:
            await self.node.stop_impersonating(sender)
        return tx_hash

    async def transfer_logs(self, from_block: int, to_block: int) -> list[LogReceipt]:
        """The token's Transfer logs in [from_block, to_block], as a watcher would read them."""
        return await self.node.w3.eth.get_logs(
            {
                "address": self.address,
                "fromBlock": from_block,
                "toBlock": to_block,
                "topics": [TRANSFER_TOPIC],
            }
        )


async def deploy_token(node: AnvilNode, decimals: int) -> Token:
    """Deploy a TestUSDT with `decimals` from the node's first dev account (the minter)."""
    compiled = compiled_token()
    deployer = node.accounts[0]
    factory = node.w3.eth.contract(abi=compiled.abi, bytecode=compiled.bytecode)
    tx_hash = await factory.constructor(decimals).transact({"from": deployer.address})
    receipt = await node.receipt(tx_hash)
    address = receipt["contractAddress"]
    if address is None:
        raise AnvilError("TestUSDT deployment produced no contract address")
    contract = node.w3.eth.contract(address=address, abi=compiled.abi)
    return Token(node, address, decimals, contract, deployer)


@dataclass(frozen=True)
class Chain:
    """A network under test: its anvil node and the USDT-like token deployed on it."""

    node: AnvilNode
    token: Token

"""One network's JSON-RPC node and USDT contract, through web3's async client.

The watcher, the signer and the reconciliation each open a `ChainClient` for the
rounds they run and close it afterwards. Token amounts stay in the token's own units
(`raw`, an int) until they meet the ledger, where `to_micro` truncates them to
micro-USDT: an amount finer than 0.000001 is recorded exactly, never rounded up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal, cast

import aiohttp
from eth_typing import ChecksumAddress, HexStr
from eth_utils.address import to_checksum_address
from web3 import AsyncWeb3
from web3.exceptions import Web3Exception
from web3.providers.rpc import AsyncHTTPProvider
from web3.types import FilterParams, TxParams

from miningtx.config import ChainSettings, Settings
from miningtx.kit.errors import OperationalFailure
from miningtx.kit.money import DECIMALS

#: keccak("Transfer(address,address,uint256)")
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
ERC20_ABI: list[dict[str, Any]] = [
    {
        "name": "decimals",
        "type": "function",
        "stateMutability": "view",
        "inputs": [],
        "outputs": [{"name": "", "type": "uint8"}],
    },
    {
        "name": "balanceOf",
        "type": "function",
        "stateMutability": "view",
        "inputs": [{"name": "owner", "type": "address"}],
        "outputs": [{"name": "", "type": "uint256"}],
    },
    {
        "name": "transfer",
        "type": "function",
        "stateMutability": "nonpayable",
        "inputs": [{"name": "to", "type": "address"}, {"name": "amount", "type": "uint256"}],
        "outputs": [{"name": "", "type": "bool"}],
    },
]
#: Seconds a JSON-RPC request may take before the round gives up and retries later.
RPC_TIMEOUT = 10.0


class ChainError(OperationalFailure):
    """The node could not be reached or answered something unusable; retry later."""


def _scale(digits: int) -> int:
    factor: int = 10**digits
    return factor


def to_micro(raw: int, decimals: int) -> int:
    """Token units to micro-USDT, truncated (1.123456789 on 18 decimals -> 1.123456)."""
    if decimals >= DECIMALS:
        return raw // _scale(decimals - DECIMALS)
    return raw * _scale(DECIMALS - decimals)


def from_micro(units: int, decimals: int) -> int:
    """Micro-USDT to token units (exact: the token has at least as many decimals)."""
    if decimals >= DECIMALS:
        return units * _scale(decimals - DECIMALS)
    whole, rest = divmod(units, _scale(DECIMALS - decimals))
    if rest:
        raise ValueError(f"{units} micro-USDT is finer than this token's {decimals} decimals")
    return whole


def format_units(raw: int, decimals: int) -> str:
    """An exact decimal string of a token amount, with at least 2 decimals ("12.50")."""
    sign = "-" if raw < 0 else ""
    whole, fraction = divmod(abs(raw), _scale(decimals))
    digits = f"{fraction:0{decimals}d}".rstrip("0") if decimals else ""
    return f"{sign}{whole}.{digits.ljust(2, '0')}"


def checksum(address: str) -> ChecksumAddress:
    return to_checksum_address(address)


@dataclass(frozen=True, slots=True)
class TransferLog:
    """One USDT Transfer event as the node reports it."""

    tx_hash: str
    log_index: int
    block_number: int
    block_hash: str
    sender: str
    recipient: str
    raw_amount: int


def _topic_address(topic: bytes) -> str:
    return to_checksum_address(topic[-20:])


class ChainClient:
    """A network's node and its USDT contract. Every failure to talk to it is ChainError."""

    def __init__(self, chain: ChainSettings) -> None:
        self.chain = chain
        self.w3 = AsyncWeb3(
            AsyncHTTPProvider(
                chain.rpc_url,
                request_kwargs={"timeout": RPC_TIMEOUT},
                exception_retry_configuration=None,
            )
        )
        self.usdt = checksum(chain.usdt_address)
        self.token = self.w3.eth.contract(address=self.usdt, abi=ERC20_ABI)
        self._decimals: int | None = None

    async def close(self) -> None:
        await self.w3.provider.disconnect()

    async def decimals(self) -> int:
        """The token's decimals, read from the contract once per client."""
        if self._decimals is None:
            value = await self._call(self.token.functions.decimals().call())
            self._decimals = int(value)
        return self._decimals

    async def verify(self) -> None:
        """The node is the configured network and the USDT contract answers; else ChainError."""
        chain_id = int(await self._call(self.w3.eth.chain_id))
        if chain_id != self.chain.chain_id:
            raise ChainError(
                f"{self.chain.network}: the node at {self.chain.rpc_url} is chain {chain_id}, "
                f"not {self.chain.chain_id}"
            )
        code = await self._call(self.w3.eth.get_code(self.usdt))
        if not code:
            raise ChainError(f"{self.chain.network}: no contract at {self.usdt}")
        await self.decimals()

    async def head(self) -> int:
        return int(await self._call(self.w3.eth.block_number))

    async def final_block(self, head: int) -> int:
        """The highest block that counts as final (confirmations, or the `finalized` tag)."""
        if self.chain.finality == "finalized":
            block = await self._call(self.w3.eth.get_block("finalized"))
            return int(block["number"])
        return head - self.chain.confirmations + 1

    async def transfer_logs(self, start: int, end: int) -> list[TransferLog]:
        """Every USDT Transfer in blocks start..end (inclusive), in chain order."""
        params: FilterParams = {
            "address": self.usdt,
            "fromBlock": start,
            "toBlock": end,
            "topics": [HexStr(TRANSFER_TOPIC)],
        }
        logs = await self._call(self.w3.eth.get_logs(params))
        found = []
        for log in logs:
            topics = log["topics"]
            if len(topics) != 3 or log.get("removed"):
                continue
            found.append(
                TransferLog(
                    tx_hash="0x" + bytes(log["transactionHash"]).hex(),
                    log_index=int(log["logIndex"]),
                    block_number=int(log["blockNumber"]),
                    block_hash="0x" + bytes(log["blockHash"]).hex(),
                    sender=_topic_address(bytes(topics[1])),
                    recipient=_topic_address(bytes(topics[2])),
                    raw_amount=int.from_bytes(bytes(log["data"]), "big"),
                )
            )
        return found

    async def token_balance(self, address: str) -> int:
        return int(await self._call(self.token.functions.balanceOf(checksum(address)).call()))

    async def native_balance(self, address: str) -> int:
        return int(await self._call(self.w3.eth.get_balance(checksum(address))))

    async def nonce(self, address: str, block: Literal["pending", "latest"] = "pending") -> int:
        """The next nonce of `address`, counting transactions the node holds as pending
        (or, with "latest", only those mined: every higher nonce is still in flight)."""
        return int(await self._call(self.w3.eth.get_transaction_count(checksum(address), block)))

    async def gas_price(self) -> int:
        return int(await self._call(self.w3.eth.gas_price))

    def transfer_data(self, to: str, raw_amount: int) -> str:
        """Calldata of USDT `transfer(to, raw_amount)`."""
        data: str = self.token.encode_abi("transfer", args=[checksum(to), raw_amount])
        return data

    async def estimate_gas(self, tx: TxParams) -> int:
        """Gas for `tx`; a transaction that would revert raises web3's ContractLogicError."""
        return int(await self._call(self.w3.eth.estimate_gas(tx), passthrough_revert=True))

    async def send_raw(self, raw_tx: str) -> None:
        await self._call(self.w3.eth.send_raw_transaction(HexStr(raw_tx)))

    async def receipt(self, tx_hash: str) -> dict[str, Any] | None:
        """The transaction's receipt, or None while it is not in a block."""
        try:
            receipt = await self.w3.eth.get_transaction_receipt(HexStr(tx_hash))
        except Web3Exception as error:
            if "not found" in str(error).lower():
                return None
            raise ChainError(f"{self.chain.network}: {error}") from error
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            raise ChainError(f"{self.chain.network}: {error}") from error
        return cast(dict[str, Any], dict(receipt))

    async def known(self, tx_hash: str) -> bool:
        """Whether the node knows the transaction (in its pool or in a block)."""
        try:
            await self.w3.eth.get_transaction(HexStr(tx_hash))
        except Web3Exception as error:
            if "not found" in str(error).lower():
                return False
            raise ChainError(f"{self.chain.network}: {error}") from error
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            raise ChainError(f"{self.chain.network}: {error}") from error
        return True

    async def _call(self, awaitable: Any, *, passthrough_revert: bool = False) -> Any:
        from web3.exceptions import ContractLogicError  # noqa: PLC0415  # keep the name local

        try:
            return await awaitable
        except ContractLogicError:
            if passthrough_revert:
                raise
            raise ChainError(f"{self.chain.network}: a contract call reverted") from None
        except (Web3Exception, aiohttp.ClientError, OSError, TimeoutError, ValueError) as error:
            raise ChainError(f"{self.chain.network}: {type(error).__name__}: {error}") from error


@asynccontextmanager
async def open_chain(chain: ChainSettings) -> AsyncIterator[ChainClient]:
    client = ChainClient(chain)
    try:
        yield client
    finally:
        await client.close()


async def verify_live_chains(settings: Settings) -> None:
    """Live start-up: every network's node answers as configured; else ChainError."""
    for chain in settings.chains():
        async with open_chain(chain) as client:
            await client.verify()

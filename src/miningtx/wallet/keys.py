"""Deposit addresses from the wallet's extended public key, and EVM address checks.

The API and the worker only ever see the account-level xpub (m/44'/60'/0'); customer
`n`'s deposit address is its external child m/44'/60'/0'/0/n. Private keys live with
the signer (live) or in the sandbox development wallet file, never in this process.
"""

from __future__ import annotations

import re
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

from bip32 import BIP32
from eth_keys.datatypes import PublicKey
from eth_utils.address import is_checksum_address, to_checksum_address

from miningtx.config import Settings

#: Non-hardened BIP-32 indexes: deposit address indexes must stay below this.
MAX_INDEX = 2**31 - 1
#: Depth of an account-level key m/44'/60'/0'.
ACCOUNT_DEPTH = 3
DEV_WALLET_XPUB = "sandbox-wallet.xpub"
DEV_WALLET_SEED = "sandbox-wallet.seed"
#: How long the development wallet generator may take before start-up gives up.
DEV_WALLET_TIMEOUT = 60.0
ZERO_ADDRESS = "0x" + "0" * 40
#: Indexes on the internal chain m/44'/60'/0'/1 of the platform's own addresses.
HOT_WALLET_INDEX = 0
FUNDING_INDEX = 1
ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"
_HEX_ADDRESS = re.compile(ADDRESS_PATTERN)


class WalletKeyError(ValueError):
    """The configured wallet key cannot be used; the deployment must not start."""


class AddressError(ValueError):
    """A destination that is not a usable EVM address; the message says why."""


def parse_account_xpub(xpub: str) -> BIP32:
    """Parse an account-level xpub, or raise WalletKeyError saying what is wrong with it."""
    text = xpub.strip()
    if not text.startswith(("xpub", "tpub")):
        raise WalletKeyError(
            "MTX_WALLET_XPUB must be an extended public key (xpub...); "
            "never configure a private key (xprv) on the API or the worker."
        )
    try:
        node = BIP32.from_xpub(text)
    except (ValueError, TypeError) as error:
        raise WalletKeyError(
            f"MTX_WALLET_XPUB is not a valid extended public key: {error}"
        ) from None
    if node.depth != ACCOUNT_DEPTH:
        raise WalletKeyError(
            f"MTX_WALLET_XPUB must be the account-level key m/44'/60'/0' (depth {ACCOUNT_DEPTH}); "
            f"this one has depth {node.depth}."
        )
    return node


@lru_cache(maxsize=8)
def _external_chain(xpub: str) -> BIP32:
    """The parsed m/0 (external chain) node under `xpub`, derived once per xpub."""
    account = parse_account_xpub(xpub)
    return BIP32.from_xpub(account.get_xpub_from_path("m/0"))


def derive_address(xpub: str, index: int) -> str:
    """EIP-55 address of m/44'/60'/0'/0/`index`, given the account-level xpub."""
    if not 0 <= index <= MAX_INDEX:
        raise ValueError(f"deposit address index {index} is outside 0..{MAX_INDEX}")
    pubkey: bytes = _external_chain(xpub).get_pubkey_from_path(f"m/{index}")
    address: str = PublicKey.from_compressed_bytes(pubkey).to_checksum_address()
    return address


@lru_cache(maxsize=8)
def _internal_chain(xpub: str) -> BIP32:
    """The parsed m/1 (internal chain) node under `xpub`: the platform's own addresses."""
    account = parse_account_xpub(xpub)
    return BIP32.from_xpub(account.get_xpub_from_path("m/1"))


def _internal_address(xpub: str, index: int) -> str:
    pubkey: bytes = _internal_chain(xpub).get_pubkey_from_path(f"m/{index}")
    address: str = PublicKey.from_compressed_bytes(pubkey).to_checksum_address()
    return address


def hot_wallet_address(xpub: str) -> str:
    """The hot wallet, m/44'/60'/0'/1/0: sends payouts, receives sweeps (every network)."""
    return _internal_address(xpub, HOT_WALLET_INDEX)


def funding_address(xpub: str) -> str:
    """The operator's funding address, m/44'/60'/0'/1/1: deposits to it fund the pools."""
    return _internal_address(xpub, FUNDING_INDEX)


def checksummed_address(text: str) -> str:
    """The EIP-55 form of a withdrawal destination, or AddressError.

    Accepts "0x" + 40 hex digits; a mixed-case address must carry a valid EIP-55
    checksum (all lower or all upper case carries none). The zero address is refused.
    """
    if not _HEX_ADDRESS.match(text):
        raise AddressError(
            "The address must be 0x followed by 40 hexadecimal characters, "
            "such as 0x52908400098527886E0F7030069857D2E4169EE7."
        )
    digits = text[2:]
    if digits != digits.lower() and digits != digits.upper() and not is_checksum_address(text):
        raise AddressError(
            "The address fails its EIP-55 checksum (the mix of upper and lower case): "
            "check it for a typo."
        )
    if text.lower() == ZERO_ADDRESS:
        raise AddressError(
            "The zero address cannot receive withdrawals: funds sent there are lost."
        )
    checksummed: str = to_checksum_address(text)
    return checksummed


def resolve_wallet_xpub(settings: Settings) -> str:
    """The xpub deposit addresses derive from, checked at start-up.

    `MTX_WALLET_XPUB` when set. Otherwise (sandbox only: live mode refuses to start
    without it) the development wallet under `sandbox_wallet_dir`, generated on first
    use by a short-lived child process so that this process never holds its seed.
    """
    if settings.wallet_xpub:
        xpub = settings.wallet_xpub.strip()
        _external_chain(xpub)
        return xpub
    if not settings.sandbox:
        raise WalletKeyError("live mode needs MTX_WALLET_XPUB, the wallet's extended public key")
    folder = settings.sandbox_wallet_dir
    path = folder / DEV_WALLET_XPUB
    if not path.exists():
        _generate_dev_wallet(folder)
    try:
        xpub = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise WalletKeyError(f"cannot read the sandbox wallet's xpub at {path}: {error}") from None
    try:
        _external_chain(xpub)
    except WalletKeyError as error:
        raise WalletKeyError(f"{path} does not hold a usable xpub: {error}") from None
    return xpub


def _generate_dev_wallet(folder: Path) -> None:
    command = [sys.executable, "-m", "miningtx.wallet.devwallet", str(folder)]
    try:
        # A fixed argv of our own interpreter and module: no shell, no user input.
        done = subprocess.run(  # noqa: S603
            command, capture_output=True, text=True, timeout=DEV_WALLET_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise WalletKeyError(
            f"could not generate the sandbox development wallet: {error}"
        ) from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise WalletKeyError(
            "could not generate the sandbox development wallet in "
            f"{folder}: {detail[-1] if detail else f'exit code {done.returncode}'}"
        )

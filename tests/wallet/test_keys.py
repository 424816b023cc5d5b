"""Deposit address derivation from the account xpub, and destination address checks."""

from __future__ import annotations

import pytest
from eth_account import Account

from miningtx.wallet.keys import (
    AddressError,
    WalletKeyError,
    checksummed_address,
    derive_address,
    parse_account_xpub,
    resolve_wallet_xpub,
)
from tests.conftest import TEST_MNEMONIC, TEST_XPUB, make_settings
from tests.wallet.factories import ADDRESS, BAD_CHECKSUM

#: The well-known first accounts of the public "test test ... junk" mnemonic.
KNOWN = {
    0: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    1: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    2: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
}
SQLITE = "sqlite+aiosqlite:///unused.db"


@pytest.mark.parametrize(("index", "address"), sorted(KNOWN.items()))
def test_derive_address_matches_the_bip44_test_vectors(index: int, address: str) -> None:
    assert derive_address(TEST_XPUB, index) == address


def test_derive_address_matches_eth_account_from_the_mnemonic() -> None:
    Account.enable_unaudited_hdwallet_features()
    for index in (0, 1, 2, 7, 1000):
        account = Account.from_mnemonic(TEST_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
        assert derive_address(TEST_XPUB, index) == account.address


def test_derive_address_refuses_hardened_and_negative_indexes() -> None:
    with pytest.raises(ValueError, match="outside"):
        derive_address(TEST_XPUB, -1)
    with pytest.raises(ValueError, match="outside"):
        derive_address(TEST_XPUB, 2**31)


def test_a_configured_xpub_is_checked_at_start_up() -> None:
    assert resolve_wallet_xpub(make_settings(SQLITE)) == TEST_XPUB
    broken = TEST_XPUB[:-1] + ("A" if TEST_XPUB[-1] != "A" else "B")
    with pytest.raises(WalletKeyError, match="not a valid extended public key"):
        resolve_wallet_xpub(make_settings(SQLITE, wallet_xpub=broken))
    with pytest.raises(WalletKeyError, match="never configure a private key"):
        resolve_wallet_xpub(make_settings(SQLITE, wallet_xpub="xprv9s21ZrQH143K3QTDL4LXw2F7"))
    with pytest.raises(WalletKeyError, match="never configure a private key"):
        resolve_wallet_xpub(make_settings(SQLITE, wallet_xpub="hello"))


def test_only_the_account_level_key_is_accepted() -> None:
    change_chain = parse_account_xpub(TEST_XPUB).get_xpub_from_path("m/0")
    with pytest.raises(WalletKeyError, match="depth 4"):
        resolve_wallet_xpub(make_settings(SQLITE, wallet_xpub=change_chain))


@pytest.mark.parametrize(
    "text",
    [ADDRESS, ADDRESS.lower(), "0x" + ADDRESS[2:].upper(), KNOWN[0].lower()],
)
def test_valid_addresses_come_back_checksummed(text: str) -> None:
    assert checksummed_address(text) in (ADDRESS, KNOWN[0])


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (BAD_CHECKSUM, "EIP-55 checksum"),
        ("0x" + "g" * 40, "40 hexadecimal"),
        (ADDRESS[:-1], "40 hexadecimal"),
        (ADDRESS + "0", "40 hexadecimal"),
        (ADDRESS[2:], "40 hexadecimal"),
        ("0X" + ADDRESS[2:], "40 hexadecimal"),
        (f" {ADDRESS}", "40 hexadecimal"),
        ("", "40 hexadecimal"),
        ("0x" + "0" * 40, "zero address"),
    ],
)
def test_invalid_addresses_are_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(AddressError, match=reason):
        checksummed_address(text)

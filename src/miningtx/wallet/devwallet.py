"""Generates the sandbox development wallet: `python -m miningtx.wallet.devwallet DIR`.

Run as a short-lived child of the API (see keys.resolve_wallet_xpub), so the API process
itself never holds the mnemonic. It writes, in DIR:

- `sandbox-wallet.seed` (mode 0600): a comment line marking it as a sandbox wallet, a
  comment naming the derivation, then the BIP-39 mnemonic on its own line. Whatever reads
  it later (the signer) skips lines starting with "#".
- `sandbox-wallet.xpub`: the account-level extended public key m/44'/60'/0'.

Several API processes may start at once: an exclusive lock on `sandbox-wallet.lock`
makes exactly one of them generate, and an existing seed is never overwritten (its
xpub is re-derived if only that file is missing).
"""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

from bip32 import BIP32
from eth_account import Account
from eth_account.hdaccount import seed_from_mnemonic

from miningtx.wallet.keys import DEV_WALLET_SEED, DEV_WALLET_XPUB

MARKER = "# SANDBOX DEVELOPMENT WALLET - generated for this sandbox, never for real funds"
ACCOUNT_PATH = "m/44'/60'/0'"
LOCK_FILE = "sandbox-wallet.lock"


def read_mnemonic(seed_file: Path) -> str:
    """The mnemonic in a seed file: its first line that is neither blank nor a comment."""
    for line in seed_file.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return line.strip()
    raise ValueError(f"{seed_file} holds no mnemonic")


def account_xpub(mnemonic: str) -> str:
    """The account-level xpub m/44'/60'/0' of a BIP-39 mnemonic (no passphrase)."""
    xpub: str = BIP32.from_seed(seed_from_mnemonic(mnemonic, "")).get_xpub_from_path(ACCOUNT_PATH)
    return xpub


def _write_new_seed(seed_file: Path) -> str:
    Account.enable_unaudited_hdwallet_features()
    _account, generated = Account.create_with_mnemonic()
    mnemonic: str = generated
    text = f"{MARKER}\n# BIP-39 mnemonic; deposit address n is {ACCOUNT_PATH}/0/n.\n{mnemonic}\n"
    descriptor = os.open(seed_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), 0o600)  # whatever the umask
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    return mnemonic


def ensure_dev_wallet(folder: Path) -> str:
    """Create the development wallet in `folder` unless it exists; return its xpub."""
    folder.mkdir(parents=True, exist_ok=True)
    seed_file = folder / DEV_WALLET_SEED
    xpub_file = folder / DEV_WALLET_XPUB
    with (folder / LOCK_FILE).open("a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        if xpub_file.exists():
            return xpub_file.read_text(encoding="utf-8").strip()
        mnemonic = read_mnemonic(seed_file) if seed_file.exists() else _write_new_seed(seed_file)
        xpub = account_xpub(mnemonic)
        partial = folder / f"{DEV_WALLET_XPUB}.{os.getpid()}.tmp"
        partial.write_text(xpub + "\n", encoding="utf-8")
        os.replace(partial, xpub_file)
        return xpub


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m miningtx.wallet.devwallet DIR", file=sys.stderr)
        return 2
    try:
        ensure_dev_wallet(Path(argv[0]))
    except (OSError, ValueError) as error:
        print(f"sandbox wallet: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Deposits (and later addresses, withdrawals, the chain watcher and the signer)."""

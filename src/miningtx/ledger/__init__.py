"""Double-entry core: accounts, transfers, balances and the invariant check. Imports no domain."""

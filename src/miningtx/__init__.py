"""MiningTX: a custodial USDT ledger with mining contracts, staking and a public REST API."""

__version__ = "0.1.0"

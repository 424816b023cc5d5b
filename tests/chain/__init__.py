"""Tests against real local EVM nodes (anvil) running a USDT-like token."""

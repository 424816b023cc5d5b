"""Staking: plans, stakes, maturity."""

"""Customers, API keys and authentication."""

"""The operator funding the platform's pools and budgets (audited)."""

"""`CustomerRef`: which customer a service acts for, however the caller proved it.

The API proves it with a key (`Principal.customer`), the dashboard with a session
(`CustomerPrincipal.customer`); services need only the customer, so they take this.
It imports nothing, so any domain may depend on it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CustomerRef:
    """A customer by both its keys: `seq` for rows and indexes, `id` for ledger account codes."""

    seq: int
    id: str

"""`OperatorRef`: which operator a service acts for, however the caller proved it.

The console proves it with a signed-in session, the CLI with `--operator EMAIL`; services
need only the operator, so they take this. It imports nothing, so any domain may use it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OperatorRef:
    """An operator by its keys: `seq` for rows, `id` and `email` for people reading the log."""

    seq: int
    id: str
    email: str

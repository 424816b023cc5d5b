"""Schemathesis hooks for tests/api/test_process_schemathesis.py (loaded by SCHEMATHESIS_HOOKS).

Schemathesis draws `Idempotency-Key` values from a small space, so two different logical
requests often share one; the second is then, correctly, a replay of the first (a POST
after its resource was deleted replays the old id, which Schemathesis reads as "created
resource not found"). Real clients send a fresh key per logical request, so a valid
generated key is made unique; an invalid one (a negative case) is sent as generated.
"""

from __future__ import annotations

import uuid
from typing import Any

import schemathesis

HEADER = "Idempotency-Key"
MAX_LENGTH = 255


@schemathesis.hook
def map_headers(context: Any, headers: dict[str, Any] | None) -> dict[str, Any] | None:
    if not headers or HEADER not in headers:
        return headers
    key = headers[HEADER]
    if isinstance(key, str) and 1 <= len(key) <= MAX_LENGTH and key.isprintable():
        return {**headers, HEADER: f"{key[:200]}-{uuid.uuid4().hex}"}
    return headers

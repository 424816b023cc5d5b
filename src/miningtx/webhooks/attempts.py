"""What one delivery attempt is about (`Claim`) and what it got back (`Outcome`).

Plain data shared by the queries that claim and record, the transport that sends and
the retry policy, so none of them imports another for its types.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

#: Text columns (`last_error`, `webhook_attempts.error`, `disabled_reason`) hold 200.
ERROR_LENGTH = 200


def clip(text: str) -> str:
    """`text` cut to fit an error column, marked with "..." when cut."""
    return text if len(text) <= ERROR_LENGTH else text[: ERROR_LENGTH - 3] + "..."


@dataclass(frozen=True, slots=True)
class Claim:
    """A delivery this worker claimed, with everything needed to send it."""

    seq: int
    #: The attempt number this claim is; also its guard when recording the result.
    attempts: int
    created_at: datetime
    endpoint_seq: int
    endpoint_id: str
    url: str
    secret: str
    event_id: str
    event_type: str
    #: The JSON body: rendered from the stored event, so identical on every attempt.
    body: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt got back."""

    attempted_at: datetime
    latency_ms: int
    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None
    #: The endpoint could not be reached at all (refused, resolved nowhere, timed out).
    unreachable: bool = False

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410

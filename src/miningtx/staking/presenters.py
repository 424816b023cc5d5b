"""How a stake is shown: one rendering for the API and the `stake.completed` event."""

from __future__ import annotations

from typing import Any

from miningtx.models import Stake
from miningtx.staking.schemas import StakeOut


def render_stake(s: Stake) -> StakeOut:
    """The API's view of a stake."""
    return StakeOut(
        id=s.id,
        amount=s.amount,
        days=s.days,
        roi_percent=s.roi_e4,
        payout=s.payout,
        status=s.status,
        start_time=s.start_time,
        end_time=s.end_time,
        completed_at=s.completed_at,
    )


def stake_event_data(s: Stake) -> dict[str, Any]:
    """The `data` of a stake's event: exactly what the API returns for it."""
    return render_stake(s).model_dump(mode="json")

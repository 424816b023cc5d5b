"""The fixed terms of every stake: the lock periods allowed and the unit of ROI.

Its own module so that the request models (`schemas`) and the rules (`service`) both
read them without importing each other.
"""

from __future__ import annotations

#: Shortest and longest lock periods a stake may have; the ROI curve's fixed end points.
MIN_DAYS = 30
MAX_DAYS = 365
#: 100 percent in the units of `roi_e4` (0.0001 percent).
HUNDRED_PERCENT_E4 = 1_000_000

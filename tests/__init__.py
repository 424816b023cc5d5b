"""MiningTX's tests.

pytest-xdist hands its workers `COLUMNS=80`; rich would freeze every CLI table at that
width when `miningtx.kit.commands` is imported, so the tests that widen the terminal
with `COLUMNS` would see truncated headers. The tests set their own width.
"""

import os

os.environ.pop("COLUMNS", None)

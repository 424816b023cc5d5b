"""The operator's solvency report (`service.py`) and `mtx solvency` (`commands.py`)."""

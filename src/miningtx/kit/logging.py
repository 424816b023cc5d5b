"""structlog set up once per process: JSON lines carrying the request id."""

from __future__ import annotations

import contextlib
import logging
import sys
from typing import Any

import structlog


class StderrLogger:
    """Prints each line to whatever `sys.stderr` is when it is written.

    structlog's own PrintLogger keeps the stream it was built with; a logger cached while a test
    runner had swapped stderr out would later write to a closed file. A log line that cannot be
    written is dropped: it must never abort the money transaction that was logging it.
    """

    def msg(self, message: str) -> None:
        with contextlib.suppress(ValueError, OSError):
            print(message, file=sys.stderr, flush=True)

    log = debug = info = warn = warning = msg
    fatal = failure = err = error = critical = exception = msg


def _stderr_logger(*_args: Any) -> StderrLogger:
    return StderrLogger()


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=True,
    )

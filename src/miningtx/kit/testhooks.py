"""Sandbox-only pause points for crash tests: freeze the process at a named step.

A crash test sets a hook's variable (`MTX_SIGNER_TEST_PAUSE`, `MTX_WATCHER_TEST_PAUSE`)
to a step name; when the process reaches that step it logs one `test_paused` line
(the hook, the step and what it is about) and stops itself with SIGSTOP. The test sees
the line, checks the database and the chain at that instant, and SIGKILLs the frozen
process: a real kill at a point it observed, never a lucky one. Outside sandbox mode
the hooks do nothing.
"""

from __future__ import annotations

import os
import signal

import structlog

from miningtx.config import Settings

log = structlog.get_logger(__name__)


def pause_here(variable: str, step: str, settings: Settings, **about: object) -> None:
    """Freeze this process (SIGSTOP) right after `step` when the variable asks for it."""
    if not settings.sandbox or os.environ.get(variable) != step:
        return
    log.warning("test_paused", hook=variable, step=step, pid=os.getpid(), **about)
    os.kill(os.getpid(), signal.SIGSTOP)

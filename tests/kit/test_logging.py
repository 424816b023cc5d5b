"""Log lines go to the stderr of the moment and a failed write never raises."""

from __future__ import annotations

import io
import json
import sys

import pytest
import structlog

from miningtx.kit.logging import configure_logging


@pytest.fixture(autouse=True)
def _restore_structlog() -> object:
    before = structlog.get_config()
    yield None
    structlog.configure(**before)


def test_a_logger_cached_under_a_swapped_stderr_writes_to_the_current_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    swapped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", swapped)  # a CLI runner capturing output
    configure_logging("INFO")
    log = structlog.get_logger("test")
    log.info("first_line")
    assert json.loads(swapped.getvalue())["event"] == "first_line"
    swapped.close()
    monkeypatch.undo()

    log.warning("second_line", endpoint=7)

    line = json.loads(capsys.readouterr().err)
    assert (line["event"], line["endpoint"], line["level"]) == ("second_line", 7, "warning")


def test_a_log_line_that_cannot_be_written_is_dropped_without_raising(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    closed = io.StringIO()
    closed.close()
    monkeypatch.setattr(sys, "stderr", closed)
    configure_logging("INFO")

    structlog.get_logger("test").error("nowhere_to_go")  # would raise ValueError before

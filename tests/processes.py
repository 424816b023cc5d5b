"""Long-running `mtx` processes that crash tests freeze at an observed point and SIGKILL.

`background()` starts an `mtx` command (its own process group, its JSON log lines in a
file) and always stops it afterwards. `Background.paused()` answers the `test_paused`
line a `kit.testhooks` pause point logged, once the process is really frozen there
(state `T` in /proc); `kill()` SIGKILLs it and checks the signal is what ended it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.servers import MTX, stop

#: Seconds a test waits for a process to reach a state it is driven to.
REACH_TIMEOUT = 90.0
POLL = 0.05


@dataclass
class Background:
    process: asyncio.subprocess.Process
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def lines(self, event: str | None = None) -> list[dict[str, Any]]:
        """The JSON log lines written so far (those of `event` only, if given)."""
        found = []
        for text in self.log().splitlines():
            with suppress(ValueError):
                line = json.loads(text)
                if isinstance(line, dict) and (event is None or line.get("event") == event):
                    found.append(line)
        return found

    def frozen(self) -> bool:
        """Whether the process is stopped (SIGSTOP), as /proc reports it."""
        try:
            stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        except OSError:
            return False
        return stat.rsplit(")", 1)[1].split()[0] == "T"

    def paused(self) -> dict[str, Any] | None:
        """The `test_paused` line once the process is frozen at it; None before."""
        markers = self.lines("test_paused")
        if not markers or not self.frozen():
            return None
        assert len(markers) == 1, markers
        return markers[0]

    async def wait_paused(self, within: float = REACH_TIMEOUT) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + within
        while (marker := self.paused()) is None:
            assert self.process.returncode is None, (
                f"exited {self.process.returncode}:\n{self.log()}"
            )
            assert asyncio.get_running_loop().time() < deadline, f"never paused:\n{self.log()}"
            await asyncio.sleep(POLL)
        return marker

    async def close(self) -> None:
        """Stop the process group, whatever state it is in."""
        if self.frozen():  # a frozen process would sit on the SIGTERM stop() sends first
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        await stop(self.process)

    async def kill(self) -> None:
        """SIGKILL the process group and check that this signal, nothing else, ended it."""
        assert self.process.returncode is None, self.log()
        os.killpg(self.process.pid, signal.SIGKILL)
        code = await asyncio.wait_for(self.process.wait(), REACH_TIMEOUT)
        assert code == -signal.SIGKILL, (code, self.log())


def _new_log(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{name}-{len(list(folder.glob(f'{name}-*.log')))}.log"


async def start(*args: str, env: Mapping[str, str], folder: Path, name: str = "mtx") -> Background:
    """Start `mtx *args` in `folder`, its stdout and stderr in `folder/<name>-<n>.log`."""
    log_path = _new_log(folder, name)
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            str(MTX),
            *args,
            cwd=folder,
            env=dict(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    return Background(process, log_path)


@asynccontextmanager
async def background(
    *args: str, env: Mapping[str, str], folder: Path, name: str = "mtx"
) -> AsyncIterator[Background]:
    """`start()` for the length of a block; the process group never outlives it."""
    running = await start(*args, env=env, folder=folder, name=name)
    try:
        yield running
    finally:
        await running.close()


async def eventually(check: Any, what: str, within: float = REACH_TIMEOUT) -> Any:
    """Await `check()` until it returns something truthy (returned); fail after `within` s."""
    deadline = asyncio.get_running_loop().time() + within
    while not (result := await check()):
        assert asyncio.get_running_loop().time() < deadline, f"never happened: {what}"
        await asyncio.sleep(POLL * 2)
    return result

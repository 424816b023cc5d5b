"""What every `mtx` command shares: --json, one-line failures, running async work.

`cli.py` and the domain command modules (`mining/commands.py`,
`webhooks/commands.py`) all use these, so every command behaves the same way.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from miningtx.config import get_settings
from miningtx.kit.db import Database
from miningtx.kit.errors import ApiError
from miningtx.kit.migrate import upgrade
from miningtx.kit.money import AmountError

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
T = TypeVar("T")


def fail(message: str, code: int = 1) -> NoReturn:
    """Exit with one `error: ...` line on stderr."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def run(work: Callable[[Database], Awaitable[T]]) -> T:
    """Run one async operator action against the configured database.

    On the embedded SQLite default the schema is brought up to date first; a refusal
    by the rules (`ApiError`) or a malformed amount becomes a one-line failure.
    """
    settings = get_settings()
    if settings.is_sqlite:
        upgrade(settings.database_url)

    async def main() -> T:
        db = Database(settings)
        try:
            return await work(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except ApiError as error:
        fail(error.message)
    except AmountError as error:
        fail(str(error))


def emit(as_json: bool, data: dict[str, Any], text: str) -> None:
    """Print `data` as JSON with --json, else the human sentence."""
    typer.echo(json.dumps(data, indent=2) if as_json else text)

"""What every `mtx` command shares: --json, one-line failures, running async work.

`cli.py` and every domain's `commands.py` use these, so every command behaves the same way.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console

from miningtx.config import get_settings
from miningtx.kit.db import Database
from miningtx.kit.errors import ApiError
from miningtx.kit.migrate import upgrade
from miningtx.kit.money import AmountError, parse_amount

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
T = TypeVar("T")
#: Where commands print their tables (stdout, so --json and tables never mix with errors).
out = Console()


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


def emit_json(data: dict[str, Any]) -> None:
    """Print `data` as indented JSON: the --json output of commands that print a table."""
    typer.echo(json.dumps(data, indent=2))


def amount_arg(text: str) -> int:
    """A USDT amount typed on the command line, or a one-line failure naming the problem."""
    try:
        return parse_amount(text)
    except AmountError as error:
        fail(str(error))

"""What every `mtx` command shares: --json, one-line failures, running async work, and
the guard every command runs in (`guard_commands`).

`cli.py` and every domain's `commands.py` use these, so every command behaves the same way.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from miningtx.config import get_settings, settings_problems
from miningtx.kit.db import Database
from miningtx.kit.errors import ApiError, OperationalFailure
from miningtx.kit.migrate import database_location, ensure_schema
from miningtx.kit.money import AmountError, parse_amount

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
#: Set to 1 (or pass `mtx --debug`) to see the Python traceback of a failure.
DEBUG_VARIABLE = "MTX_DEBUG"
DEBUG_HINT = f"run again with `mtx --debug` (or {DEBUG_VARIABLE}=1) for the traceback"
#: Where commands print their tables (stdout, so --json and tables never mix with errors).
out = Console()


def fail(message: str, code: int = 1) -> NoReturn:
    """Exit with one `error: ...` line on stderr."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def run(work: Callable[[Database], Awaitable[T]]) -> T:
    """Run one async operator action against the configured database.

    The schema must be at this release's head (`ensure_schema`: on the embedded SQLite
    default it is brought there); failures become one line through `one_line_failures`.
    """
    settings = get_settings()
    ensure_schema(settings.database_url)

    async def main() -> T:
        db = Database(settings)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(main())


def without_schema_check(command: F) -> F:
    """Mark a command that runs whatever the schema: `mtx migrate`, which brings it to the
    head, and commands that never open the database. Every other command is guarded."""
    command.__dict__["mtx_without_schema_check"] = True
    return command


def guard_commands(app: typer.Typer) -> None:
    """Run every command of `app` (sub-apps included) inside `one_line_failures`, and all
    but those marked `without_schema_check` only once the schema is at the head.

    The check comes after the arguments are parsed (so `--help` always answers) and
    before the command does anything else; it is cached per process.
    """
    for info in app.registered_commands:
        callback = info.callback
        if callback is not None and not getattr(callback, "mtx_guarded", False):
            info.callback = _guarded(callback)
    for group in app.registered_groups:
        if isinstance(group.typer_instance, typer.Typer):
            guard_commands(group.typer_instance)


def _guarded(callback: Callable[..., Any]) -> Callable[..., Any]:
    checks_schema = not getattr(callback, "mtx_without_schema_check", False)

    @functools.wraps(callback)
    def command(*args: Any, **kwargs: Any) -> Any:
        with one_line_failures():
            if checks_schema:
                ensure_schema(get_settings().database_url)
            return callback(*args, **kwargs)

    command.__dict__["mtx_guarded"] = True
    return command


_debug_flag = False


def set_debug(on: bool) -> None:
    """`mtx --debug` was given (or not): the root command sets this before any command runs."""
    global _debug_flag  # noqa: PLW0603  # one CLI invocation per process (and per test run)
    _debug_flag = on


def debugging() -> bool:
    """`mtx --debug` or MTX_DEBUG=1: show tracebacks instead of one-line failures."""
    variable = os.environ.get(DEBUG_VARIABLE, "").strip().lower()
    return _debug_flag or variable in ("1", "true", "yes", "on")


@contextmanager
def one_line_failures() -> Iterator[None]:
    """The one place a command's failure becomes its one `error:` line and exit code 1.

    Refusals by the rules (`ApiError`), a malformed amount, invalid settings, the schema
    not at the head, an unreachable database or node each say what to fix; anything
    else is named as unexpected. With the debug flag every failure but a rule's refusal
    shows its traceback instead.
    """
    try:
        yield
    except (typer.Exit, typer.Abort, typer.TyperException):
        raise  # Typer's own exits and usage errors already print what they mean
    except ApiError as error:
        fail(error.message)
    except AmountError as error:
        fail(str(error))
    except Exception as error:
        if debugging():
            raise
        fail(_failure_line(error))


def _failure_line(error: Exception) -> str:
    if isinstance(error, OperationalFailure):
        return _first_line(error)
    if isinstance(error, ValidationError):
        return "; ".join(settings_problems(error))
    if isinstance(error, SQLAlchemyError):
        cause = getattr(error, "orig", None) or error
        where = database_location(get_settings().database_url)
        return (
            f"the database at {where} failed ({type(cause).__name__}: {_first_line(cause)}): "
            f"check that it is running and reachable; {DEBUG_HINT}"
        )
    kind = "" if isinstance(error, OSError) else "unexpected "
    return f"{kind}{type(error).__name__}: {_first_line(error)}; {DEBUG_HINT}"


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


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

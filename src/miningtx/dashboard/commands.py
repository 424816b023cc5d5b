"""`mtx operators create`: console accounts, made from the command line only.

A generated password is printed once; `--password-stdin` reads one instead (for scripts).
"""

from __future__ import annotations

import secrets
import sys
from typing import Annotated

import typer

from miningtx.audit.commands import OperatorOpt, acting_operator
from miningtx.dashboard import service
from miningtx.kit.clock import rfc3339
from miningtx.kit.commands import JsonOpt, emit, fail, run
from miningtx.kit.db import Database
from miningtx.models import Operator

operators_app = typer.Typer(help="Operator console accounts.", no_args_is_help=True)

#: Generated passwords: 24 URL-safe characters, about 144 bits.
GENERATED_PASSWORD_BYTES = 18


@operators_app.command("create")
def operators_create(
    email: Annotated[str, typer.Option(help="The operator's email (their sign-in name).")],
    role: Annotated[str, typer.Option(help="admin or reviewer.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    created_by: OperatorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an operator. Without --password-stdin a password is generated and shown once.
    Audited under --operator, the operator creating it (without it, as the first one must
    be: as "system")."""
    if role not in service.OPERATOR_ROLES:
        fail("--role must be admin or reviewer")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            fail("no password on standard input")
        generated = False
    else:
        password = secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
        generated = True

    async def work(db: Database) -> Operator:
        async with db.write() as session:
            return await service.create_operator(
                session,
                email=email,
                role=role,
                password=password,
                now=await db.clock.sync(session),
                created_by=await acting_operator(session, created_by),
            )

    operator = run(work)
    data: dict[str, object] = {
        "id": operator.id,
        "email": operator.email,
        "role": operator.role,
        "created_at": rfc3339(operator.created_at),
    }
    text = f"Created operator {operator.id} ({operator.email}, {operator.role})."
    if generated:
        data["password"] = password
        text += f"\nPassword (shown once, store it now):\n{password}"
    emit(as_json, data, text)

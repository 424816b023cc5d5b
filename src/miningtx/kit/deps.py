"""FastAPI dependencies shared by every router: the database and read sessions.

They are all `async def`: FastAPI runs a plain `def` dependency in a thread pool,
which costs a thread hop per request for nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from miningtx.kit.db import Database, ReadSession


async def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def read_session(request: Request) -> AsyncIterator[ReadSession]:
    db: Database = request.app.state.db
    async with db.read() as session:
        yield session


DatabaseDep = Annotated[Database, Depends(get_db)]
ReadDep = Annotated[ReadSession, Depends(read_session, scope="function")]

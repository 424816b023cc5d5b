"""FastAPI dependencies shared by every router: the database and read sessions.

They are all `async def`: FastAPI runs a plain `def` dependency in a thread pool,
which costs a thread hop per request for nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncConnection

from miningtx.kit.db import Database, ReadSession


async def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def read_session(request: Request) -> AsyncIterator[ReadSession]:
    db: Database = request.app.state.db
    async with db.read() as session:
        yield session


async def read_connection(request: Request) -> AsyncIterator[AsyncConnection]:
    db: Database = request.app.state.db
    async with db.read_engine.connect() as connection:
        yield connection


DatabaseDep = Annotated[Database, Depends(get_db)]
ReadDep = Annotated[ReadSession, Depends(read_session, scope="function")]
#: A bare autocommit connection, for the hottest single-statement reads: no ORM session.
ReadConnectionDep = Annotated[AsyncConnection, Depends(read_connection, scope="function")]

"""Webhook delivery benchmark: `deliver_due` rounds against plain signed httpx POSTs.

    python -m benchmarks.webhooks                  # 5,000 events, 3 rounds, about a minute
    python -m benchmarks.webhooks --events 1000 --rounds 1

On a throw-away PostgreSQL database (created, migrated, dropped on the way out) it
queues N events for one endpoint that points at a receiver on loopback: a minimal
HTTP/1.1 keep-alive server in a process of its own, so it does not share this
process's event loop. Each round then measures, alternating the order:

- baseline: N POSTs of the same bodies, each signed at send time, with one httpx
  client and `transport.CONCURRENCY` requests in flight: the network and signing cost;
- deliver_due: worker rounds until nothing is due, i.e. claim (FOR UPDATE SKIP
  LOCKED), vet the target, sign, send and record every attempt in its own transaction.

Printed: deliveries per second of each and deliver_due / baseline. Between rounds
every delivery is set back to pending (attempts deleted), so each round does the same
work. Nothing is written to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import delete, func, select, update

from benchmarks import postgres
from benchmarks.servers import HOST, Server, clean_environment, free_port, start_server
from miningtx.config import Settings
from miningtx.customers import service as customers
from miningtx.kit.clock import utcnow
from miningtx.kit.db import Database
from miningtx.kit.jobs import WorkerContext
from miningtx.kit.logging import configure_logging
from miningtx.kit.migrate import upgrade
from miningtx.models import Event, WebhookAttempt, WebhookDelivery
from miningtx.webhooks import outbox, service
from miningtx.webhooks.signing import render_body, signed_headers
from miningtx.webhooks.tasks import deliver_due
from miningtx.webhooks.transport import CONCURRENCY

REPO = Path(__file__).resolve().parent.parent
#: Events written per transaction while queueing.
QUEUE_BATCH = 500


@dataclass(frozen=True)
class Plan:
    events: int
    rounds: int
    batch_size: int
    pg_admin_dsn: str


@dataclass
class Round:
    baseline_s: float
    deliver_s: float
    worker_rounds: int

    def rates(self, events: int) -> tuple[float, float]:
        return events / self.baseline_s, events / self.deliver_s


def parse_args(argv: list[str] | None = None) -> Plan | int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.webhooks", description=__doc__)
    parser.add_argument("--events", type=int, default=5000, help="events queued (default 5000)")
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each (default 3)")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=Settings.model_fields["webhook_batch_size"].default,
        help="MTX_WEBHOOK_BATCH_SIZE: deliveries claimed per worker round (default 50)",
    )
    parser.add_argument(
        "--pg-dsn",
        default=os.environ.get("MTX_BENCH_PG_DSN", postgres.DEFAULT_ADMIN_DSN),
        help="admin DSN of the PostgreSQL server (env MTX_BENCH_PG_DSN)",
    )
    parser.add_argument("--serve-receiver", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_receiver is not None:
        return run_receiver(args.serve_receiver)
    if args.events < 1 or args.rounds < 1 or args.batch_size < 1:
        parser.error("--events, --rounds and --batch-size must be at least 1")
    return Plan(args.events, args.rounds, args.batch_size, args.pg_dsn)


def say(message: str) -> None:
    print(message, flush=True)


# The receiver: just enough HTTP/1.1 to answer every POST with 200 over keep-alive.


class Received:
    posts = 0


async def _serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            length = 0
            for line in header_lines:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            if request_line.startswith("POST"):
                Received.posts += 1
                body = b"ok"
            else:  # GET /healthz (readiness) or GET /count
                body = str(Received.posts).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: "
                + str(len(body)).encode()
                + b"\r\n\r\n"
                + body
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


def run_receiver(port: int) -> int:
    async def serve() -> None:
        server = await asyncio.start_server(_serve_connection, HOST, port, backlog=1024)
        async with server:
            await server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    return 0


async def received_posts(client: httpx.AsyncClient, receiver: Server) -> int:
    response = await client.get(f"http://{HOST}:{receiver.port}/count")
    return int(response.text)


# The platform side.


async def queue_events(db: Database, events: int, url: str) -> str:
    """A customer with one endpoint for every event, and `events` events queued for it."""
    now = utcnow()
    async with db.write() as session:
        customer = await customers.create_customer(
            session, email="bench@example.com", username="webhookbench", now=now
        )
        endpoint = await service.create_endpoint(session, customer.seq, url, ["*"], now)
    for start in range(0, events, QUEUE_BATCH):
        async with db.write() as session:
            for number in range(start, min(start + QUEUE_BATCH, events)):
                await outbox.emit(
                    session,
                    customer_seq=customer.seq,
                    event_type="reward.credited",
                    data={"amount": "130.00", "contract": "Ultra Miner", "n": number},
                    now=utcnow(),
                    source_key=f"bench:{number}",
                )
    return endpoint.secret


async def requeue(db: Database) -> None:
    """Every delivery pending and due again, as if just queued; the attempt log emptied."""
    now = utcnow()
    async with db.write() as session:
        await session.execute(delete(WebhookAttempt))
        await session.execute(
            update(WebhookDelivery).values(
                status="pending", attempts=0, next_attempt_at=now, created_at=now, delivered_at=None
            )
        )


async def baseline(bodies: list[tuple[str, str]], secret: str, url: str) -> float:
    """Seconds to POST every body, signed at send time, CONCURRENCY at a time."""
    gate = asyncio.Semaphore(CONCURRENCY)
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(limits=limits, follow_redirects=False, trust_env=False) as client:

        async def post(event_id: str, body: str) -> None:
            async with gate:
                headers = signed_headers(secret, event_id, body, utcnow())
                response = await client.post(url, content=body.encode(), headers=headers)
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(post(event_id, body) for event_id, body in bodies))
        return time.perf_counter() - started


async def delivering(ctx: WorkerContext) -> tuple[float, int]:
    """Seconds (and worker rounds) for `deliver_due` to empty the queue."""
    started = time.perf_counter()
    rounds = 0
    while await deliver_due(ctx):
        rounds += 1
    return time.perf_counter() - started, rounds


async def delivered_count(db: Database) -> int:
    async with db.read() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(WebhookDelivery)
            .where(WebhookDelivery.status == "delivered")
        )
    return int(count or 0)


async def measure(plan: Plan, pg: postgres.PgServer, receiver: Server) -> list[Round]:
    name = await pg.create_database("mtx_bench_wh")
    try:
        database_url = pg.sqlalchemy_url(name)
        await asyncio.to_thread(upgrade, database_url)
        settings = Settings(
            _env_file=None,
            database_url=database_url,
            webhooks_allow_private_targets=True,
            webhook_batch_size=plan.batch_size,
            log_level="WARNING",
        )
        db = Database(settings)
        ctx = WorkerContext(db, settings)
        url = f"http://{HOST}:{receiver.port}/hooks"
        try:
            say(f"Queueing {plan.events:,} events ...")
            secret = await queue_events(db, plan.events, url)
            async with db.read() as session:
                events = (await session.scalars(select(Event).order_by(Event.seq))).all()
            bodies = [(event.id, render_body(event)) for event in events]
            return await _rounds(plan, Queue(db, ctx, receiver, bodies, secret, url))
        finally:
            await db.dispose()
    finally:
        await pg.drop_database(name)


@dataclass(frozen=True)
class Queue:
    """The queued events and where they go, ready to be measured."""

    db: Database
    ctx: WorkerContext
    receiver: Server
    #: (event id, body) of every event, as `deliver_due` renders them.
    bodies: list[tuple[str, str]]
    secret: str
    url: str


async def _rounds(plan: Plan, queue: Queue) -> list[Round]:
    results: list[Round] = []
    async with httpx.AsyncClient(trust_env=False) as probe:
        for number in range(plan.rounds):
            await requeue(queue.db)
            before = await received_posts(probe, queue.receiver)
            if number % 2 == 0:
                base_s = await baseline(queue.bodies, queue.secret, queue.url)
                deliver_s, worker_rounds = await delivering(queue.ctx)
            else:
                deliver_s, worker_rounds = await delivering(queue.ctx)
                base_s = await baseline(queue.bodies, queue.secret, queue.url)
            arrived = await received_posts(probe, queue.receiver) - before
            delivered = await delivered_count(queue.db)
            if arrived != 2 * plan.events or delivered != plan.events:
                raise SystemExit(
                    f"round {number + 1}: receiver got {arrived} POSTs (expected "
                    f"{2 * plan.events}), {delivered} deliveries delivered (expected "
                    f"{plan.events})"
                )
            result = Round(base_s, deliver_s, worker_rounds)
            base_rate, deliver_rate = result.rates(plan.events)
            say(
                f"  round {number + 1}: baseline {base_rate:8,.0f}/s   deliver_due "
                f"{deliver_rate:8,.0f}/s ({worker_rounds} worker rounds)   ratio "
                f"{deliver_rate / base_rate:.2f}"
            )
            results.append(result)
    return results


async def run(plan: Plan) -> int:
    configure_logging("WARNING")
    pg = postgres.PgServer(plan.pg_admin_dsn)
    server_version = (await pg.settings()).get("server_version", "?")
    with tempfile.TemporaryDirectory(prefix="mtx-bench-wh-") as work:
        port = free_port()
        receiver = await start_server(
            "webhook receiver",
            [sys.executable, "-m", "benchmarks.webhooks", "--serve-receiver", str(port)],
            port=port,
            env=clean_environment({}),
            cwd=REPO,
            log_path=Path(work) / "receiver.log",
        )
        try:
            say(
                f"Webhook delivery on PostgreSQL {server_version}, Python "
                f"{platform.python_version()}, {os.cpu_count()} CPUs: {plan.events:,} events, "
                f"{CONCURRENCY} requests in flight, {plan.batch_size} claimed per worker round"
            )
            results = await measure(plan, pg, receiver)
        finally:
            receiver.stop()
    base = statistics.median(r.rates(plan.events)[0] for r in results)
    deliver = statistics.median(r.rates(plan.events)[1] for r in results)
    say("")
    say(f"{'median over ' + str(len(results)) + ' rounds':<28}{'deliveries/s':>14}")
    say(f"{'plain signed httpx POSTs':<28}{base:>14,.0f}")
    say(f"{'deliver_due':<28}{deliver:>14,.0f}")
    say(f"{'ratio deliver_due/baseline':<28}{deliver / base:>14.2f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    plan = parse_args(argv)
    if isinstance(plan, int):
        return plan
    return asyncio.run(run(plan))


if __name__ == "__main__":
    sys.exit(main())

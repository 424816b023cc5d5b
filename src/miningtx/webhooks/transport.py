"""Sending one webhook attempt: an HTTP client that connects only to vetted addresses.

Every attempt re-checks the target's addresses (`urls.vet`) and the connection goes to
those addresses only, through a custom httpcore network backend, so DNS cannot change
between the check and the connection (rebinding). No redirects are followed, no proxy
is taken from the environment, and every phase has a short timeout.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import ssl
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import httpcore
import httpx
import structlog

from miningtx.config import Settings
from miningtx.kit.clock import utcnow
from miningtx.webhooks import signing, urls
from miningtx.webhooks.attempts import Claim, Outcome, clip
from miningtx.webhooks.retries import RETRY_AFTER_STATUSES, retry_after_seconds

log = structlog.get_logger(__name__)

#: Requests in flight at once per worker round (and connections the client keeps).
CONCURRENCY = 10
#: Response bytes read (and thrown away) so the connection can be reused; more is not read.
RESPONSE_READ_LIMIT = 64 * 1024

#: The vetted addresses per host for the delivery running in this task; None: no pinning.
_pinned: contextvars.ContextVar[Mapping[str, Sequence[str]] | None] = contextvars.ContextVar(
    "webhook_pinned_addresses", default=None
)


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects to the addresses the delivery vetted instead of resolving the host again,
    so DNS cannot change between the check and the connection (rebinding)."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109  # httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        pins = _pinned.get()
        if pins is None:
            return await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        addresses = pins.get(host)
        if not addresses:
            raise httpcore.ConnectError(f"no vetted address for {host}")
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109  # httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks are never sent to a unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with a connection pool that connects through `_PinnedBackend`."""

    def __init__(self, ssl_context: ssl.SSLContext, limits: httpx.Limits) -> None:
        super().__init__(verify=ssl_context, limits=limits, trust_env=False)
        # httpx has no option for the network backend; the pool it built is replaced by the
        # same pool with ours (httpx maps the pool's errors to its own exceptions as usual).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_PinnedBackend(),
        )


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One verifying TLS context per process: loading the CA bundle takes milliseconds."""
    return httpx.create_ssl_context()


def timeouts(settings: Settings) -> httpx.Timeout:
    """The client's per-phase timeouts, from the webhook settings."""
    return httpx.Timeout(
        connect=settings.webhook_connect_timeout,
        read=settings.webhook_read_timeout,
        write=settings.webhook_read_timeout,
        pool=settings.webhook_connect_timeout,
    )


def attempt_deadline(settings: Settings) -> float:
    """Seconds one attempt may take in all: resolving, connecting, sending, answering."""
    return 2 * settings.webhook_connect_timeout + 2 * settings.webhook_read_timeout + 1.0


def webhook_client(settings: Settings) -> httpx.AsyncClient:
    """The client deliveries are sent with: no redirects, no proxies from the environment,
    short timeouts, connections only to vetted addresses."""
    return httpx.AsyncClient(
        transport=PinnedTransport(
            _ssl_context(),
            httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY),
        ),
        follow_redirects=False,
        timeout=timeouts(settings),
        trust_env=False,
    )


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


async def send(client: httpx.AsyncClient, claim: Claim, settings: Settings) -> Outcome:
    """Make one attempt to deliver `claim`; never raises for anything the receiver does."""
    attempted_at = utcnow()
    started = time.perf_counter()
    try:
        async with asyncio.timeout(attempt_deadline(settings)):
            target = await urls.vet(
                claim.url, settings, resolve_timeout=settings.webhook_connect_timeout
            )
            headers = signing.signed_headers(claim.secret, claim.event_id, claim.body, attempted_at)
            token = _pinned.set({target.host: target.addresses} if target.addresses else None)
            try:
                async with client.stream(
                    "POST", claim.url, content=claim.body.encode(), headers=headers
                ) as response:
                    read = 0
                    async for chunk in response.aiter_raw():
                        read += len(chunk)
                        if read >= RESPONSE_READ_LIMIT:
                            break
            finally:
                _pinned.reset(token)
    except (urls.UnsafeUrl, httpx.HTTPError, TimeoutError) as error:
        text, unreachable = _describe(error, settings)
        return Outcome(
            attempted_at=attempted_at,
            latency_ms=_elapsed_ms(started),
            error=clip(text),
            unreachable=unreachable,
        )
    except Exception as error:  # a bug or something exotic: logged, then retried as a failure
        log.exception("webhook_attempt_error", endpoint=claim.endpoint_id, event_id=claim.event_id)
        return Outcome(
            attempted_at=attempted_at,
            latency_ms=_elapsed_ms(started),
            error=clip(f"internal error: {type(error).__name__}"),
        )
    return _answered(response, attempted_at, started)


def _answered(response: httpx.Response, attempted_at: datetime, started: float) -> Outcome:
    """The outcome of an attempt the receiver answered (any status)."""
    status = response.status_code
    error_text = None
    if 300 <= status < 400:
        error_text = f"redirect to {response.headers.get('location', '?')} not followed"
    retry_after = (
        retry_after_seconds(response.headers.get("retry-after"), attempted_at)
        if status in RETRY_AFTER_STATUSES
        else None
    )
    return Outcome(
        attempted_at=attempted_at,
        latency_ms=_elapsed_ms(started),
        status_code=status,
        error=clip(error_text) if error_text else None,
        retry_after=retry_after,
    )


def _describe(error: Exception, settings: Settings) -> tuple[str, bool]:
    """The attempt log's text for a failure without an answer, and whether it means the
    endpoint cannot be reached (its other deliveries then wait instead of piling up)."""
    if isinstance(error, urls.UnsafeUrl):
        text = f"refused: {error}"
    elif isinstance(error, httpx.ConnectTimeout):
        text = f"timeout: could not connect within {settings.webhook_connect_timeout:g} s"
    elif isinstance(error, httpx.ReadTimeout):
        text = f"timeout: no answer within {settings.webhook_read_timeout:g} s"
    elif isinstance(error, httpx.TimeoutException):
        text = f"timeout: {type(error).__name__}"
    elif isinstance(error, TimeoutError):
        text = f"timeout: no complete answer within {attempt_deadline(settings):g} s"
    elif isinstance(error, httpx.ConnectError):
        text = f"connection failed: {error}"
    elif isinstance(error, httpx.RemoteProtocolError):
        text = f"connection dropped: {error}"
    else:
        text = f"{type(error).__name__}: {error}"
    unreachable = isinstance(
        error, urls.UnsafeUrl | httpx.TimeoutException | TimeoutError | httpx.ConnectError
    )
    return text, unreachable

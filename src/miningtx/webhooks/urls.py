"""Which URLs webhooks may be sent to: the shape of an endpoint URL and where it points.

A webhook makes our worker send a request to an address the customer chose, so an
endpoint must not reach our own network: loopback, private, link-local (the cloud
metadata service at 169.254.169.254), CGNAT, multicast and reserved addresses are
refused, also when they hide inside IPv6 (IPv4-mapped, 6to4, NAT64) or are written as
the numbers resolvers also read as IPv4 (`2130706433`, `0x7f000001`, `0177.0.0.1`,
`127.1`, `0`: see `numeric_ipv4`). A name is
judged by every address it resolves to, at creation and again before every delivery
attempt, because DNS can change in between (rebinding); the delivery then connects to
the addresses it vetted. `MTX_WEBHOOKS_ALLOW_PRIVATE_TARGETS` turns all this off for
development and tests.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

import httpx

from miningtx.config import Settings
from miningtx.kit.errors import ApiError, invalid

MAX_URL_LENGTH = 2048
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Names that always mean "this machine" or "this cloud's internals", whatever DNS says.
BLOCKED_NAMES = frozenset(
    {"localhost", "metadata", "metadata.google.internal", "instance-data", "kubernetes"}
)
#: Suffixes reserved for local or private use (RFC 6761, RFC 6762, RFC 8375, ICANN .internal).
BLOCKED_SUFFIXES = (".localhost", ".local", ".localdomain", ".internal", ".home.arpa")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
#: One part of a numeric IPv4 host as inet_aton and the WHATWG URL standard read it:
#: decimal, octal (a leading 0) or hexadecimal (0x).
_IPV4_NUMBER = re.compile(r"0[xX][0-9a-fA-F]*|[0-9]+")


class UnsafeUrl(ValueError):
    """The URL may not receive webhooks; the message says why, for the customer or the log."""


class UnresolvableHost(UnsafeUrl):
    """The URL's host name resolves to nothing (now): no address to connect to."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where a delivery goes: the host as httpx sends it, the port and the vetted addresses.

    `addresses` is empty when private targets are allowed: then the host is resolved
    as usual when connecting.
    """

    host: str
    port: int
    addresses: tuple[str, ...]


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, NAT64), if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public_address(address: IPAddress) -> bool:
    """True only for a globally routable unicast address (and what an IPv6 form embeds)."""
    inner = embedded_ipv4(address)
    if inner is not None:
        return is_public_address(inner)
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return False
    # is_global alone lets multicast (224/4, ff00::/8) through; the rest is belt and braces.
    return address.is_global and not (
        address.is_multicast
        or address.is_private
        or address.is_reserved
        or address.is_loopback
        or address.is_link_local
        or address.is_unspecified
    )


def numeric_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a host made of numbers stands for, as resolvers read it, or None
    for a host name. `getaddrinfo` (inet_aton) and browsers take `2130706433`,
    `0x7f000001`, `0177.0.0.1`, `127.1` and `0` for addresses (here all loopback or
    "this host"); `ipaddress` only knows the dotted quad, so these are judged here.

    Raises `UnsafeUrl` for a host that ends in a number but is no valid address
    (`1.2.3.4.5`, `08.1.1.1`): no real name ends in a numeric label.
    """
    labels = host.split(".")
    if len(labels) > 1 and labels[-1] == "":
        labels.pop()  # the root's trailing dot: "127.0.0.1." is 127.0.0.1
    if not _IPV4_NUMBER.fullmatch(labels[-1]):
        return None
    invalid_host = UnsafeUrl(f"The URL's host ({host}) is not a valid IPv4 address.")
    if len(labels) > 4 or not all(_IPV4_NUMBER.fullmatch(label) for label in labels):
        raise invalid_host
    values: list[int] = []
    for label in labels:
        if label[:2].lower() == "0x":
            values.append(int(label[2:] or "0", 16))
        elif len(label) > 1 and label.startswith("0"):
            if not set(label) <= set("01234567"):
                raise invalid_host
            values.append(int(label, 8))
        else:
            values.append(int(label))
    *leading, last = values
    if any(value > 0xFF for value in leading) or last >= 256 ** (5 - len(values)):
        raise invalid_host
    number = last
    for position, value in enumerate(leading):
        number += value << (24 - 8 * position)
    return ipaddress.IPv4Address(number)


def blocked_name(host: str) -> bool:
    """True for names that are local by definition (`localhost`, `*.internal`, ...)."""
    name = host.rstrip(".").lower()
    return name in BLOCKED_NAMES or name.endswith(BLOCKED_SUFFIXES)


def parse_address(host: str) -> IPAddress | None:
    """`host` as an IP address when it is a literal one, else None."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


async def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to for a TCP connection (tests replace this)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _split(url: str, *, https_only: bool) -> tuple[SplitResult, httpx.URL]:
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    if not url.isprintable() or any(c.isspace() for c in url):
        raise UnsafeUrl("The URL must not contain spaces or control characters.")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeUrl("The URL must be absolute and start with https:// (or http://).")
    if https_only and scheme != "https":
        raise UnsafeUrl("Webhook endpoints must use https.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl(
            "The URL must not contain credentials; verify the webhook signature instead."
        )
    try:
        parts.port  # noqa: B018  # raises ValueError for a port outside 0-65535
        parsed = httpx.URL(url)
    except (ValueError, httpx.InvalidURL):
        raise UnsafeUrl("The URL is not valid.") from None
    if not parts.hostname or not parsed.host:
        raise UnsafeUrl("The URL must name a host.")
    return parts, parsed


async def vet(url: str, settings: Settings, *, resolve_timeout: float) -> Target:
    """Check that `url` may receive webhooks now and return the addresses to connect to.

    Raises `UnsafeUrl` for a malformed URL, plain http outside sandbox, a local name,
    or a host any of whose addresses is not public; a name that does not resolve is
    refused too (nothing to connect to).
    """
    _, parsed = _split(url, https_only=not settings.sandbox)
    host = parsed.raw_host.decode("ascii")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    if settings.webhooks_allow_private_targets:
        return Target(host, port, ())
    literal = parse_address(host) or numeric_ipv4(host)
    if literal is not None:
        if not is_public_address(literal):
            raise UnsafeUrl(f"The URL points at a non-public address ({literal}).")
        return Target(host, port, (str(literal),))
    if blocked_name(host):
        raise UnsafeUrl(f"The URL points at a local host name ({host}).")
    try:
        found = await asyncio.wait_for(resolve(host, port), resolve_timeout)
    except (OSError, TimeoutError, UnicodeError):
        raise UnresolvableHost(f"The host {host} could not be resolved.") from None
    if not found:
        raise UnresolvableHost(f"The host {host} could not be resolved.")
    for text in found:
        address = parse_address(text)
        if address is None or not is_public_address(address):
            raise UnsafeUrl(f"The host {host} resolves to a non-public address ({text}).")
    return Target(host, port, tuple(found))


async def check_endpoint_url(url: str, settings: Settings) -> None:
    """Refuse (400, param `url`) a URL a customer may not register as an endpoint.

    A name that does not resolve yet is accepted: DNS may be set up after the
    endpoint, and every delivery attempt checks the name again before connecting.
    """
    try:
        await vet(url, settings, resolve_timeout=settings.webhook_connect_timeout)
    except UnresolvableHost:
        return
    except UnsafeUrl as problem:
        raise url_refused(str(problem)) from None


def url_refused(message: str) -> ApiError:
    return invalid("url", message)

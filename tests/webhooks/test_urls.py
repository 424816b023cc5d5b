"""URL safety: webhooks never reach loopback, private, link-local or reserved addresses."""

from __future__ import annotations

import ipaddress

import pytest

from miningtx.kit.errors import ApiError
from miningtx.webhooks import urls
from tests.conftest import make_settings

STRICT = make_settings("sqlite+aiosqlite:///unused.db")
LIVE = make_settings("sqlite+aiosqlite:///unused.db", mode="live")
ALLOWED = make_settings("sqlite+aiosqlite:///unused.db", webhooks_allow_private_targets=True)

NON_PUBLIC_URLS = [
    "http://127.0.0.1/hooks",
    "http://127.1.2.3:8080/hooks",
    "http://10.0.0.1/hooks",
    "http://172.16.5.4/hooks",
    "http://192.168.1.1/hooks",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/hooks",  # carrier-grade NAT
    "http://0.0.0.0/hooks",
    "http://224.0.0.1/hooks",  # multicast
    "http://240.0.0.1/hooks",  # reserved
    "http://255.255.255.255/hooks",
    "http://[::1]/hooks",
    "http://[::]/hooks",
    "http://[fe80::1]/hooks",
    "http://[fc00::1]/hooks",
    "http://[fd12:3456::1]/hooks",
    "http://[ff02::1]/hooks",
    "http://[::ffff:127.0.0.1]/hooks",  # IPv4-mapped
    "http://[::ffff:169.254.169.254]/hooks",
    "http://[::ffff:a00:1]/hooks",  # 10.0.0.1, mapped and written in hex
    "http://[2002:7f00:1::]/hooks",  # 6to4 around 127.0.0.1
    "http://[64:ff9b::a00:1]/hooks",  # NAT64 around 10.0.0.1
    "http://localhost:8000/hooks",
    "http://LOCALHOST./hooks",
    "http://api.localhost/hooks",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://printer.local/hooks",
]


@pytest.mark.parametrize("url", NON_PUBLIC_URLS)
async def test_non_public_targets_are_refused_and_allowed_only_by_the_setting(url: str) -> None:
    with pytest.raises(urls.UnsafeUrl):
        await urls.vet(url, STRICT, resolve_timeout=1.0)
    with pytest.raises(ApiError) as refused:
        await urls.check_endpoint_url(url, STRICT)

    allowed = await urls.vet(url, ALLOWED, resolve_timeout=1.0)

    assert (refused.value.status, refused.value.code, refused.value.param) == (
        400,
        "invalid_request",
        "url",
    )
    assert refused.value.message.startswith("The URL points at")
    assert allowed.addresses == ()  # no pinning: connect as usual


async def test_a_name_is_judged_by_every_address_it_resolves_to(dns: dict[str, list[str]]) -> None:
    dns["hooks.example.test"] = ["10.0.0.1"]
    dns["mixed.example.test"] = ["93.184.215.14", "127.0.0.1"]
    dns["public.example.test"] = ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]

    with pytest.raises(urls.UnsafeUrl, match=r"resolves to a non-public address \(10\.0\.0\.1\)"):
        await urls.vet("https://hooks.example.test/in", STRICT, resolve_timeout=1.0)
    with pytest.raises(urls.UnsafeUrl, match=r"127\.0\.0\.1"):
        await urls.vet("https://mixed.example.test/in", STRICT, resolve_timeout=1.0)
    with pytest.raises(ApiError, match="non-public"):
        await urls.check_endpoint_url("https://hooks.example.test/in", STRICT)
    target = await urls.vet("https://public.example.test:8443/in", STRICT, resolve_timeout=1.0)

    assert target == urls.Target(
        "public.example.test",
        8443,
        ("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"),
    )
    assert (
        await urls.vet("https://hooks.example.test/", ALLOWED, resolve_timeout=1.0)
    ).addresses == ()


async def test_the_real_resolver_finds_localhost_and_it_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.undo()  # the real getaddrinfo; /etc/hosts answers for localhost, no network

    assert "127.0.0.1" in await urls.resolve("localhost", 80) or "::1" in await urls.resolve(
        "localhost", 80
    )
    with pytest.raises(urls.UnsafeUrl):
        await urls.vet("http://localhost/", STRICT, resolve_timeout=10.0)


async def test_a_name_that_does_not_resolve_is_accepted_at_creation_but_not_delivered_to() -> None:
    await urls.check_endpoint_url("https://not-yet.example.test/hooks", STRICT)

    with pytest.raises(urls.UnresolvableHost, match="could not be resolved"):
        await urls.vet("https://not-yet.example.test/hooks", STRICT, resolve_timeout=1.0)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/hooks", "must be absolute"),
        ("/hooks", "must be absolute"),
        ("example.com/hooks", "must be absolute"),
        ("https://user:secret@example.com/hooks", "credentials"),
        ("https://example.com/ho oks", "spaces"),
        ("https://example.com/\nhooks", "spaces"),
        ("https://example.com:99999/hooks", "not valid"),
        ("https:///hooks", "name a host"),
        ("https://example.com/" + "a" * 2048, "longer than 2048"),
    ],
)
async def test_malformed_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(ApiError, match=message) as refused:
        await urls.check_endpoint_url(url, ALLOWED)

    assert refused.value.param == "url"


async def test_live_deployments_accept_https_only(dns: dict[str, list[str]]) -> None:
    dns["example.com"] = ["93.184.215.14"]

    with pytest.raises(ApiError, match="must use https"):
        await urls.check_endpoint_url("http://example.com/hooks", LIVE)
    await urls.check_endpoint_url("https://example.com/hooks", LIVE)
    await urls.check_endpoint_url("http://example.com/hooks", STRICT)  # sandbox: http is fine


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("93.184.215.14", True),
        ("2001:4860:4860::8888", True),
        ("64:ff9b::808:808", True),  # NAT64 around 8.8.8.8
        ("::ffff:8.8.8.8", True),
        ("192.0.2.1", False),  # documentation
        ("198.18.0.1", False),  # benchmarking
        ("fec0::1", False),  # site-local
        ("2001:db8::1", False),
        ("::7f00:1", False),  # IPv4-compatible, deprecated
    ],
)
def test_is_public_address(address: str, public: bool) -> None:
    assert urls.is_public_address(ipaddress.ip_address(address)) is public

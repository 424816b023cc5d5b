"""URL safety: webhooks never reach loopback, private, link-local or reserved addresses."""

from __future__ import annotations

import ipaddress

import pytest

from miningtx.kit.errors import ApiError
from miningtx.webhooks import urls
from tests.conftest import make_settings
from tests.webhooks.factories import loopback_names_in_etc_hosts

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


#: Loopback written the other ways resolvers read it, and the address each stands for.
#: The fake resolver knows none of these hosts: only reading the number refuses them.
NUMERIC_LOOPBACK_URLS = [
    ("http://2130706433/hooks", "127.0.0.1"),  # one decimal number
    ("http://0x7f000001/hooks", "127.0.0.1"),  # one hexadecimal number
    ("http://0x7F.1/hooks", "127.0.0.1"),
    ("http://127.1/hooks", "127.0.0.1"),  # short form: the last part fills the rest
    ("http://127.0.0.1./hooks", "127.0.0.1"),  # the root's trailing dot
    ("http://0/hooks", "0.0.0.0"),  # noqa: S104  # "this host": Linux connects it to loopback
    ("http://[::ffff:127.0.0.1]/hooks", "::ffff:7f00:1"),  # IPv4-mapped IPv6
]


@pytest.mark.parametrize(("url", "address"), NUMERIC_LOOPBACK_URLS)
async def test_numeric_and_mapped_forms_of_loopback_are_refused(url: str, address: str) -> None:
    with pytest.raises(urls.UnsafeUrl) as unsafe:
        await urls.vet(url, STRICT, resolve_timeout=1.0)
    with pytest.raises(ApiError) as refused:
        await urls.check_endpoint_url(url, STRICT)

    assert str(unsafe.value) == f"The URL points at a non-public address ({address})."
    assert (refused.value.status, refused.value.code, refused.value.param) == (
        400,
        "invalid_request",
        "url",
    )
    assert refused.value.message == str(unsafe.value)
    assert (await urls.vet(url, ALLOWED, resolve_timeout=1.0)).addresses == ()


async def test_the_system_resolver_reads_those_numbers_as_loopback_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Why the forms above are refused without DNS: getaddrinfo (inet_aton) connects them."""
    monkeypatch.undo()  # the real getaddrinfo; numeric hosts never reach the network

    for host in ("2130706433", "0x7f000001", "0177.0.0.1", "127.1", "0x7F.1"):
        assert await urls.resolve(host, 80) == ["127.0.0.1"], host


async def test_octal_loopback_and_hosts_ending_in_a_bad_number_are_refused() -> None:
    # httpx refuses a dotted quad with a leading zero; nothing could be delivered to it.
    for url in ("http://0177.0.0.1/hooks", "https://0177.0.0.1:8443/"):
        with pytest.raises(ApiError, match="not valid") as refused:
            await urls.check_endpoint_url(url, STRICT)
        assert refused.value.param == "url"
        with pytest.raises(urls.UnsafeUrl):
            await urls.vet(url, ALLOWED, resolve_timeout=1.0)
    for url in ("http://1.2.3.4.5/hooks", "http://08.1/hooks", "http://256.1/", "http://a.0x1/"):
        with pytest.raises(ApiError, match=r"is not a valid IPv4 address\.") as refused:
            await urls.check_endpoint_url(url, STRICT)
        assert refused.value.param == "url"


async def test_a_public_address_written_as_one_number_is_pinned_to_that_address() -> None:
    target = await urls.vet("https://134744072/hooks", STRICT, resolve_timeout=1.0)

    assert target == urls.Target("134744072", 443, ("8.8.8.8",))
    assert urls.numeric_ipv4("hooks.example.com") is None
    assert urls.numeric_ipv4("0x7f.0.1") == ipaddress.IPv4Address("127.0.0.1")
    assert urls.numeric_ipv4("0177.1") == ipaddress.IPv4Address("127.0.0.1")


async def test_a_name_the_real_resolver_maps_to_loopback_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.undo()  # the real getaddrinfo, answered from /etc/hosts: no network
    names = loopback_names_in_etc_hosts()
    assert names, "this test needs a name other than localhost mapped to 127.x in /etc/hosts"
    name, address = names[0]

    resolved = await urls.resolve(name, 443)
    with pytest.raises(urls.UnsafeUrl) as unsafe:
        await urls.vet(f"https://{name}/hooks", STRICT, resolve_timeout=2.0)
    with pytest.raises(ApiError) as refused:
        await urls.check_endpoint_url(f"https://{name}/hooks", STRICT)

    assert address in resolved
    assert str(unsafe.value).startswith(f"The host {name} resolves to a non-public address (")
    assert refused.value.param == "url"


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

"""The address book: saving (EIP-55 checked), the cool-down on the sandbox clock, the
saved-addresses-only mode and its delayed switch-off, deleting; the ledger after refusals."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import Env
from tests.factories import CustomerWithKey, invariant_problems
from tests.staking.factories import parse_time
from tests.wallet.controls_helpers import (
    ADDRESS_SETTINGS,
    ADDRESSES,
    OTHER_ADDRESS,
    advance,
    ledger_of,
    refused,
)
from tests.wallet.factories import (
    ADDRESS,
    BAD_CHECKSUM,
    post_withdrawal,
    verified_customer,
    withdraw,
)

DAY = timedelta(hours=24)


async def save(
    env: Env, who: CustomerWithKey, address: str = ADDRESS, network: str = "bsc", **extra: object
) -> dict[str, object]:
    response = await env.client.post(
        ADDRESSES, json={"network": network, "address": address, **extra}, headers=who.auth
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def mode(env: Env, who: CustomerWithKey, on: bool | None = None) -> dict[str, object]:
    if on is None:
        response = await env.client.get(ADDRESS_SETTINGS, headers=who.auth)
    else:
        response = await env.client.post(
            ADDRESS_SETTINGS, json={"saved_addresses_only": on}, headers=who.auth
        )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def test_saving_lists_the_address_with_its_cool_down(env: Env) -> None:
    alice = await verified_customer(env.db, env.settings)

    saved = await save(env, alice, ADDRESS.lower(), label="  Cold storage ")
    listed = await env.client.get(ADDRESSES, headers=alice.auth)

    assert set(saved) == {"id", "network", "address", "label", "created_at", "usable_at", "usable"}
    assert str(saved["id"]).startswith("wa_")
    assert (saved["network"], saved["address"], saved["label"]) == ("bsc", ADDRESS, "Cold storage")
    assert parse_time(str(saved["usable_at"])) - parse_time(str(saved["created_at"])) == DAY
    assert saved["usable"] is False
    assert listed.json() == {"data": [saved], "has_more": False, "next_cursor": None}
    # The same address on the other network is another entry; on the same one, a conflict.
    await save(env, alice, ADDRESS, "polygon")
    refused(
        await env.client.post(
            ADDRESSES, json={"network": "bsc", "address": ADDRESS}, headers=alice.auth
        ),
        409,
        "conflict",
        "address",
    )


async def test_bad_addresses_networks_and_labels_are_400_with_param(env: Env) -> None:
    alice = await verified_customer(env.db, env.settings)
    for body, param in (
        ({"network": "bsc", "address": BAD_CHECKSUM}, "address"),
        ({"network": "bsc", "address": "0x" + "0" * 40}, "address"),
        ({"network": "bsc", "address": "0x1234"}, "address"),
        ({"network": "tron", "address": ADDRESS}, "network"),
        ({"network": "bsc", "address": ADDRESS, "label": "x" * 65}, "label"),
        ({"network": "bsc", "address": ADDRESS, "label": "tab\there"}, "label"),
        ({"network": "bsc", "address": ADDRESS, "extra": 1}, "extra"),
        ({"network": "bsc"}, "address"),
    ):
        response = await env.client.post(ADDRESSES, json=body, headers=alice.auth)
        refused(response, 400, "invalid_request", param)
    settings = await env.client.post(
        ADDRESS_SETTINGS, json={"saved_addresses_only": "yes"}, headers=alice.auth
    )
    refused(settings, 400, "invalid_request", "saved_addresses_only")
    assert (await env.client.get(ADDRESSES, headers=alice.auth)).json()["data"] == []


async def test_an_address_saved_now_is_refused_until_its_cool_down_has_passed(env: Env) -> None:
    alice = await verified_customer(env.db, env.settings, deposit="1000.00")
    assert await mode(env, alice) == {"saved_addresses_only": False, "turns_off_at": None}
    assert await mode(env, alice, True) == {"saved_addresses_only": True, "turns_off_at": None}
    await save(env, alice, ADDRESS)
    before = await ledger_of(env, alice)

    cooling = await post_withdrawal(env, alice, "100.00", "bsc", ADDRESS)
    unsaved = await post_withdrawal(env, alice, "100.00", "bsc", OTHER_ADDRESS)
    other_network = await post_withdrawal(env, alice, "100.00", "polygon", ADDRESS)

    for response in (cooling, unsaved, other_network):
        message = refused(response, 403, "address_not_allowed", "address")
        assert message.startswith("You withdraw only to saved addresses")
    assert await ledger_of(env, alice) == before

    await advance(env, alice, DAY - timedelta(minutes=1))
    refused(await post_withdrawal(env, alice, "100.00"), 403, "address_not_allowed", "address")
    await advance(env, alice, timedelta(minutes=2))
    listed = (await env.client.get(ADDRESSES, headers=alice.auth)).json()["data"]
    accepted = await post_withdrawal(env, alice, "100.00", "bsc", ADDRESS.lower())

    assert [a["usable"] for a in listed] == [True]
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["address"] == ADDRESS
    refused(
        await post_withdrawal(env, alice, "100.00", "bsc", OTHER_ADDRESS),
        403,
        "address_not_allowed",
        "address",
    )
    assert await invariant_problems(env.db) == []


async def test_switching_the_mode_off_takes_the_cool_down_too(env: Env) -> None:
    alice = await verified_customer(env.db, env.settings, deposit="1000.00")
    await mode(env, alice, True)

    off = await mode(env, alice, False)
    again = await mode(env, alice, False)

    assert off["saved_addresses_only"] is True
    turns_off_at = parse_time(str(off["turns_off_at"]))
    assert again == off  # asking again does not push the switch-off later
    refused(await post_withdrawal(env, alice, "100.00"), 403, "address_not_allowed", "address")
    await advance(env, alice, DAY - timedelta(minutes=1))
    assert (await mode(env, alice))["saved_addresses_only"] is True
    refused(await post_withdrawal(env, alice, "100.00"), 403, "address_not_allowed", "address")
    await advance(env, alice, timedelta(minutes=2))
    assert await mode(env, alice) == {"saved_addresses_only": False, "turns_off_at": None}
    body = await withdraw(env, alice, "100.00")
    assert parse_time(body["requested_at"]) >= turns_off_at

    # Switching on again applies at once and cancels a pending switch-off.
    await mode(env, alice, True)
    pending = await mode(env, alice, False)
    assert pending["turns_off_at"] is not None
    assert await mode(env, alice, True) == {"saved_addresses_only": True, "turns_off_at": None}
    await advance(env, alice, 2 * DAY)
    assert (await mode(env, alice))["saved_addresses_only"] is True
    refused(await post_withdrawal(env, alice, "100.00"), 403, "address_not_allowed", "address")


async def test_deleting_an_address_stops_withdrawals_to_it(env: Env) -> None:
    alice = await verified_customer(env.db, env.settings, deposit="1000.00")
    bob = await verified_customer(env.db, env.settings)
    saved = await save(env, alice, ADDRESS)
    await mode(env, alice, True)
    await advance(env, alice, DAY)
    await withdraw(env, alice, "100.00")

    not_theirs = await env.client.delete(f"{ADDRESSES}/{saved['id']}", headers=bob.auth)
    deleted = await env.client.delete(f"{ADDRESSES}/{saved['id']}", headers=alice.auth)
    twice = await env.client.delete(f"{ADDRESSES}/{saved['id']}", headers=alice.auth)

    refused(not_theirs, 404, "resource_missing", "address_id")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"id": saved["id"], "deleted": True}
    refused(twice, 404, "resource_missing", "address_id")
    assert (await env.client.get(ADDRESSES, headers=alice.auth)).json()["data"] == []
    refused(await post_withdrawal(env, alice, "100.00"), 403, "address_not_allowed", "address")
    # Saved again, it starts a new cool-down.
    again = await save(env, alice, ADDRESS)
    assert again["usable"] is False
    refused(await post_withdrawal(env, alice, "100.00"), 403, "address_not_allowed", "address")


async def test_without_the_mode_saved_addresses_change_nothing(env: Env) -> None:
    alice = await verified_customer(env.db, env.settings, deposit="1000.00")
    await save(env, alice, ADDRESS)

    body = await withdraw(env, alice, "100.00")

    assert body["address"] == ADDRESS
    assert (await post_withdrawal(env, alice, "100.00", "bsc", OTHER_ADDRESS)).status_code == 200


async def test_the_list_pages_newest_first_with_the_api_cursor(env: Env) -> None:
    alice = await verified_customer(env.db, env.settings)
    first = await save(env, alice, ADDRESS, "bsc")
    second = await save(env, alice, ADDRESS, "polygon")
    third = await save(env, alice, OTHER_ADDRESS, "bsc")

    page = (await env.client.get(ADDRESSES, params={"limit": 2}, headers=alice.auth)).json()
    rest = (
        await env.client.get(
            ADDRESSES, params={"limit": 2, "cursor": page["next_cursor"]}, headers=alice.auth
        )
    ).json()

    assert [a["id"] for a in page["data"]] == [third["id"], second["id"]]
    assert page["has_more"] is True
    assert rest == {"data": [first], "has_more": False, "next_cursor": None}

"""The console shows custody state: a banner on every console page while a hot wallet is
below its floor, and approved withdrawals that wait for hot-wallet funds."""

from __future__ import annotations

from sqlalchemy import select

from miningtx.kit.clock import utcnow
from miningtx.models import HotWalletObservation, Withdrawal
from miningtx.wallet import service as wallet
from miningtx.wallet.custody import WAITING_FOR_USDT
from tests.conftest import Env
from tests.dashboard.console_factories import pending_withdrawal, signed_in_operator
from tests.factories import approve_withdrawal, make_customer, simulate_none

CONSOLE_PAGES = ("/console", "/console/withdrawals", "/console/kyc", "/console/solvency")
BANNER = 'data-alert="hot-wallet-below-floor"'


async def observe(web: Env, *, usdt: int, below_floor: bool) -> None:
    async with web.db.write() as session:
        session.add(
            HotWalletObservation(
                network="polygon",
                usdt=usdt,
                native="0",
                floor=200_000000,
                ceiling=1000_000000,
                below_floor=below_floor,
                observed_at=utcnow(),
            )
        )


async def test_every_console_page_warns_while_a_hot_wallet_is_below_its_floor(
    web: Env,
) -> None:
    await signed_in_operator(web.db, web.client, role="reviewer")
    for page in CONSOLE_PAGES:
        assert BANNER not in (await web.client.get(page)).text
    await observe(web, usdt=151_000000, below_floor=True)
    for page in CONSOLE_PAGES:
        shown = await web.client.get(page)
        assert shown.status_code == 200
        assert BANNER in shown.text, page
        assert "polygon: the hot wallet holds 151.00 USDT, below its floor of 200.00" in shown.text
    metrics = (await web.client.get("/metrics")).text
    assert 'mtx_hot_wallet_below_floor{network="polygon"} 1.0' in metrics
    assert 'mtx_hot_wallet_usdt{network="polygon"} 151.0' in metrics


async def test_a_hot_wallet_at_its_floor_raises_no_banner(web: Env) -> None:
    await observe(web, usdt=200_000000, below_floor=False)
    await signed_in_operator(web.db, web.client, role="reviewer")
    assert BANNER not in (await web.client.get("/console")).text
    assert (
        'mtx_hot_wallet_below_floor{network="polygon"} 0.0'
        in (await web.client.get("/metrics")).text
    )


async def test_a_waiting_withdrawal_is_shown_as_approved_and_waiting(web: Env) -> None:
    customer = await make_customer(web.db, web.settings, deposit="100.00")
    withdrawal_id = await pending_withdrawal(
        web.db, web.settings, customer.seq, customer.id, "40.00"
    )
    async with web.db.write() as session:
        await approve_withdrawal(session, withdrawal_id, utcnow(), simulates=simulate_none)
        assert await wallet.mark_waiting(session, withdrawal_id, WAITING_FOR_USDT, utcnow())
        # The same reason again changes nothing (the signer marks it every round).
        assert not await wallet.mark_waiting(session, withdrawal_id, WAITING_FOR_USDT, utcnow())
    async with web.db.read() as session:
        stored = await session.scalar(select(Withdrawal).where(Withdrawal.id == withdrawal_id))
    assert stored is not None
    assert (stored.status, stored.waiting_reason) == ("approved", WAITING_FOR_USDT)
    since = stored.waiting_since

    await signed_in_operator(web.db, web.client, role="reviewer")
    queue = await web.client.get("/console/withdrawals?status=approved")
    assert f'data-waiting="{withdrawal_id}"' in queue.text
    review = await web.client.get(f"/console/withdrawals/{withdrawal_id}")
    assert 'data-field="waiting"' in review.text
    assert WAITING_FOR_USDT in review.text

    async with web.db.write() as session:
        await wallet.mark_broadcast(session, withdrawal_id, "0x" + "ab" * 32, utcnow())
    async with web.db.read() as session:
        sent = await session.scalar(select(Withdrawal).where(Withdrawal.id == withdrawal_id))
    assert sent is not None
    assert (sent.status, sent.waiting_since, sent.waiting_reason) == ("broadcast", None, None)
    assert since is not None

"""The customer dashboard and the operator console: server-rendered pages on the API's app.

Adding a page (one module per page group, included below):

    router = customer_pages()          # or console_pages(); public_pages() before sign-in

    @router.get("/contracts", name="contracts")      # the name the nav in rendering.py uses
    async def contracts(request: Request, principal: CustomerDep, session: ReadDep) -> Response:
        return await render(request, "contracts.html", {...})

    @router.post("/contracts/activate")              # CSRF is checked before this runs
    async def activate(request: Request, principal: CustomerDep, contract_id: FormStr) -> Response:
        try:
            async with page_work(request) as work:   # commits before the response is built
                await mining.activate(work.session, ...)
        except ApiError as error:
            return await render_refused(request, "contracts.html", error, fields=(...))
        raise Redirect("/contracts", flash="Contract activated.")

Templates extend "customer.html" or "console.html" and import "_forms.html" for labelled
fields whose errors sit beside them. `/static` serves app.css and the vendored htmx.
"""

from fastapi import APIRouter

from miningtx.dashboard import accounts, console, customer, operator, overview, security
from miningtx.dashboard.static_files import StaticAssets

router = APIRouter(include_in_schema=False)
router.mount("/static", StaticAssets(), name="dashboard-static")
for page_module in (accounts, overview, security, console):
    router.include_router(page_module.router)
router.include_router(accounts.sign_out_router)
for page_router in (*customer.ROUTERS, *operator.ROUTERS):
    router.include_router(page_router)

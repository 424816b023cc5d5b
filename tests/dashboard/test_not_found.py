"""A browser on an unknown dashboard address gets a page; API clients keep the JSON 404."""

from __future__ import annotations

from tests.conftest import Env

HTML = {"Accept": "text/html,application/xhtml+xml"}


async def test_unknown_pages_are_html_for_browsers_and_json_for_the_api(web: Env) -> None:
    page = await web.client.get("/settings/nowhere", headers=HTML)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "There is no such page." in page.text

    api = await web.client.get("/v1/nowhere", headers=HTML)  # every /v1 path needs a key
    assert api.status_code == 401
    assert api.headers["content-type"] == "application/json"

    plain = await web.client.get("/nowhere")
    assert plain.status_code == 404
    assert plain.json()["error"]["code"] == "not_found"

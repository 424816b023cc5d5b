"""The published Python and JavaScript snippets run unchanged against a real server.

They are copied verbatim from the API documentation; only the base URL and the key
(a literal in Python, the MTX_KEY environment variable in JavaScript) are swapped in.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.databases import SqliteTemplate
from tests.factories import make_customer, open_for_business
from tests.servers import run_command, seeding, serve

pytestmark = pytest.mark.slow

DOCS_BASE_URL = "https://api.miningtx.com/v1"
DOCS_KEY = "mtx_live_3f9a...e21c"

PYTHON_SNIPPET = """import requests
API_KEY = "mtx_live_3f9a...e21c"
r = requests.get(
"https://api.miningtx.com/v1/balance",
headers={"Authorization": f"Bearer {API_KEY}"},
)
print(r.json())
"""

JAVASCRIPT_SNIPPET = """const res = await fetch("https://api.miningtx.com/v1/balance", {
headers: { Authorization: `Bearer ${process.env.MTX_KEY}` },
});
const data = await res.json();
console.log(data);
"""

EXPECTED_BALANCE = {
    "currency": "USDT",
    "available": "1034.56",
    "in_contracts": "200.00",
    "total_rewards": "0.00",
    "in_stakes": "0.00",
    "pending_withdrawals": "0.00",
}


def swapped(snippet: str, old: str, new: str) -> str:
    assert snippet.count(old) == 1, f"{old!r} should appear once in the snippet"
    return snippet.replace(old, new)


def inspected_object_to_json(printed: str) -> Any:
    """Node's console.log of a flat object of strings (`{ key: 'value' }`) as data."""
    quoted_keys = re.sub(r"([{,]\s*)([A-Za-z_$][\w$]*)\s*:", r'\1"\2":', printed)
    return json.loads(quoted_keys.replace("'", '"'))


async def test_documented_python_and_javascript_snippets_print_the_balance(
    sqlite_template: SqliteTemplate, tmp_path: Path
) -> None:
    node = shutil.which("node")
    assert node is not None, "node (20+) is required to run the documented fetch snippet"
    with sqlite_template.database(tmp_path) as url:
        async with seeding(url) as seed:
            await open_for_business(seed.db)
            erin = await make_customer(seed.db, seed.settings, deposit="1234.56")
        async with serve(url, tmp_path / "server") as server:
            async with httpx.AsyncClient(base_url=server.base_url, timeout=10.0) as client:
                bought = await client.post(
                    "/v1/contracts/activate", json={"contract_id": "starter"}, headers=erin.auth
                )
                assert bought.status_code == 200, bought.text
                assert (await client.get("/v1/balance", headers=erin.auth)).json() == (
                    EXPECTED_BALANCE
                )
            base_url = f"{server.base_url}/v1"

            python_file = tmp_path / "balance.py"
            python_file.write_text(
                swapped(swapped(PYTHON_SNIPPET, DOCS_BASE_URL, base_url), DOCS_KEY, erin.key)
            )
            code, out, err = await run_command(sys.executable, str(python_file), cwd=tmp_path)
            assert code == 0, err
            assert ast.literal_eval(out.strip()) == EXPECTED_BALANCE

            javascript_file = tmp_path / "balance.mjs"
            javascript_file.write_text(swapped(JAVASCRIPT_SNIPPET, DOCS_BASE_URL, base_url))
            environment = {**os.environ, "MTX_KEY": erin.key, "NO_COLOR": "1"}
            code, out, err = await run_command(
                node, str(javascript_file), env=environment, cwd=tmp_path
            )
            assert code == 0, err
            assert inspected_object_to_json(out.strip()) == EXPECTED_BALANCE

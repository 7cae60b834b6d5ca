import asyncio

import httpx
import pytest


def test_a_page(page):
    page.goto("data:text/html,<p id='x'>one</p>")
    assert page.locator("#x").inner_text() == "one"


def test_b_asyncio_run():
    async def main():
        await asyncio.sleep(0.01)
        return 42
    assert asyncio.run(main()) == 42


@pytest.mark.anyio
async def test_c_anyio():
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200))) as c:
        assert (await c.get("http://x/")).status_code == 200


@pytest.fixture
def anyio_backend():
    return "asyncio"


def test_d_page_again(page):
    page.goto("data:text/html,<p id='x'>two</p>")
    assert page.locator("#x").inner_text() == "two"

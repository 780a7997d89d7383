"""The console in a real browser: Playwright driving Debian's Chromium against the server on 127.0.0.1.

Skipped, with the reason shown, where ``/usr/bin/chromium`` is absent
(``.ci/run`` installs the ``chromium`` package). Never downloads a browser.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from consoledb import SEED_TITLE, Filled, fill

from monitor.db import make_engine
from monitor.query import load_rules
from monitor.web import Console, Metrics, OpsServer

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium: apt-get install -y chromium"),
    pytest.mark.slow,
]


async def _healthy() -> tuple[bool, str]:
    return True, "ok"


class Served:
    """The real server (uvicorn) on a free loopback port, in a thread with its own event loop."""

    def __init__(self, filled: Filled) -> None:
        self.engine = make_engine(filled.db_url)
        rules, _ = load_rules(filled.workdir / "rules")
        self.server = OpsServer("127.0.0.1:0", Metrics(self.engine), _healthy, Console(self.engine, lambda: rules))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)
        return f"http://127.0.0.1:{self.server.port}"

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(15)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.engine.dispose()


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Filled]]:
    work = tmp_path_factory.mktemp("browser")
    filled = fill(work, f"sqlite:///{work / 'monitor.db'}")
    with Served(filled) as url:
        yield url, filled


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context(timezone_id="Asia/Tokyo", locale="en-GB")
    pg = context.new_page()
    pg.dialogs = []  # type: ignore[attr-defined]
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))  # type: ignore[attr-defined]
    pg.errors = []  # type: ignore[attr-defined]
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))  # type: ignore[attr-defined]
    yield pg
    context.close()


def assert_nothing_ran(page) -> None:
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.dialogs == []
    assert page.evaluate("document.querySelectorAll('iframe, img, object, embed').length") == 0
    assert page.evaluate("Array.from(document.scripts).map(s => s.src.replace(location.origin, ''))") == ["/static/console.js"]


def test_each_page_loads_and_runs_only_its_own_script(page, base):
    url, filled = base
    for path in ["/", "/feeds", "/rules", "/search?q=Pentagon", f"/stories/{filled.seed_id}", f"/stories/{filled.hostile_id}"]:
        response = page.goto(url + path)
        assert response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert_nothing_ran(page)
        assert page.errors == [], (path, page.errors)
    # the console's script showed times in the viewer's zone (Tokyo here), the UTC text kept as a tooltip
    page.goto(url + "/")
    assert page.text_content(".zone") == "Asia/Tokyo"
    first = page.locator("time").first
    assert "UTC" in first.get_attribute("title") and "UTC" not in first.text_content()


def test_a_search_from_the_box_finds_the_seed_story_and_its_link_opens_the_story(page, base):
    url, filled = base
    page.goto(url + "/feeds")
    page.fill("input[name=q]", "Pentagon AND Syria*")
    page.click("form.search button")
    page.wait_for_url("**/search?q=*")
    assert page.locator("ol.results > li").count() == 2
    assert page.locator("ol.results mark", has_text="Pentagon").count() >= 1
    page.click(f"a.title[href='/stories/{filled.seed_id}']")
    page.wait_for_url(f"**/stories/{filled.seed_id}")
    assert page.text_content("h1") == SEED_TITLE
    assert "Geoplotics" in page.text_content("body")


def test_a_broken_query_is_explained_on_the_page(page, base):
    url, _ = base
    page.goto(url + "/search?q=Pentagon+NEAR5+Syria")
    assert page.locator(".problem").count() == 1
    assert "at column" in page.text_content(".problem")


def test_the_alerts_page_links_the_seed_story_and_filters_by_rule(page, base):
    url, filled = base
    page.goto(url + "/")
    page.click(f"a.title[href='/stories/{filled.seed_id}']")
    assert page.text_content("h1") == SEED_TITLE
    page.goto(url + "/")
    page.select_option("select[name=rule]", "russia-us-syria")
    page.click("form.filters button")
    page.wait_for_url("**/?rule=russia-us-syria*")  # the filtered page, not the one being left
    page.wait_for_load_state()
    rules = page.locator("ol.alerts .rule").all_text_contents()
    assert rules and set(rules) == {rules[0]} and "Russia" in rules[0]


def test_a_hostile_title_shows_as_text_and_runs_nothing(page, base):
    url, filled = base
    page.goto(url + f"/stories/{filled.hostile_id}")
    title = page.text_content("h1")
    assert title.startswith("<script>window.__pwned=1</script><img src=x onerror=")
    page.hover("p.summary")
    assert_nothing_ran(page)
    assert page.locator("a[href^='javascript:']").count() == 0
    page.goto(url + "/")
    assert page.locator("ol.alerts h2", has_text="<script>window.__pwned=1</script>").count() == 2  # polled and stored
    assert_nothing_ran(page)
    assert all(a.get_attribute("rel") == "noopener noreferrer" for a in page.locator("a.out").all())

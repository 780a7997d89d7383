"""Screenshots of the web console's pages, on a laptop and a phone, with Debian's Chromium.

    .venv/bin/python bench/screenshot_console.py [--out bench/out/console] [--readme]

Fills a fresh SQLite database the way the console's tests do (the seed story
polled from a local feed server with its wire copy, hostile stories, noise, a
failing feed), serves the console on 127.0.0.1 with uvicorn and takes a PNG
of each page at 1280 px (laptop) and 390 px (phone) wide: ``<page>-laptop.png``
and ``<page>-phone.png``. Needs /usr/bin/chromium; Playwright drives it and
never downloads a browser. ``--readme`` also writes the README's two pictures:
``docs/console-alerts.png`` (laptop) and ``docs/console-story-phone.png``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from consoledb import fill  # noqa: E402
from test_web_browser import ARGS, CHROMIUM, Served  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=str(ROOT / "bench" / "out" / "console"))
    p.add_argument("--readme", action="store_true", help="also write the README's two screenshots under docs/")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not CHROMIUM.exists():
        sys.exit("screenshot_console: /usr/bin/chromium is missing (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        filled = fill(Path(tmp), f"sqlite:///{tmp}/monitor.db")
        with Served(filled) as base, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
            pages = {
                "alerts": "/",
                "story": f"/stories/{filled.seed_id}",
                "hostile": f"/stories/{filled.hostile_id}",
                "feeds": "/feeds",
                "rules": "/rules",
                "search": "/search?q=Pentagon+AND+Syria*",
                "search-error": "/search?q=Pentagon+NEAR5+Syria",
            }
            for device, viewport, scale in (("laptop", {"width": 1280, "height": 900}, 1),
                                            ("phone", {"width": 390, "height": 844}, 2)):
                context = browser.new_context(viewport=viewport, device_scale_factor=scale,
                                              timezone_id="Europe/Berlin", locale="en-GB")
                page = context.new_page()
                for name, path in pages.items():
                    page.goto(base + path)
                    target = out / f"{name}-{device}.png"
                    page.screenshot(path=str(target), full_page=device == "laptop")
                    print(target)
                context.close()
            if args.readme:
                docs = ROOT / "docs"
                docs.mkdir(exist_ok=True)
                for path, target, viewport in (
                    ("/", docs / "console-alerts.png", {"width": 1100, "height": 1120}),
                    (pages["story"], docs / "console-story-phone.png", {"width": 390, "height": 800}),
                ):
                    context = browser.new_context(viewport=viewport, timezone_id="Europe/Berlin", locale="en-GB")
                    page = context.new_page()
                    page.goto(base + path)
                    page.screenshot(path=str(target))
                    print(target)
                    context.close()
            browser.close()


if __name__ == "__main__":
    main()

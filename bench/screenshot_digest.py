"""Render a realistic daily digest and screenshot it with headless Chromium.

    python bench/screenshot_digest.py [--out digest.png] [--html digest.html] [--text]

Writes the HTML next to the screenshot. Without /usr/bin/chromium (or
--chromium PATH) it writes only the HTML and says so. The content is the seed
story (Russia's claim of joint airstrikes with the US, denied by the Pentagon)
with the outlets that also carried it, plus other stories over three rules.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from datetime import date, datetime, timezone
from pathlib import Path

from monitor.digest import (
    Digest,
    DigestEntry,
    DigestSection,
    build_digest,
    render_html,
    render_text,
)
from monitor.digest.message import footer_for

UTC = timezone.utc
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def at(day: int, hour: int, minute: int) -> datetime:
    return datetime(2017, 1, day, hour, minute, tzinfo=UTC)


def sample_digest() -> Digest:
    """Eight stories over three rules, as the monitor would gather them for one day."""
    syria = (
        DigestEntry(
            title="Russia Said It Coordinated Syrian Airstrikes With US, Pentagon Denies Claim",
            url="https://geoplotics.example/russia-coordinated-syrian-airstrikes-us-pentagon-denies-claim",
            source="Geoplotics",
            also_seen_in=(
                "Reuters",
                "RT",
                "TASS",
                "Defense News",
                "The Hill",
                "Al Jazeera",
                "Sputnik",
                "Military Times",
            ),
            published=at(18, 14, 42),
            summary=(
                "Russia said that its air force had administered airstrikes against the Islamic State targets "
                "along with the US-led coalition, using target coordinates received through a hotline with the "
                "coalition headquarters. However, the U.S. military denied it completely: Colonel John Dorrian "
                'called the claims "rubbish".'
            ),
            terms=("Russia", "airstrikes", "Pentagon", "US-led coalition"),
            severity="high",
        ),
        DigestEntry(
            title="Coalition spokesman: contacts with Russia limited to routine deconfliction",
            url="https://wire.example/2017/01/18/coalition-russia-deconfliction",
            source="Associated Press",
            also_seen_in=("ABC News", "Stars and Stripes"),
            published=at(18, 19, 5),
            summary=(
                "Navy Capt. Jeff Davis said communication with Russia over Syria is restricted to deconfliction "
                "talks meant to avoid incidents in the air, and that the U.S. does not coordinate or share targets "
                "with Russia."
            ),
            terms=("Russia", "Syria"),
            severity="high",
        ),
        DigestEntry(
            title="Russian and Turkish jets strike Islamic State positions near al-Bab",
            url="https://news.example/world/middle-east/russia-turkey-joint-strikes-al-bab",
            source="BBC News",
            also_seen_in=("Hurriyet Daily News",),
            published=at(18, 9, 30),
            summary=(
                "Russian and Turkish aircraft carried out their first joint air raid against Islamic State "
                "targets around al-Bab in northern Syria, the Russian defence ministry said."
            ),
            terms=("Russian", "Syria"),
            severity="high",
        ),
    )
    sea = (
        DigestEntry(
            title="Russian warships visit the Philippines as Manila courts Moscow",
            url="https://asia.example/2017/01/russian-warships-manila",
            source="South China Morning Post",
            also_seen_in=("Rappler", "Reuters"),
            published=at(18, 6, 15),
            summary=(
                "An anti-submarine destroyer and a tanker of Russia's Pacific Fleet docked in Manila for a "
                "four-day goodwill visit, the second in weeks."
            ),
            terms=("Philippines", "Russia"),
            severity="normal",
        ),
        DigestEntry(
            title="China tests new weapons in disputed waters of the South China Sea",
            url="https://asia.example/2017/01/china-weapons-test-disputed-waters",
            source="The Diplomat",
            also_seen_in=(),
            published=at(18, 11, 0),
            summary=(
                "Beijing's navy held live-fire drills near the Paracel Islands; Vietnam protested what it called "
                "a violation of its sovereignty over the South China Sea."
            ),
            terms=("South China Sea", "disputed"),
            severity="normal",
        ),
    )
    energy = (
        DigestEntry(
            title="EU extends sanctions on Russian energy firms for six months",
            url="https://markets.example/eu-extends-russia-sanctions",
            source="Financial Times",
            also_seen_in=("Bloomberg", "Politico Europe"),
            published=at(18, 16, 20),
            summary=(
                "EU ambassadors agreed to roll over the sectoral sanctions that limit financing for Russian "
                "oil and gas companies."
            ),
            terms=("sanctions", "Russian"),
            severity="low",
        ),
        DigestEntry(
            title="Oil steadies as traders weigh OPEC cuts against US shale",
            url="https://markets.example/oil-opec-shale",
            source="Reuters",
            also_seen_in=("CNBC",),
            published=at(18, 12, 45),
            summary=(
                "Brent crude held above $55 a barrel as compliance with OPEC output cuts offset signs of "
                "rising US shale production."
            ),
            terms=("OPEC",),
            severity="low",
        ),
        DigestEntry(
            title="Gazprom says exports to Europe hit a record in the first half of January",
            url="https://markets.example/gazprom-record-exports",
            source="Interfax",
            also_seen_in=(),
            published=at(18, 8, 10),
            summary="Daily gas deliveries to Europe and Turkey reached a record during the cold snap, Gazprom said.",
            terms=("Gazprom",),
            severity="low",
        ),
    )
    return build_digest(
        [
            DigestSection("energy-sanctions", "Energy and sanctions", "low", energy),
            DigestSection("south-china-sea", "South China Sea", "normal", sea),
            DigestSection("russia-us-syria", "Russia, US and Syria", "high", syria),
        ],
        day=date(2017, 1, 18),
        tz="Europe/Moscow",
        period_start=at(17, 21, 0),
        period_end=at(18, 21, 0),
    )


def screenshot(chromium: str, html: Path, png: Path, size: str) -> None:
    with tempfile.TemporaryDirectory(prefix="digest-chromium-") as profile:
        subprocess.run(
            [
                chromium,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--screenshot={png}",
                f"--window-size={size}",
                html.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("digest.png"), help="screenshot file (PNG)")
    parser.add_argument("--html", type=Path, default=None, help="HTML file (default: beside --out)")
    parser.add_argument("--text", action="store_true", help="also print the plain-text body")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--window-size", default="900,1600")
    args = parser.parse_args(argv)

    digest = sample_digest()
    footer = footer_for(digest, to=["desk@example.org"])
    html_path = args.html or args.out.with_suffix(".html")
    html_path.write_text(render_html(digest, footer=footer), encoding="utf-8")
    print(f"html: {html_path} ({html_path.stat().st_size} bytes)")
    if args.text:
        print(render_text(digest, footer=footer))
    if not Path(args.chromium).exists():
        print(f"screenshot: skipped, no Chromium at {args.chromium}", file=sys.stderr)
        return 0
    screenshot(args.chromium, html_path, args.out, args.window_size)
    print(f"screenshot: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

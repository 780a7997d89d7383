"""Write large_520.rss: a 520-item RSS 2.0 archive feed (wire-style briefs).

Run from anywhere: ``python tests/testdata/feeds/make_large.py``. The output is
deterministic, so re-running it leaves the committed file unchanged.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from xml.sax.saxutils import escape

ITEMS = 520
START = datetime(2017, 1, 24, 6, 0, tzinfo=timezone.utc)
SUBJECTS = [
    ("Russian jets strike Islamic State positions near {p}", "Russia's Defence Ministry said its aircraft hit militant positions near {p}."),
    ("Coalition says it carried out air strikes near {p}", "The U.S.-led coalition reported strikes on Islamic State targets near {p}."),
    ("Syrian army advances near {p}, state media says", "State television said government forces took several villages around {p}."),
    ("Turkish-backed rebels shell Islamic State near {p}", "Fighters supported by Turkish artillery pressed an assault near {p}."),
    ("Monitor reports civilian deaths in strikes near {p}", "The Syrian Observatory for Human Rights said civilians were killed near {p}."),
    ("Aid convoy reaches {p} after weeks of delays", "The United Nations said trucks carrying food and medicine arrived in {p}."),
    ("Ceasefire violations reported near {p}, Russian centre says", "The Russian reconciliation centre at Hmeymim recorded violations near {p}."),
    ("Pentagon denies coordinating strikes with Russia near {p}", "A spokesman said U.S. contacts with Russia are limited to deconfliction near {p}."),
]
PLACES = [
    "al-Bab", "Aleppo", "Raqqa", "Deir al-Zor", "Palmyra", "Idlib", "Hama", "Homs", "Manbij", "Tabqa",
    "Mosul", "Tal Afar", "Kirkuk", "Tikrit", "Hawija", "Afrin", "Jarablus", "Azaz", "Douma", "Daraa",
    "Quneitra", "Latakia", "Tartus", "Hasaka", "Qamishli",
]


def build() -> str:
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">',
        "<channel>",
        "<title>Anadolu Agency - Middle East archive</title>",
        "<link>http://aa.com.tr/en/middle-east</link>",
        "<description>Anadolu Agency news briefs</description>",
        "<language>en</language>",
        "<ttl>30</ttl>",
    ]
    for n in range(ITEMS):
        title_tpl, desc_tpl = SUBJECTS[n % len(SUBJECTS)]
        place = PLACES[(n // len(SUBJECTS)) % len(PLACES)]
        when = START - timedelta(minutes=23 * n)
        article = 733000 + n
        url = f"http://aa.com.tr/en/middle-east/brief/{article}"
        title = title_tpl.format(p=place) + (f" ({n // (len(SUBJECTS) * len(PLACES)) + 1})" if n >= len(SUBJECTS) * len(PLACES) else "")
        out.append(
            "<item>"
            f"<title>{escape(title)}</title>"
            f"<link>{url}</link>"
            f'<guid isPermaLink="false">aa-{article}</guid>'
            f"<pubDate>{when.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
            f"<description>{escape(desc_tpl.format(p=place))}</description>"
            "</item>"
        )
    out += ["</channel>", "</rss>", ""]
    return "\n".join(out)


if __name__ == "__main__":
    target = Path(__file__).with_name("large_520.rss")
    target.write_text(build(), encoding="utf-8")
    print(f"wrote {target} ({target.stat().st_size:,} bytes, {ITEMS} items)")

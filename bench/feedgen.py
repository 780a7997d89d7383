"""Realistic generated news feeds for the polling benchmark (deterministic for a seed).

What a feed looks like, and why (see bench/README.md):

* RSS 2.0 with the namespaces news sites use (``dc:creator``, ``media:content``,
  ``content:encoded``); 20–50 items a feed (uniform), as general news feeds
  carry; 30–100 KB a feed: half the feeds carry full text in
  ``content:encoded`` (2–4 paragraphs), the others only an HTML description.
* Titles of 8–15 words, summaries of 30–80 words, drawn from the same
  Zipf-distributed pseudo-word language and topic model as
  ``bench_rules.py`` (names, places, subjects), so the generated rules match
  the way analysts' rules match real news.
* Cross-feed duplication: about 5% of items are wire stories carried by
  several feeds under the same link (with different tracking parameters),
  and about 5% are near-copies of a wire story under the outlet's own link
  (a different dateline, one word edited), which the near-duplicate step
  must cluster.
* Change over time: ``FeedSet.update(fraction)`` gives ``fraction`` of the
  feeds 1–3 new items each (on top; the oldest drop off), the way a steady
  polling pass finds about 5% of feeds changed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from html import escape

from bench_rules import World, vocabulary

NS = (
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/" '
    'xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:atom="http://www.w3.org/2005/Atom"'
)
START = datetime(2026, 11, 20, 6, 0, tzinfo=timezone.utc)
AUTHORS = ["Anna Petrova", "John Smith", "Maria Garcia", "Wei Chen", "Staff reporter", "Agencies"]
SECTIONS = ["World", "Politics", "Business", "Europe", "Middle East", "Technology", "Markets", "Opinion"]
DATELINES = ["MOSCOW (Reuters) - ", "WASHINGTON (AP) - ", "BEIRUT, Feb 14 (AFP) - ", ""]


@dataclass(frozen=True)
class Item:
    guid: str
    title: str
    link: str
    summary: str
    published: datetime
    author: str
    categories: tuple[str, ...]


class StoryWriter:
    """News-like text: titles of 8–15 words, summaries of 30–80 words, paragraphs for full text."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.world = World(vocabulary(self.rng, 50_000), self.rng)
        self.sentences = [" ".join(self.world.background(self.rng.randint(10, 18))).capitalize() + "." for _ in range(3000)]

    def text(self) -> tuple[str, str]:
        """(title, summary) of a new story."""
        rng = self.rng
        base = self.world.story(0)  # a 10-word title, a 40-word summary, topic words placed in them
        title = base.title.split()
        summary = base.summary.rstrip(".").split()
        want_title = rng.randint(8, 15)
        title = (title + self.world.background(max(0, want_title - len(title))))[:want_title]
        want = rng.randint(30, 80)
        summary = (summary + self.world.background(max(0, want - len(summary))))[:want]
        return " ".join(title).capitalize(), " ".join(summary).capitalize() + "."

    def paragraphs(self, n: int) -> list[str]:
        return [" ".join(self.rng.sample(self.sentences, self.rng.randint(2, 4))) for _ in range(n)]


class FeedSet:
    """``n`` feeds and their items over time; bodies are RSS 2.0 bytes.

    ``backlog(i)`` is a one-item feed (its first poll, stored silently);
    ``full(i)`` is the feed at full size with fresh items; ``update(fraction)``
    adds 1–3 items to a random ``fraction`` of the feeds and returns their indices.
    """

    def __init__(self, n: int, seed: int = 1) -> None:
        self.n = n
        self.rng = random.Random(seed)
        self.writer = StoryWriter(seed)
        self.sizes = [self.rng.randint(20, 50) for _ in range(n)]
        self.full_text = [self.rng.random() < 0.5 for _ in range(n)]
        self.items: list[list[Item]] = [[] for _ in range(n)]
        self._paragraphs: dict[str, list[str]] = {}
        self._clock = START
        self._serial = 0
        self._wire: list[Item] = []

    # ---- items ----

    def _tick(self) -> datetime:
        self._clock += timedelta(seconds=self.rng.randint(5, 40))
        return self._clock

    def _new_item(self, feed: int) -> Item:
        rng = self.rng
        self._serial += 1
        when = self._tick()
        roll = rng.random()
        if self._wire and roll < 0.05:  # the same wire story, same link, other tracking parameters
            w = rng.choice(self._wire[-200:])
            return Item(f"f{feed}-{self._serial}", w.title, f"{w.link}?utm_source=feed{feed}&utm_medium=rss",
                        w.summary, when, "Agencies", w.categories)
        if self._wire and roll < 0.10:  # a near-copy under the outlet's own link
            w = rng.choice(self._wire[-200:])
            words = w.summary.split()
            words[rng.randrange(len(words))] = "reportedly"
            return Item(f"f{feed}-{self._serial}", w.title, f"https://outlet{feed}.example/news/{self._serial}",
                        rng.choice(DATELINES) + " ".join(words), when, "Agencies", w.categories)
        title, summary = self.writer.text()
        slug = "-".join(title.lower().split()[:6])
        item = Item(
            f"f{feed}-{self._serial}", title, f"https://outlet{feed}.example/{when:%Y/%m/%d}/{slug}-{self._serial}",
            summary, when, rng.choice(AUTHORS), tuple(rng.sample(SECTIONS, rng.randint(1, 3))),
        )
        if roll < 0.15:
            self._wire.append(item)
        return item

    # ---- feeds ----

    def backlog(self, i: int) -> bytes:
        """The feed's first state: one item."""
        self.items[i] = [self._new_item(i)]
        return self.body(i)

    def full(self, i: int) -> bytes:
        """The feed at its full size (20–50 items), all of them new."""
        self.items[i] = [self._new_item(i) for _ in range(self.sizes[i])]
        self.items[i].sort(key=lambda it: it.published, reverse=True)
        return self.body(i)

    def update(self, fraction: float) -> list[int]:
        """Give ``fraction`` of the feeds 1–3 new items each; returns the changed feeds."""
        changed = sorted(self.rng.sample(range(self.n), max(1, round(self.n * fraction))))
        for i in changed:
            new = [self._new_item(i) for _ in range(self.rng.randint(1, 3))]
            self.items[i] = (sorted(new, key=lambda it: it.published, reverse=True) + self.items[i])[: self.sizes[i]]
        return changed

    def body(self, i: int) -> bytes:
        items = "".join(self._item_xml(i, it) for it in self.items[i])
        built = format_datetime(self.items[i][0].published if self.items[i] else START)
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" {NS}><channel>'
            f"<title>Outlet {i} — World news</title><link>https://outlet{i}.example/</link>"
            f'<atom:link href="https://outlet{i}.example/rss/world.xml" rel="self" type="application/rss+xml"/>'
            f"<description>The latest world news from Outlet {i}</description><language>en-gb</language>"
            f"<lastBuildDate>{built}</lastBuildDate><ttl>15</ttl>{items}</channel></rss>\n"
        ).encode()

    def _item_xml(self, feed: int, it: Item) -> str:
        cats = "".join(f"<category>{c}</category>" for c in it.categories)
        desc = escape(f'<p>{it.summary}</p><img src="https://cdn.example/{it.guid}.jpg" width="120" alt=""/>')
        content = ""
        if self.full_text[feed]:
            paras = self._paragraphs.get(it.guid)
            if paras is None:
                paras = self._paragraphs[it.guid] = self.writer.paragraphs(self.rng.randint(2, 4))
            content = "<content:encoded><![CDATA[" + "".join(f"<p>{p}</p>" for p in paras) + "]]></content:encoded>"
        return (
            f"<item><title>{escape(it.title)}</title><link>{escape(it.link)}</link>"
            f'<guid isPermaLink="false">{it.guid}</guid><pubDate>{format_datetime(it.published)}</pubDate>'
            f"<dc:creator>{it.author}</dc:creator>{cats}<description>{desc}</description>"
            f'<media:content url="https://cdn.example/{it.guid}.jpg" medium="image" width="1024" height="576"/>'
            f"{content}</item>"
        )


def main() -> None:
    """Print the size distribution of a generated set (``python bench/feedgen.py [N]``)."""
    import statistics
    import sys
    import time

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    t = time.perf_counter()
    fs = FeedSet(n)
    bodies = [fs.full(i) for i in range(n)]
    took = time.perf_counter() - t
    sizes = sorted(len(b) for b in bodies)
    print(f"{n} feeds in {took:.1f}s; KB min {sizes[0] / 1024:.0f}, median {statistics.median(sizes) / 1024:.0f}, "
          f"p90 {sizes[int(n * 0.9)] / 1024:.0f}, max {sizes[-1] / 1024:.0f}; items {sum(fs.sizes)}")


if __name__ == "__main__":
    main()

"""A database for the console's tests and screenshots: the seed story, hostile stories and noise.

``fill(workdir, db_url)`` polls a local feed server three times with ``monitor
poll --once --all`` (the first takes each feed's backlog, the second brings
the new items that alert, the third a wire copy of the seed story), then stores one story directly whose every field
is an attack on the page (the feed parser already strips some markup; the
console must not rely on that). Returns what the tests look for.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from feedserver import FeedServer

ROOT = Path(__file__).resolve().parent.parent
SEED_TITLE = "Russia Said It Coordinated Syrian Airstrikes With US, Pentagon Denies Claim"
SEED_BODY = (
    "Russia said that its air force had administered airstrikes against the Islamic State targets in Syria along "
    "with the US-led coalition. However, the Pentagon denied it completely."
)
HOSTILE_TITLE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">Pentagon <iframe src="javascript:window.__pwned=3"></iframe>hostile'
HOSTILE_SUMMARY = 'Pentagon <b onmouseover="window.__pwned=4">says</b> <a href="javascript:window.__pwned=5">click</a> "><svg onload=window.__pwned=6>'
HOSTILE_SOURCE = "<iframe src=//evil.example></iframe>Evil Source"
HOSTILE_URL = "javascript:window.__pwned=7"
HOSTILE_ERROR = "<script>window.__pwned=8</script> slack said no"

RULE = 'name = "Pentagon watch"\nquery = "Pentagon"\nseverity = "high"\n'


def rss(title: str, *items: str) -> str:
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title><link>https://feeds.example/</link>'
            f'{"".join(items)}</channel></rss>')


def item(guid: str, title: str, link: str, body: str, when: str = "Mon, 19 Sep 2016 10:00:00 GMT") -> str:
    return (f"<item><guid>{guid}</guid><title>{title}</title><link>{link}</link>"
            f"<description>{body}</description><pubDate>{when}</pubDate></item>")


SEED_ITEM = item("seed-1", SEED_TITLE, "https://www.geoplotics.example/russia-syria-airstrikes", SEED_BODY)
COPY_ITEM = item("copy-1", SEED_TITLE, "https://wire.example/russia-syria-airstrikes-copy", SEED_BODY)
HOSTILE_ITEMS = (
    item("h-1", "<![CDATA[<script>window.__pwned=1</script>Pentagon statement <iframe src=x></iframe>]]>",
         "https://evil.example/1", "<![CDATA[<img src=x onerror=window.__pwned=1>Pentagon said]]>"),
    item("h-2", "Pentagon click me", "javascript:window.__pwned=1", "A javascript: link about the Pentagon."),
)
NOISE = [item(f"n-{i}", f"Weather report {i}: frost in the valley", f"https://noise.example/{i}",
              "Farmers were told to cover crops.") for i in range(20)]


@dataclass
class Filled:
    db_url: str
    workdir: Path
    seed_id: int
    hostile_id: int


def monitor(workdir: Path, db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_") or k == "MONITOR_SIMILARITY"}
    env["MONITOR_DATABASE_URL"] = db_url
    return subprocess.run([sys.executable, "-m", "monitor", *args], cwd=workdir, env=env, capture_output=True,
                          text=True, timeout=120)


def fill(workdir: Path, db_url: str) -> Filled:
    from sqlalchemy import func, insert, select

    from monitor.db import DeliveryRow, MatchRow, Sighting, StoryRow, make_engine

    rules = workdir / "rules"
    rules.mkdir(exist_ok=True)
    for rule in (ROOT / "rules").glob("*.toml"):
        (rules / rule.name).write_text(rule.read_text(encoding="utf-8"), encoding="utf-8")
    (rules / "pentagon-watch.toml").write_text(RULE, encoding="utf-8")
    with FeedServer() as server:
        (workdir / "feeds.toml").write_text(
            "[alerts]\nchannel_interval = 0\n\n"
            f'[[feeds]]\nname = "Geoplotics"\nurl = "{server.url("/geo.xml")}"\n\n'
            f'[[feeds]]\nname = "Wire"\nurl = "{server.url("/wire.xml")}"\n\n'
            f'[[feeds]]\nname = "Totally Legit News"\nurl = "{server.url("/evil.xml")}"\n\n'
            f'[[feeds]]\nname = "Valley Weather"\nurl = "{server.url("/noise.xml")}"\n\n'
            f'[[feeds]]\nname = "Broken"\nurl = "{server.url("/broken.xml")}"\n',
            encoding="utf-8",
        )
        server.error("/broken.xml", 500)
        for path, title in (("/geo.xml", "Geo"), ("/wire.xml", "Wire"), ("/evil.xml", "Evil"), ("/noise.xml", "Weather")):
            server.set_route(path, rss(title, NOISE[0].replace("n-0", f"old-{path}")))
        first = monitor(workdir, db_url, "poll", "--once", "--all")
        assert first.returncode == 0, first.stdout + first.stderr
        server.set_route("/geo.xml", rss("Geo", SEED_ITEM))
        server.set_route("/evil.xml", rss("Evil", *HOSTILE_ITEMS))
        server.set_route("/noise.xml", rss("Weather", *NOISE[1:]))
        second = monitor(workdir, db_url, "poll", "--once", "--all")
        assert second.returncode == 0, second.stdout + second.stderr
        server.set_route("/wire.xml", rss("Wire", COPY_ITEM))  # later, so the seed is its cluster's first story
        third = monitor(workdir, db_url, "poll", "--once", "--all")
        assert third.returncode == 0, third.stdout + third.stderr
    engine = make_engine(db_url)
    now = datetime.now(timezone.utc)
    stories, matches, deliveries, sightings = (StoryRow.__table__, MatchRow.__table__, DeliveryRow.__table__,
                                               Sighting.__table__)
    from sqlalchemy import MetaData, Table

    clusters = Table("clusters", MetaData(), autoload_with=engine)
    with engine.begin() as conn:
        seed_id = conn.execute(
            select(stories.c.id).where(stories.c.title == SEED_TITLE, stories.c.url.like("%geoplotics%"))
        ).scalars().first()
        # ingest gives clusters explicit ids (not from the sequence), so this one does too
        cluster_id = int(conn.execute(select(func.coalesce(func.max(clusters.c.id), 0))).scalar_one()) + 1
        conn.execute(insert(clusters).values(id=cluster_id, created_at=now))
        hostile_id = conn.execute(insert(stories).values(
            url_key="https://evil.example/direct", url=HOSTILE_URL, title=HOSTILE_TITLE, summary=HOSTILE_SUMMARY,
            source=HOSTILE_SOURCE, language="en", author="<b>author</b>", published_at=now - timedelta(minutes=1),
            first_seen_at=now, cluster_id=cluster_id, backlog=False,
        ).returning(stories.c.id)).scalar_one()
        feed_id = conn.execute(select(sightings.c.feed_id).limit(1)).scalar_one()
        conn.execute(insert(sightings).values(feed_id=feed_id, entry_key="<script>direct</script>", story_id=hostile_id, seen_at=now))
        match_id = conn.execute(insert(matches).values(
            rule_id="pentagon-watch", cluster_id=cluster_id, story_id=hostile_id, terms=["Pentagon", "<script>"],
            matched_at=now,
        ).returning(matches.c.id)).scalar_one()
        conn.execute(insert(deliveries).values(
            rule_id="pentagon-watch", cluster_id=cluster_id, story_id=hostile_id, match_id=match_id,
            destination="slack:#alerts", status="failed", attempts=3, next_attempt_at=now, last_error=HOSTILE_ERROR,
            created_at=now,
        ))
    engine.dispose()
    assert seed_id is not None, "the seed story was not stored"
    return Filled(db_url, workdir, int(seed_id), int(hostile_id))

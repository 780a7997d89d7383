"""The command line as a user drives it: config files in a folder, a local feed server, a fake Slack."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from monitor.dedup import FINGERPRINT_VERSION
from fakeslack import FakeSlack
from feedserver import FeedServer

ROOT = Path(__file__).resolve().parent.parent
SEED = Path(__file__).resolve().parent / "testdata" / "rules" / "seed-article.txt"  # a copy of the seed story
SEED_TITLE = "Russia Said It Coordinated Syrian Airstrikes With US, Pentagon Denies Claim"
TOKEN = "xoxb-cli-test-secret-token"


def seed_item() -> str:
    if SEED.exists():
        paragraphs = [p.strip() for p in SEED.read_text(encoding="utf-8").split("\n\n") if p.strip()]
        body = " ".join(paragraphs[2:5])
    else:  # the seed's first paragraphs, as the article has them
        body = (
            "Russia said that its air force had administered airstrikes against the Islamic State targets along "
            "with the US-led coalition. They said that they had received intelligence from the coalition command "
            "center. However, the U.S. military denied it completely."
        )
    body = body.replace("&", "&amp;").replace("<", "&lt;")
    return (
        f"<item><guid>seed-1</guid><title>{SEED_TITLE}</title>"
        f"<link>https://www.geoplotics.example/russia-syria-airstrikes?utm_source=rss</link>"
        f"<description>{body}</description><pubDate>Mon, 19 Sep 2016 10:00:00 GMT</pubDate></item>"
    )


def rss(*items: str) -> str:
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Geo</title><link>https://geo/</link>{"".join(items)}</channel></rss>'


OLD_ITEM = (
    "<item><guid>old-1</guid><title>Weather service warns of early frost</title>"
    "<link>https://www.geoplotics.example/frost</link><description>Farmers were told to cover crops.</description></item>"
)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "rules").mkdir()
    for rule in (ROOT / "rules").glob("*.toml"):
        (tmp_path / "rules" / rule.name).write_text(rule.read_text(encoding="utf-8"), encoding="utf-8")
    return tmp_path


def write_config(workdir: Path, server: FeedServer, extra: str = "") -> None:
    (workdir / "feeds.toml").write_text(
        f"""
[defaults]
deadline = "5s"

[alerts]
channel_interval = 0
{extra}

[[feeds]]
name = "Geoplotics"
url = "{server.url('/geo.xml')}"
tags = ["world"]

[[feeds]]
name = "Broken"
url = "{server.url('/broken.xml')}"
""",
        encoding="utf-8",
    )


def monitor(workdir: Path, *args: str, env: dict[str, str] | None = None, input: str | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_") or k == "MONITOR_SIMILARITY"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args], cwd=workdir, env=full_env, capture_output=True, text=True,
        timeout=60, input=input,
    )


@pytest.fixture
def server():
    with FeedServer() as s:
        s.set_route("/geo.xml", rss(OLD_ITEM))
        s.error("/broken.xml", 500)
        yield s


def test_check_accepts_the_shipped_configuration() -> None:
    result = monitor(ROOT, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "feeds" in result.stdout and "rules" in result.stdout


def test_check_reports_every_problem_with_file_and_line(workdir: Path) -> None:
    (workdir / "feeds.toml").write_text(
        '[defaults]\ninterval = "soon"\n\n[[feeds]]\nname = "A"\nurl = "ftp://x/"\ncolour = "red"\n', encoding="utf-8"
    )
    (workdir / "rules" / "broken.toml").write_text('name = "Broken"\nquery = "Pentagon AND (Kremlin"\n', encoding="utf-8")
    result = monitor(workdir, "check")
    assert result.returncode == 1
    out = result.stdout
    assert "feeds.toml:2" in out and "defaults.interval" in out
    assert "feeds[0].url" in out and "feeds[0].colour" in out and "unknown key" in out
    assert "broken.toml:2" in out and "^" in out


def test_a_seed_story_in_a_polled_feed_alerts_once_to_slack(workdir: Path, server: FeedServer) -> None:
    write_config(workdir, server)
    with FakeSlack(token=TOKEN, channels=("alerts",)) as slack:
        env = {"MONITOR_SLACK_BOT_TOKEN": TOKEN, "MONITOR_SLACK_API_URL": slack.url, "MONITOR_SLACK_CHANNEL": "alerts"}
        first = monitor(workdir, "poll", "--once", env=env)
        assert first.returncode == 0, first.stderr
        assert "1 failed" in first.stdout and "Broken" in first.stdout
        server.set_route("/geo.xml", rss(seed_item(), OLD_ITEM))
        second = monitor(workdir, "poll", "--once", "--all", env=env)
        assert second.returncode == 0, second.stderr
        assert "1 matches" in second.stdout, second.stdout + second.stderr[-3000:]
        assert "1 sent" in second.stdout, second.stdout + second.stderr[-3000:]
        assert len(slack.messages) == 1
        message = json.dumps(slack.messages[0])
        assert SEED_TITLE in message and "geoplotics.example/russia-syria-airstrikes" in message
        assert "Pentagon" in message
        third = monitor(workdir, "poll", "--once", "--all", env=env)
        assert third.returncode == 0 and len(slack.messages) == 1
        assert TOKEN not in first.stderr + second.stderr + third.stderr


def test_without_slack_alerts_print_to_the_terminal(workdir: Path, server: FeedServer) -> None:
    write_config(workdir, server)
    monitor(workdir, "poll", "--once")
    server.set_route("/geo.xml", rss(seed_item(), OLD_ITEM))
    result = monitor(workdir, "poll", "--once", "--all")
    assert SEED_TITLE in result.stdout
    assert "geoplotics.example/russia-syria-airstrikes" in result.stdout


def test_feeds_json_reports_health_per_feed(workdir: Path, server: FeedServer) -> None:
    write_config(workdir, server)
    monitor(workdir, "poll", "--once")
    result = monitor(workdir, "feeds", "--json")
    rows = {r["name"]: r for r in map(json.loads, result.stdout.splitlines())}
    for key in ("name", "url", "last_status", "last_error", "error_count", "next_poll_at", "last_success_at", "entries", "stories"):
        assert key in rows["Geoplotics"]
    assert rows["Geoplotics"]["last_status"] == "ok" and rows["Geoplotics"]["entries"] == 1
    assert rows["Broken"]["last_status"] == "error" and "500" in rows["Broken"]["last_error"]
    assert rows["Broken"]["error_count"] == 1


def test_rules_test_reads_json_lines_and_prints_matches(workdir: Path) -> None:
    stories = [
        {"id": "seed", "title": SEED_TITLE, "summary": "Russia said its jets struck with the US-led coalition; the Pentagon denied it."},
        {"id": "other", "title": "Weather service warns of early frost"},
    ]
    result = monitor(workdir, "rules", "test", "--json", input="\n".join(json.dumps(s) for s in stories) + "\n")
    assert result.returncode == 0, result.stderr
    found = [json.loads(line) for line in result.stdout.splitlines()]
    assert {"id": "seed", "rule": "russia-us-syria"} == {k: found[0][k] for k in ("id", "rule")}
    assert found[0]["terms"]
    assert all(f["id"] != "other" for f in found)


def test_opml_import_appends_feeds_and_export_lists_them(workdir: Path, server: FeedServer) -> None:
    write_config(workdir, server)
    opml = workdir / "list.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><body><outline text="News">'
        '<outline text="Wire &amp; Co" xmlUrl="https://wire.example/rss"/>'
        f'<outline text="Geoplotics" xmlUrl="{server.url("/geo.xml")}"/></outline></body></opml>',
        encoding="utf-8",
    )
    result = monitor(workdir, "feeds", "import", str(opml))
    assert result.returncode == 0 and "1 feeds added" in result.stdout
    assert monitor(workdir, "check").returncode == 0
    exported = monitor(workdir, "feeds", "export").stdout
    assert "https://wire.example/rss" in exported and "Wire &amp; Co" in exported


def test_digest_preview_prints_the_text_part(workdir: Path, server: FeedServer) -> None:
    write_config(workdir, server)
    monitor(workdir, "poll", "--once")
    server.set_route("/geo.xml", rss(seed_item(), OLD_ITEM))
    monitor(workdir, "poll", "--once", "--all")
    result = monitor(workdir, "digest", "preview")
    assert result.returncode == 0, result.stderr
    assert SEED_TITLE in result.stdout
    out = workdir / "digest.html"
    assert monitor(workdir, "digest", "preview", "--out", str(out)).returncode == 0
    assert "<html" in out.read_text(encoding="utf-8")


def test_db_upgrade_is_idempotent(workdir: Path) -> None:
    first = monitor(workdir, "db", "upgrade")
    second = monitor(workdir, "db", "upgrade")
    assert first.returncode == 0 and second.returncode == 0
    from sqlalchemy import create_engine

    from monitor.db import head_revision

    head = head_revision(create_engine("sqlite://"))
    assert head and f"database at revision {head}" in second.stdout


def test_config_and_rules_options_work_after_the_subcommand_too(workdir: Path, server: FeedServer, tmp_path_factory) -> None:
    write_config(workdir, server)
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    result = monitor(elsewhere, "check", "--config", str(workdir / "feeds.toml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert str(workdir / "rules") in result.stdout
    env = {"MONITOR_CONFIG": str(workdir / "feeds.toml"), "MONITOR_DATABASE_URL": f"sqlite:///{elsewhere / 'm.db'}"}
    assert monitor(elsewhere, "poll", "--once", env=env).returncode == 0
    listed = monitor(elsewhere, "rules", "test", "--json", "--text", SEED_TITLE + " Pentagon denies Russian claim", env=env)
    assert "russia-us-syria" in listed.stdout, listed.stderr


def test_backtest_counts_what_a_rule_would_have_caught(workdir: Path, server: FeedServer) -> None:
    write_config(workdir, server)
    server.set_route("/geo.xml", rss(seed_item(), OLD_ITEM))
    monitor(workdir, "poll", "--once")  # a silent backlog: stored, not alerted
    result = monitor(workdir, "rules", "backtest", "russia-us-syria", "--since", "1d")
    assert result.returncode == 0, result.stderr
    assert "1 of 2 stories" in result.stdout and SEED_TITLE in result.stdout
    assert "1 judged by the rule's examples" in result.stdout and "similar 0." in result.stdout
    bad = monitor(workdir, "rules", "backtest", "russia-us-syria", "--since", "soon")
    assert bad.returncode == 2


PARAPHRASE = (
    "<item><guid>para-1</guid><title>Moscow claims its jets hit Islamic State alongside American aircraft</title>"
    "<link>https://www.geoplotics.example/para</link><description>The Pentagon said there was no such operation."
    "</description></item>"
)


def test_misses_lists_stories_like_the_matches_that_the_rule_did_not_match(workdir: Path, server: FeedServer) -> None:
    write_config(workdir, server)
    (workdir / "rules" / "narrow.toml").write_text('name = "narrow"\nquery = "coordinated"\n')
    server.set_route("/geo.xml", rss(seed_item(), PARAPHRASE, OLD_ITEM))
    monitor(workdir, "poll", "--once")
    result = monitor(workdir, "rules", "misses", "narrow", "--since", "1d", "--limit", "5")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "2 stories not matched" in lines[0] and "compared with 1 matches and examples (builtin)" in lines[0]
    assert "Moscow claims its jets" in lines[1] and "Weather service" in lines[3]  # most like the match first
    assert float(lines[1].split()[0]) > float(lines[3].split()[0])
    assert "nearest: Russia Said It Coordinated" in lines[2]


def test_stories_show_lists_the_cluster(workdir: Path, server: FeedServer) -> None:
    write_config(workdir, server)
    server.set_route("/geo.xml", rss(seed_item(), OLD_ITEM))
    monitor(workdir, "poll", "--once")
    result = monitor(workdir, "stories", "show", "1")
    assert result.returncode == 0, result.stderr
    assert "cluster" in result.stdout and "Geoplotics" in result.stdout
    body = re.sub(r"<[^>]+>", " ", seed_item().split("<description>")[1].split("</description>")[0])
    similar = monitor(workdir, "stories", "similar", "--text", f"Pentagon denies: {SEED_TITLE}. {body}")
    assert similar.returncode == 0 and "Russia Said" in similar.stdout, similar.stdout + similar.stderr


def test_stories_lists_what_was_stored_newest_first_with_clusters(workdir: Path, server: FeedServer) -> None:
    write_config(workdir, server)
    copy = seed_item().replace("seed-1", "seed-copy").replace("russia-syria-airstrikes", "copy-of-the-seed")
    server.set_route("/geo.xml", rss(seed_item(), OLD_ITEM))
    monitor(workdir, "poll", "--once")
    server.set_route("/geo.xml", rss(seed_item(), OLD_ITEM, copy))
    monitor(workdir, "poll", "--once", "--all")
    result = monitor(workdir, "stories", "--json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 3
    for key in ("id", "url", "title", "source", "language", "published_at", "first_seen_at", "cluster"):
        assert all(key in r for r in rows), key
    assert rows[0]["first_seen_at"] >= rows[-1]["first_seen_at"]
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)
    by_url = {r["url"].split("/")[-1]: r for r in rows}
    seed, again, frost = by_url["russia-syria-airstrikes"], by_url["copy-of-the-seed"], by_url["frost"]
    assert seed["cluster"] == again["cluster"] == seed["id"]  # the copy joined the seed's cluster
    assert frost["cluster"] == frost["id"] != seed["cluster"]
    table = monitor(workdir, "stories")
    assert table.returncode == 0 and SEED_TITLE in table.stdout
    recent = monitor(workdir, "stories", "--json", "--since", "1d")
    assert recent.returncode == 0 and len(recent.stdout.splitlines()) == 3
    bad = monitor(workdir, "stories", "--since", "soon")
    assert bad.returncode == 2 and "--since" in bad.stderr
    assert monitor(workdir, "stories", "show", "1").returncode == 0  # the subcommands stay


def test_db_refingerprint_rewrites_stale_fingerprints_with_a_progress_bar(workdir: Path, server: FeedServer) -> None:
    import sqlite3

    write_config(workdir, server)
    server.set_route("/geo.xml", rss(seed_item(), OLD_ITEM))
    monitor(workdir, "poll", "--once")
    assert "every stored fingerprint is current" in monitor(workdir, "db", "refingerprint").stdout
    with sqlite3.connect(workdir / "monitor.db") as conn:
        conn.execute("UPDATE stories SET fingerprint_version = NULL")
    result = monitor(workdir, "db", "refingerprint", "--batch", "1")
    assert result.returncode == 0, result.stderr
    assert "re-fingerprinted 2 stories" in result.stdout
    assert "re-fingerprinting 2 stories" in result.stderr  # the progress bar's label
    with sqlite3.connect(workdir / "monitor.db") as conn:
        assert conn.execute("SELECT count(*) FROM stories WHERE fingerprint_version = ?", (FINGERPRINT_VERSION,)).fetchone() == (2,)

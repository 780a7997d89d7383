"""Secrets never leak: a whole working life of the command line, every output grepped.

One scenario runs ``monitor`` as subprocesses with every secret set (a Slack
bot token, a webhook URL with a secret path, an SMTP password, a database
password when PostgreSQL is at hand, and a feed URL with ``user:password@``),
through success and failure paths (Slack answering ``invalid_auth``, a dead
webhook, an SMTP server refusing the login, a feed answering 500), with
``--log-level DEBUG`` in both log formats. Every byte printed, and every row
of every table, is searched for each secret.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import PG_URL, _driver_url
from fakeslack import FakeSlack
from feedserver import FeedServer
from smtpserver import SmtpServer
from sqlalchemy import MetaData, create_engine, select, text
from sqlalchemy.engine import make_url

BOT_TOKEN = "xoxb-111-222-b0tS3cretE2E"
WRONG_TOKEN = "xoxb-333-444-wr0ngS3cretE2E"
FILE_TOKEN = BOT_TOKEN  # the right token, read from MONITOR_SLACK_BOT_TOKEN_FILE
HOOK_SECRET = "h00kS3cretPathE2E"
WRONG_HOOK_SECRET = "wr0ngH00kS3cretE2E"
SMTP_PASSWORD = "smtpPa55w0rdE2E"
DB_PASSWORD = "dbPa55w0rdE2E"
FEED_PASSWORD = "feedPa55w0rdE2E"

ENV_SECRETS = {
    "bot token": BOT_TOKEN,
    "wrong bot token": WRONG_TOKEN,
    "webhook secret": HOOK_SECRET,
    "wrong webhook secret": WRONG_HOOK_SECRET,
    "smtp password": SMTP_PASSWORD,
    "database password": DB_PASSWORD,
}
ALL_SECRETS = {**ENV_SECRETS, "feed password": FEED_PASSWORD}
FLAGS = ["--log-level", "DEBUG"]


def rss(feed: str, keys: list[str]) -> str:
    items = "".join(
        f"<item><guid>https://news.example/{feed}/{k}</guid><title>Pentagon denies claim {k} about {feed}</title>"
        f"<link>https://news.example/{feed}/{k}</link>"
        f"<description>The Pentagon denied the claim {k}; officials in {feed} spoke of it at length.</description></item>"
        for k in keys
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{feed}</title><link>https://news.example/</link>{items}</channel></rss>'


@dataclass
class Scenario:
    outputs: list[tuple[str, str]] = field(default_factory=list)  # (command, stdout + stderr)
    rows: str = ""
    database: str = "sqlite"
    slack: FakeSlack | None = None
    notes: dict[str, object] = field(default_factory=dict)

    @property
    def printed(self) -> str:
        return "\n".join(text for _, text in self.outputs)


class Runner:
    def __init__(self, cwd: Path, env: dict[str, str], scenario: Scenario) -> None:
        self.cwd = cwd
        self.env = env
        self.scenario = scenario

    def __call__(self, name: str, args: list[str], *, fmt: str = "json", **env: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "monitor", *FLAGS, "--log-format", fmt, *args], cwd=self.cwd,
            env={**self.env, **env}, capture_output=True, text=True, timeout=60,
        )
        self.scenario.outputs.append((name, done.stdout + done.stderr))
        return done

    def service(self, name: str, **env: str) -> str:
        """``monitor run`` until it has started and delivered what is pending, then SIGTERM."""
        log = self.cwd / f"{name}.log"
        with open(log, "wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "monitor", *FLAGS, "--log-format", "json", "run"], cwd=self.cwd,
                env={**self.env, **env}, stdout=err, stderr=subprocess.STDOUT,
            )
        try:
            end = time.monotonic() + 30
            while "alert sent" not in log.read_text() and time.monotonic() < end and proc.poll() is None:
                time.sleep(0.1)
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        text = log.read_text(encoding="utf-8", errors="replace")
        self.scenario.outputs.append((name, text))
        self.scenario.notes["run exit"] = code
        return text


@contextmanager
def _database_url(tmp: Path) -> Iterator[tuple[str, str]]:
    """PostgreSQL (a schema of its own, the URL carrying a password) when at hand, else SQLite."""
    if PG_URL is None:
        yield f"sqlite:///{tmp / 'monitor.db'}", "sqlite"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_driver_url(PG_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = make_url(PG_URL).set(password=DB_PASSWORD)
        url = url.update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False), "postgresql"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _dump(url: str) -> str:
    """Every row of every table, as text."""
    if url.startswith("postgresql://"):
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    try:
        meta = MetaData()
        meta.reflect(engine)
        lines = []
        with engine.connect() as conn:
            for table in meta.sorted_tables:
                lines += [f"{table.name}: {row!r}" for row in conn.execute(select(table))]
        return "\n".join(lines)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    tmp = tmp_path_factory.mktemp("secrets")
    result = Scenario()
    with (
        FeedServer() as server,
        FakeSlack(token=BOT_TOKEN, channels=("alerts",), webhook_path=f"/services/T0E2E/B0E2E/{HOOK_SECRET}") as slack,
        SmtpServer(user="monitor", password="the-right-one") as smtp,
        _database_url(tmp) as (db_url, result.database),
    ):
        result.slack = slack
        keys: list[str] = ["k0"]
        server.set_route("/wire.xml", rss("wire", keys))
        server.error("/locked.xml", 500)
        locked = server.url("/locked.xml").replace("http://", f"http://reader:{FEED_PASSWORD}@")
        (tmp / "feeds.toml").write_text(
            '[defaults]\ndeadline = "5s"\n\n[alerts]\nchannel_interval = 0\n\n'
            '[digest]\nto = ["desk@example.org"]\nfrom = "monitor@example.org"\n\n'
            f'[[feeds]]\nname = "wire"\nurl = "{server.url("/wire.xml")}"\n\n'
            f'[[feeds]]\nname = "locked"\nurl = "{locked}"\n',
            encoding="utf-8",
        )
        (tmp / "rules").mkdir()
        (tmp / "rules" / "pentagon.toml").write_text('name = "Pentagon"\nquery = \'Pentagon OR Kremlin\'\n', encoding="utf-8")
        token_file = tmp / "bot-token"
        token_file.write_text(FILE_TOKEN + "\n", encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_") or k == "MONITOR_SIMILARITY"}
        env.update(
            MONITOR_DATABASE_URL=db_url, MONITOR_HTTP_ADDRESS="off", MONITOR_SLACK_API_URL=slack.url,
            MONITOR_SLACK_CHANNEL="alerts", MONITOR_SMTP_HOST=smtp.host, MONITOR_SMTP_PORT=str(smtp.port),
            MONITOR_SMTP_USERNAME="monitor", MONITOR_SMTP_PASSWORD=SMTP_PASSWORD, MONITOR_SMTP_SECURITY="none",
        )
        run = Runner(tmp, env, result)
        wrong_hook = f"{slack.webhook_url.rsplit('/', 1)[0]}/{WRONG_HOOK_SECRET}"

        def publish() -> None:
            keys.append(f"k{len(keys)}")
            server.set_route("/wire.xml", rss("wire", keys))

        run("check", ["check"], MONITOR_SLACK_BOT_TOKEN=BOT_TOKEN)
        run("backlog poll", ["poll", "--once", "--all"], fmt="text", MONITOR_SLACK_BOT_TOKEN=WRONG_TOKEN)
        publish()
        result.notes["invalid_auth"] = run("poll, invalid_auth", ["poll", "--once", "--all"], MONITOR_SLACK_BOT_TOKEN=WRONG_TOKEN)
        publish()
        result.notes["dead webhook"] = run("poll, dead webhook", ["poll", "--once", "--all"], fmt="text", MONITOR_SLACK_WEBHOOK_URL=wrong_hook)
        publish()
        result.notes["webhook"] = run("poll, webhook", ["poll", "--once", "--all"], MONITOR_SLACK_WEBHOOK_URL=slack.webhook_url)
        publish()
        result.notes["token file"] = run(
            "poll, token file", ["poll", "--once", "--all"], MONITOR_SLACK_BOT_TOKEN_FILE=str(token_file),
            MONITOR_SLACK_WEBHOOK_URL=wrong_hook,
        )
        run("feeds", ["feeds", "--json"], MONITOR_SLACK_BOT_TOKEN=BOT_TOKEN, MONITOR_SLACK_WEBHOOK_URL=slack.webhook_url)
        run("feeds table", ["feeds"], fmt="text", MONITOR_SLACK_BOT_TOKEN=BOT_TOKEN)
        publish()
        run("poll, no delivery", ["poll", "--once", "--all", "--no-deliver"], MONITOR_SLACK_BOT_TOKEN=BOT_TOKEN)
        run.service("run", MONITOR_SLACK_BOT_TOKEN=BOT_TOKEN, MONITOR_SLACK_WEBHOOK_URL=slack.webhook_url)
        result.notes["digest"] = run("digest send, login refused", ["digest", "send"], MONITOR_SLACK_BOT_TOKEN=BOT_TOKEN)
        result.notes["smtp messages"] = len(smtp.messages)
        result.rows = _dump(db_url)
        yield result


@pytest.mark.parametrize("name", list(ALL_SECRETS))
def test_it_never_prints_a_secret(scenario: Scenario, name: str) -> None:
    secret = ALL_SECRETS[name]
    if name == "database password" and scenario.database != "postgresql":
        pytest.skip("no PostgreSQL at hand: the database URL carries no password")
    leaks = [(command, [l for l in text.splitlines() if secret in l][:3]) for command, text in scenario.outputs if secret in text]
    assert not leaks, f"{name} printed by: {leaks}"


@pytest.mark.parametrize("name", list(ENV_SECRETS))
def test_it_never_writes_a_secret_to_the_database(scenario: Scenario, name: str) -> None:
    assert scenario.rows, "the database dump is empty"
    assert ENV_SECRETS[name] not in scenario.rows


def test_it_went_through_every_failure_path(scenario: Scenario) -> None:
    printed = scenario.printed
    assert "invalid_auth" in scenario.notes["invalid_auth"].stdout + scenario.notes["invalid_auth"].stderr  # type: ignore[union-attr]
    dead = scenario.notes["dead webhook"]
    assert "1 failed" in dead.stdout, dead.stdout + dead.stderr  # type: ignore[union-attr]
    assert "locked" in printed and "HTTP 500" in printed
    digest = scenario.notes["digest"]
    assert digest.returncode == 1, digest.stdout + digest.stderr  # type: ignore[union-attr]
    assert scenario.notes["smtp messages"] == 0


def test_it_delivers_through_the_webhook_and_the_token_file(scenario: Scenario) -> None:
    assert scenario.slack is not None
    webhook = scenario.notes["webhook"]
    assert "1 sent" in webhook.stdout, webhook.stdout + webhook.stderr  # type: ignore[union-attr]
    by_file = scenario.notes["token file"]
    assert "1 sent" in by_file.stdout, by_file.stdout + by_file.stderr  # type: ignore[union-attr]
    posted = [r for r in scenario.slack.requests if r["path"] == "/api/chat.postMessage"]
    assert any(r["authorization"] == f"Bearer {FILE_TOKEN}" for r in posted)
    assert any(m["via"] == "webhook" for m in scenario.slack.messages)


def test_it_stops_the_service_cleanly_on_sigterm(scenario: Scenario) -> None:
    text = dict(scenario.outputs)["run"]
    assert scenario.notes["run exit"] == 0, text
    assert "service stopped" in text and "alert sent" in text, [l[:300] for l in text.splitlines() if '"debug"' not in l]
    for line in text.splitlines():
        json.loads(line)  # --log-format json: one object per line


def test_it_uses_postgresql_with_a_password_when_at_hand(scenario: Scenario) -> None:
    if PG_URL is None:
        pytest.skip("no PostgreSQL at hand")
    assert scenario.database == "postgresql"

"""The fake Slack itself: it must catch what real Slack would refuse, or tests prove nothing."""

from __future__ import annotations

import json
import urllib.request

import pytest
from fakeslack import FakeSlack, validate_message


def header(text: str) -> dict:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}


@pytest.mark.parametrize(
    "case, payload, problem",
    [
        ("no text", {"blocks": [section("x")]}, "text: missing"),
        ("long header", {"text": "t", "blocks": [header("x" * 151)]}, "blocks[0].text.text: 151 units > 150"),
        ("astral header", {"text": "t", "blocks": [header("😀" * 76)]}, "152 units > 150"),
        ("mrkdwn header", {"text": "t", "blocks": [{"type": "header", "text": {"type": "mrkdwn", "text": "x"}}]}, "not allowed"),
        ("long section", {"text": "t", "blocks": [section("x" * 3001)]}, "3001 units > 3000"),
        ("empty section", {"text": "t", "blocks": [section(" ")]}, "text: empty"),
        ("too many blocks", {"text": "t", "blocks": [section("x")] * 51}, "blocks: 51 > 50"),
        ("huge text", {"text": "x" * 40001}, "40001 units > 40000"),
        ("unknown block", {"text": "t", "blocks": [{"type": "banner"}]}, "unknown block type"),
    ],
)
def test_it_flags_messages_slack_would_refuse(case, payload, problem):
    problems = validate_message(payload)

    assert any(problem in p for p in problems), (case, problems)


def test_it_accepts_a_valid_message():
    assert validate_message({"text": "t", "blocks": [header("x" * 150), section("y" * 3000)]}) == []


def post(url: str, body: dict, token: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, json.loads(response.read())


def test_it_answers_invalid_blocks_and_records_the_violation():
    with FakeSlack(token="t0k3n-value") as fake:
        status, body = post(fake.url + "chat.postMessage", {"channel": "alerts", "text": "t", "blocks": [header("x" * 200)]}, "t0k3n-value")

    assert (status, body) == (200, {"ok": False, "error": "invalid_blocks"})
    assert fake.violations == ["blocks[0].text.text: 200 units > 150"]
    assert fake.messages == []


def test_it_numbers_messages_with_increasing_ts_and_answers_channel_ids():
    with FakeSlack(token="t0k3n-value", channels={"alerts": "C0ALERTS1"}) as fake:
        answers = [post(fake.url + "chat.postMessage", {"channel": "#alerts", "text": "t"}, "t0k3n-value")[1] for _ in range(3)]

    stamps = [a["ts"] for a in answers]
    assert stamps == sorted(stamps, key=float) and len(set(stamps)) == 3
    assert {a["channel"] for a in answers} == {"C0ALERTS1"}


def test_it_checks_the_bearer_token():
    with FakeSlack(token="t0k3n-value") as fake:
        missing = post(fake.url + "auth.test", {})[1]
        wrong = post(fake.url + "auth.test", {}, "other")[1]
        right = post(fake.url + "auth.test", {}, "t0k3n-value")[1]

    assert missing["error"] == "not_authed" and wrong["error"] == "invalid_auth" and right["ok"] is True

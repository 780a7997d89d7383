"""/search finds exactly what the rule matcher finds, through the full-text index, on both engines.

The stories are the labelled sets of the shipped rules (English, Russian,
Ukrainian, with dotted acronyms such as ``U.S.``); the queries are the shipped
rules' and a few written to reach the index's edges. For each, the search's
results are compared with the matcher run over every stored story.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import insert

from monitor.db import StoryRow
from monitor.model import Story
from monitor.query import index_clauses, load_rules, parse_query
from monitor.web.search import compile_search, search

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "testdata" / "rules"
EXTRA = [
    "Pentagon AND Syria*",
    "=US AND strikes",
    "U.S. AND coalition",
    "\"air strikes\" OR airstrike*",
    "(Russia OR Moscow) NEAR/5 (joint OR together)",
    "Кремль OR Москв*",
    "NOT Russia",
    "source:(Reuters) Syria",
    "title:(coalition) summary:(Islamic)",
    "al-Bab",
    "café OR cafe",
    # scripts an index tokenizer does not segment as the rule engine does
    "北京", "外交部长", "大阪", "กรุงเทพ", "ตลาดหุ้น", "서울", "অস্ট্রেলিয়ার", "दिल्ली", "ঢাকা AND ক্রিকেট",
]


def stories() -> list[dict[str, str]]:
    out = []
    for path in sorted((DATA / "labelled").glob("*.jsonl")) + [DATA / "seed_set" / "stories.jsonl"]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                out.append({"title": row.get("title") or "", "summary": row.get("summary") or "", "source": row.get("source") or "x"})
    out.append({"title": "Un café à Paris", "summary": "Le café est fermé.", "source": "Le Monde"})
    out += [
        {"title": "中国外交部在北京表示", "summary": "外交部长当天会见了来访的客人。", "source": "新华社"},
        {"title": "大阪府知事は会見で", "summary": "大阪の万博について話した。", "source": "NHK"},
        {"title": "ฝนตกหนักในกรุงเทพวันนี้", "summary": "ตลาดหุ้นปิดตัวลดลง", "source": "ไทยรัฐ"},
        {"title": "서울에서 회의가 열렸다", "summary": "", "source": "연합뉴스"},
        {"title": "অস্ট্রেলিয়ার বিপক্ষে ঢাকায় ক্রিকেট সিরিজ", "summary": "ঢাকা টেস্টে বাংলাদেশ এগিয়ে।", "source": "প্রথম আলো"},
        {"title": "दिल्ली में बारिश", "summary": "नई दिल्ली, 3 नवंबर (भाषा)", "source": "भाषा"},
    ]
    return out


@pytest.fixture
def stored(engine) -> list[dict[str, str]]:
    rows = stories()
    base = datetime(2026, 11, 1, tzinfo=timezone.utc)
    with engine.begin() as conn:
        conn.execute(insert(StoryRow.__table__), [
            {"url_key": f"https://example.test/{i}", "url": f"https://example.test/{i}", "title": r["title"],
             "summary": r["summary"], "source": r["source"], "language": "en", "published_at": base + timedelta(minutes=i),
             "first_seen_at": base + timedelta(minutes=i), "backlog": False}
            for i, r in enumerate(rows)
        ])
    return rows


def expected(query: str, rows: list[dict[str, str]]) -> list[int]:
    """Ids (1-based, newest first) of the stories the matcher itself says match."""
    ruleset = compile_search(query)
    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    hits = [i + 1 for i, r in enumerate(rows)
            if ruleset.match(Story(entry_key=str(i), title=r["title"], summary=r["summary"], url="", published=now, source=r["source"]))]
    return sorted(hits, reverse=True)


def queries() -> list[str]:
    rules, problems = load_rules(ROOT / "rules")
    assert not problems
    return [r.query for r in rules] + EXTRA


def test_search_returns_exactly_the_matchers_stories_for_every_query(engine, stored):
    with engine.connect() as conn:
        for query in queries():
            found = search(conn, query, limit=1000, candidate_limit=10_000, scan_limit=10_000)
            assert found.error is None, query
            want = expected(query, stored)
            got = [r["id"] for r in found.results]
            if engine.dialect.name == "postgresql" and query == "café OR cafe":
                continue  # the known gap: PostgreSQL's simple configuration keeps accents (README)
            assert got == want, (query, found.method, found.words)
    assert any(expected(q, stored) for q in queries())


def test_the_shipped_rules_use_the_index_unless_a_required_group_holds_a_short_word(engine, stored):
    # The seed rule's "who" groups hold short words (=US, США, ВКС) that the index may have
    # split differently (U.S. -> u, s): it is searched story by story, and still exactly
    # (test above); every other shipped rule is served by the index.
    rules, _ = load_rules(ROOT / "rules")
    with engine.connect() as conn:
        methods = {r.id: search(conn, r.query).method for r in rules}
    assert methods.pop("russia-us-syria") == "scan"
    assert methods and set(methods.values()) == {"index"}, methods


def test_index_clauses_never_ask_for_what_a_match_may_lack():
    fields = ("title", "summary")
    assert index_clauses(parse_query("NOT x"), fields, fields) is None
    assert index_clauses(parse_query("us OR uk"), fields, fields) is None  # dotted acronyms: not in an index as one word
    assert index_clauses(parse_query("url:(x) OR pentagon"), fields, fields) is None
    assert index_clauses(parse_query("pentagon"), ("title", "summary", "content"), fields) is None
    assert index_clauses(parse_query("content:(syria) pentagon"), ("title", "summary", "content"), fields) is None
    assert index_clauses(parse_query("title:(syria) pentagon"), ("title", "summary", "content"), fields) is None
    scoped = index_clauses(parse_query("title:(syria) summary:(pentagon)"), ("title", "summary", "content"), fields)
    assert set(scoped or []) == {frozenset({("syria", False)}), frozenset({("pentagon", False)})}
    digits = index_clauses(parse_query("f16 AND jets"), fields, fields)
    assert set(digits or []) == {frozenset({("jets", False)}), frozenset({("f16", False)})}

"""``/search``: stored stories matching a query in the rule language, newest first.

The database's full-text index finds the candidates and the rule engine
decides: ``index_clauses`` (monitor.query) turns the query into words every
match must hold, the index returns the stories holding them, and each
candidate is matched with the same parser and matcher the rules use. The
index may return more than match, never fewer (see ``monitor.query.prefilter``),
so the results are exactly what a rule with this query would catch over the
title and summary.

- SQLite: the FTS5 table ``stories_fts`` (revision 0005), ``MATCH`` on an
  expression such as ``"pentagon" AND "syria"*``, walked by rowid downwards;
- PostgreSQL: the stored column ``search_tsv`` (``to_tsvector('simple', title
  || ' ' || summary)``) and its GIN index, asked with
  ``to_tsquery('simple', 'pentagon & syria:*')``; the planner walks the GIN
  index for a rare word and the newest stories for a common one.

A query the index cannot narrow (``NOT x``, only short words, ``url:(...)``)
is matched story by story, newest first, at most ``scan_limit`` stories per
request; the page then says how far back it looked and links to the next
stretch. Every request is bounded either way: ``candidate_limit`` candidates
from the index, ``scan_limit`` stories without it. Paging is by story id
(``before``): ids grow as stories are stored.

Known gap: PostgreSQL's ``simple`` configuration keeps accents, so a story
that writes a query word with accents the query lacks (``café`` for ``cafe``)
is not found on PostgreSQL; SQLite's index folds them as the rule engine does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, bindparam, select, text

from monitor.db import StoryRow
from monitor.model import Rule, Story
from monitor.query import QuerySyntaxError, RuleSet, build_ruleset, index_clauses, parse_query

__all__ = ["SEARCH_FIELDS", "SearchPage", "search"]

#: the fields /search matches, and the fields the full-text index holds
SEARCH_FIELDS = ("title", "summary")

stories = StoryRow.__table__
_COLUMNS = (stories.c.id, stories.c.title, stories.c.summary, stories.c.url, stories.c.source,
            stories.c.language, stories.c.published_at, stories.c.first_seen_at, stories.c.cluster_id)


@dataclass
class SearchPage:
    """One page of results. ``error`` (with ``error_column``, 1-based) when the query is broken."""

    query: str
    results: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    error_column: int | None = None
    method: str = ""  # "index" or "scan"
    examined: int = 0  # candidates (index) or stories (scan) looked at
    next_before: int | None = None  # the ``before`` of the next page; None when the search reached the end
    words: list[list[str]] = field(default_factory=list)  # the index clauses, for the page to show


def _fts5(clauses: Sequence[frozenset[tuple[str, bool]]]) -> str:
    parts = []
    for clause in clauses:
        alts = [f'"{word}"' + ("*" if prefix else "") for word, prefix in sorted(clause)]
        parts.append(alts[0] if len(alts) == 1 else "(" + " OR ".join(alts) + ")")
    return " AND ".join(parts)


def _tsquery(clauses: Sequence[frozenset[tuple[str, bool]]]) -> str:
    parts = []
    for clause in clauses:
        alts = [f"'{word}'" + (":*" if prefix else "") for word, prefix in sorted(clause)]
        parts.append(alts[0] if len(alts) == 1 else "(" + " | ".join(alts) + ")")
    return " & ".join(parts)


def _candidates(conn: Connection, clauses: Sequence[frozenset[tuple[str, bool]]], before: int | None, limit: int) -> list[Any]:
    """Up to ``limit`` stories below id ``before`` that the index says hold every clause, newest first."""
    below = before if before is not None else 2**62  # SQLite's rowids are 64-bit
    if conn.dialect.name == "sqlite":
        ids = [r[0] for r in conn.execute(
            text("SELECT rowid FROM stories_fts WHERE stories_fts MATCH :q AND rowid < :b ORDER BY rowid DESC LIMIT :n"),
            {"q": _fts5(clauses), "b": below, "n": limit},
        )]
        if not ids:
            return []
        rows = {r.id: r for r in conn.execute(select(*_COLUMNS).where(stories.c.id.in_(bindparam("ids", expanding=True))), {"ids": ids})}
        return [rows[i] for i in ids if i in rows]
    stmt = (
        select(*_COLUMNS)
        .where(text("search_tsv @@ to_tsquery('simple', :q)").bindparams(q=_tsquery(clauses)))
        .order_by(stories.c.id.desc())
        .limit(limit)
    )
    if before is not None:
        stmt = stmt.where(stories.c.id < before)
    return list(conn.execute(stmt))


def _newest(conn: Connection, before: int | None, limit: int) -> list[Any]:
    stmt = select(*_COLUMNS).order_by(stories.c.id.desc()).limit(limit)
    if before is not None:
        stmt = stmt.where(stories.c.id < before)
    return list(conn.execute(stmt))


def _story(row: Any) -> Story:
    published = row.published_at or row.first_seen_at or datetime.now(timezone.utc)
    return Story(entry_key=str(row.id), title=row.title or "", summary=row.summary or "", url=row.url or "",
                 published=published, source=row.source or "", language=row.language)


def _narrowest(clauses: list[frozenset[tuple[str, bool]]] | None) -> list[frozenset[tuple[str, bool]]] | None:
    """The clauses worth asking the index: up to three without prefixes (rarest first), else the
    rarest one. A prefix expands to every indexed word it starts, which costs more than it narrows;
    the matcher checks the clauses left out."""
    if not clauses:
        return None
    plain = [c for c in clauses if not any(prefix for _, prefix in c)]
    return plain[:3] if plain else clauses[:1]


def compile_search(query: str) -> RuleSet:
    """The query as a one-rule RuleSet over ``SEARCH_FIELDS``; raises ``QuerySyntaxError``."""
    rule = Rule(id="search", name="search", query=query, fields=SEARCH_FIELDS)
    ruleset, problems = build_ruleset([rule])
    if problems:
        parse_query(query)  # raises the syntax error with its offset
        raise QuerySyntaxError(problems[0].message, 0, query)
    return ruleset


def search(
    conn: Connection, query: str, *, before: int | None = None, limit: int = 50,
    candidate_limit: int = 1500, scan_limit: int = 1500, batch: int = 250,
) -> SearchPage:
    """Stories matching ``query`` below id ``before``, newest first, at most ``limit``. Never raises
    for a bad query: the page carries the error and its column."""
    page = SearchPage(query=query)
    try:
        ruleset = compile_search(query)
    except QuerySyntaxError as exc:
        located = exc.with_query(query)
        page.error = located.reason
        page.error_column = located.offset + 1
        return page
    tree = ruleset.rules[0].tree
    clauses = _narrowest(index_clauses(tree, SEARCH_FIELDS, SEARCH_FIELDS))
    page.method = "index" if clauses else "scan"
    page.words = [sorted(w + ("*" if p else "") for w, p in c) for c in clauses or []]
    budget = candidate_limit if clauses else scan_limit
    cursor = before
    while len(page.results) < limit and page.examined < budget:
        n = min(batch, budget - page.examined)
        rows = _candidates(conn, clauses, cursor, n) if clauses else _newest(conn, cursor, n)
        if not rows:
            cursor = None
            break
        for row in rows:
            page.examined += 1
            cursor = row.id
            found = ruleset.match(_story(row))
            if found:
                page.results.append(_result(row, found[0].terms))
                if len(page.results) >= limit:
                    break
        if len(rows) < n and len(page.results) < limit:
            cursor = None  # the store has no more below this
            break
    page.next_before = cursor
    return page


def _result(row: Any, terms: Sequence[str]) -> dict[str, Any]:
    return {
        "id": row.id, "title": row.title, "summary": row.summary, "url": row.url, "source": row.source,
        "language": row.language, "published_at": row.published_at, "first_seen_at": row.first_seen_at,
        "cluster": row.cluster_id if row.cluster_id is not None else -row.id, "terms": list(terms),
    }

"""Query syntax: what parses to what, and what errors say."""

from __future__ import annotations

import pytest

from monitor.errors import ConfigError
from monitor.query import QuerySyntaxError, parse_query
from monitor.query.parser import And, Near, Not, Or, Term


def words(node: Term) -> list[tuple]:
    return [(w.norm, w.exact, w.prefix) for w in node.words]


def test_it_binds_not_then_near_then_and_then_or() -> None:
    tree = parse_query("a b OR c NEAR/2 d NOT e")
    assert isinstance(tree, Or)
    left, right = tree.children
    assert isinstance(left, And) and len(left.children) == 2
    assert isinstance(right, And)
    near, negation = right.children
    assert isinstance(near, Near) and near.distance == 2 and not near.ordered
    assert isinstance(negation, Not)


def test_it_reads_wildcards_exact_case_and_multiword_terms() -> None:
    assert words(parse_query("coordinat*")) == [("coordinat", None, True)]
    assert words(parse_query("=U.S.")) == [("us", "US", False)]
    assert words(parse_query("=US-led")) == [("us", "US", False), ("led", None, False)]
    assert words(parse_query('"=US-led coalit*"')) == [("us", "US", False), ("led", None, False), ("coalit", None, True)]
    assert words(parse_query("Росси*")) == [("росси", None, True)]


def test_it_reads_field_scopes_and_ordered_proximity() -> None:
    tree = parse_query('title:(russia OR "defense ministry") url:reuters')
    scope, url = tree.children
    assert (scope.field, url.field) == ("title", "url") and isinstance(scope.child, Or)
    near = parse_query('(a OR "b c") ONEAR/4 d')
    assert near.ordered and [t.text for t in near.left] == ["a", "b c"]


@pytest.mark.parametrize(
    ("query", "column", "message"),
    [
        ("", 1, "nothing to match"),
        ("a AND", 6, "after AND, found end of query"),
        ("OR a", 1, "before OR"),
        ("a OR OR b", 6, "after OR, found 'OR'"),
        ("(a OR b", 8, "expected ')'"),
        ("a)", 2, "unbalanced ')'"),
        ("a NOT", 6, "after NOT"),
        ('a "b c', 3, "unterminated phrase"),
        ('""', 1, "empty phrase"),
        ("co*rd", 3, "may only end a word"),
        ("a*", 1, "at least 2 letters"),
        ("a NEAR b", 3, "expected NEAR/<words>"),
        ("a near/3 b", 3, "upper-case"),
        ("a NEAR5 b", 3, "expected NEAR/<words>"),
        ("a NEAR/3 b NEAR/3 c", 12, "cannot follow another NEAR"),
        ("(a AND b) NEAR/3 c", 1, "each side of NEAR/3"),
        ("a NEAR/3 NOT b", 10, "after NEAR/3"),
        ("a NEAR/5000 b", 3, "at most"),
        ("body:x", 1, "unknown field 'body:'"),
        ("Title:x", 1, "field names are lower-case"),
        ("title:", 7, "right after title:"),
        ("title:(a OR b) NEAR/4 x", 1, "each side of NEAR/4"),
        ("a = b", 3, "letters or digits"),
        ("(" * 80 + "a" + ")" * 80, 66, "nested too deeply"),
    ],
)
def test_it_explains_syntax_errors_with_the_column(query: str, column: int, message: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(query)
    err = info.value
    assert isinstance(err, ConfigError)
    assert message in err.reason
    [problem] = err.problems
    assert (problem.key, problem.line, problem.column) == ("query", 1, column)
    assert problem.detail.split("\n")[1].index("^") == column - 1 + 4


@pytest.mark.parametrize("query", ["russia and turkey", "not now", "or else", "near Aleppo", "strikes near the border"])
def test_it_treats_lower_case_operator_words_as_terms(query: str) -> None:
    tree = parse_query(query)
    assert isinstance(tree, And) and all(isinstance(c, Term) for c in tree.children)


def test_it_counts_lines_and_columns_within_multiline_queries() -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query("russia\n  AND (x OR\n  )")
    [problem] = info.value.problems
    assert (problem.line, problem.column) == (3, 3)

"""Rule files: keys, types, and errors located in the file (tests/testdata/rules/broken)."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.errors import ConfigError
from monitor.model import Rule
from monitor.query import build_ruleset, compile_rules, load_rule, load_rules

BROKEN = Path(__file__).parent / "testdata" / "rules" / "broken"


def test_it_reports_every_broken_rule_of_a_folder_at_once() -> None:
    rules, problems = load_rules(BROKEN)
    assert [r.id for r in rules] == ["good"]
    broken = {Path(p.file).stem for p in problems}
    assert broken == {p.stem for p in BROKEN.glob("*.toml")} - {"good"}


@pytest.mark.parametrize(
    ("stem", "line", "column", "message", "caret_line"),
    [
        ("unbalanced", 2, 36, "expected ')'", 'query = "Russia AND (US OR Pentagon"'),
        ("multiline", 6, 18, "expected NEAR/<words>", "AND coordinat* NEAR5 strikes"),
        ("literal", 3, 6, "after AND, found 'OR'", "\tAND OR syria'''"),
        ("escapes", 2, 53, "unterminated phrase", r'query = "\u0420'),
    ],
)
def test_it_locates_query_syntax_errors_in_the_rule_file(
    stem: str, line: int, column: int, message: str, caret_line: str
) -> None:
    rule, problems = load_rule(BROKEN / f"{stem}.toml")
    assert rule is None
    [p] = problems
    assert (p.key, p.line, p.column) == ("query", line, column)
    assert message in p.message
    shown, caret = p.detail.split("\n")
    assert caret_line in shown
    assert caret.index("^") == column - 1 + 4  # detail lines are indented by four
    assert str(p).startswith(f"{BROKEN / stem}.toml:{line}:{column}: query: ")


def test_it_points_at_the_column_of_the_error_on_the_offending_line() -> None:
    _, [p] = load_rule(BROKEN / "multiline.toml")
    shown, caret = p.detail.split("\n")
    assert shown[caret.index("^") :].startswith("NEAR5")


@pytest.mark.parametrize(
    ("stem", "expected"),
    [
        ("unknown-key", {("severty", 3, "did you mean 'severity'")}),
        (
            "wrong-types",
            {
                ("digest", 3, "must be true or false"),
                ("fields", 4, "must be a list of strings"),
                ("severity", 5, "must be one of low, normal, high"),
            },
        ),
        ("bad-toml", {(None, 2, "TOML syntax error")}),
    ],
)
def test_it_rejects_unknown_keys_wrong_types_and_bad_toml(stem: str, expected: set) -> None:
    rule, problems = load_rule(BROKEN / f"{stem}.toml")
    assert rule is None
    got = {(p.key, p.line, next(m for _, _, m in expected if m in p.message)) for p in problems}
    assert got == expected


def test_it_reads_every_key_of_a_rule(tmp_path: Path) -> None:
    (tmp_path / "full.toml").write_text(
        'name = "Full"\nquery = "russia"\nfields = ["title", "url"]\nchannel = "#desk"\n'
        'severity = "high"\ndigest = false\nenabled = false\nfeeds = ["a"]\ntags = ["b"]\nlanguages = ["en"]\n',
        encoding="utf-8",
    )
    rule, problems = load_rule(tmp_path / "full.toml")
    assert problems == []
    assert rule == Rule(
        id="full", name="Full", query="russia", fields=("title", "url"), channel="#desk", severity="high",
        digest=False, enabled=False, feeds=("a",), tags=("b",), languages=("en",), path=str(tmp_path / "full.toml"),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('query = "x"\n', "name: required key is missing"),
        ('name = "x"\n', "query: required key is missing"),
        ('name = " "\nquery = "x"\n', "name: must not be empty"),
        ('name = "x"\nquery = "x"\nfields = []\n', "fields: must not be empty"),
        ('name = "x"\nquery = "x"\nfields = ["body"]\n', "unknown field(s) 'body'"),
        ('name = "x"\nquery = "x"\nfeeds = [1]\n', "feeds: must be a list of strings"),
        ('name = "x"\nquery = "x"\n[extra]\na = 1\n', "extra: unknown key"),
        ('name = "x"\nquery = ""\n', "query: nothing to match"),
    ],
)
def test_it_explains_what_is_wrong_with_a_rule(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "r.toml").write_text(text, encoding="utf-8")
    rule, problems = load_rule(tmp_path / "r.toml")
    assert rule is None
    assert any(message in str(p) for p in problems), [str(p) for p in problems]


def test_it_reports_a_missing_folder() -> None:
    rules, [problem] = load_rules(BROKEN / "nowhere")
    assert rules == [] and "folder not found" in problem.message


def test_it_raises_config_error_listing_every_broken_rule_when_compiling() -> None:
    rules = [Rule("a", "A", "russia AND"), Rule("b", "B", "ok"), Rule("c", "C", "(x", fields=("body",))]
    with pytest.raises(ConfigError) as info:
        compile_rules(rules)
    assert [p.file for p in info.value.problems] == ["rule a", "rule c"]
    ruleset, problems = build_ruleset(rules)
    assert [c.rule.id for c in ruleset.rules] == ["b"] and len(problems) == 2


def test_it_rejects_duplicate_rule_ids() -> None:
    _, problems = build_ruleset([Rule("a", "A", "x"), Rule("a", "A2", "y")])
    assert "duplicate rule id 'a'" in problems[0].message

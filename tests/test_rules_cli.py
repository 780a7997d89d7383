"""``monitor rules test``: stories as JSON lines in, matches out."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from monitor.cli.rules import rules
from monitor.query import load_rule

ROOT = Path(__file__).resolve().parent.parent
BROKEN = Path(__file__).parent / "testdata" / "rules" / "broken"
SEED_TITLE = "Russia Said It Coordinated Syrian Airstrikes With US, Pentagon Denies Claim"
LINES = "\n".join(
    [
        json.dumps({"id": "seed", "title": SEED_TITLE}),
        json.dumps({"id": 7, "title": "Ransomware hits hospital", "language": "en"}),
        json.dumps({"id": "quiet", "title": "Nothing to see"}),
    ]
)


def run(args: list[str], stdin: str = "", obj: object = None):
    return CliRunner().invoke(rules, args, input=stdin, obj=obj)


def test_it_prints_one_json_line_per_match() -> None:
    result = run(["--rules", str(ROOT / "rules"), "test", "--json"], LINES)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    seed = lines[0]
    assert {k: seed[k] for k in ("id", "rule", "terms")} == {
        "id": "seed", "rule": "russia-us-syria", "terms": ["Russia", "US", "Pentagon"]
    }
    # a match by example says how similar and to which example; a boolean match has neither key
    examples = load_rule(ROOT / "rules" / "russia-us-syria.toml")[0].examples
    shown = seed["example"].removesuffix(" …")
    assert 0.2 <= seed["similarity"] <= 1 and any(" ".join(e.split()).startswith(shown) for e in examples)
    assert lines[1:] == [{"id": "7", "rule": "cyberattack", "terms": ["Ransomware"]}]


def test_it_prints_a_readable_table_with_terms_marked() -> None:
    result = run(["--rules", str(ROOT / "rules"), "test", "--input", "-"], LINES)
    assert result.exit_code == 0
    assert "seed\trussia-us-syria\t**Russia**, **US**, **Pentagon**" in result.stdout
    assert "similarity 0." in result.stdout
    assert "**Russia** Said It Coordinated Syrian Airstrikes With **US**, **Pentagon** Denies" in result.stdout
    assert "3 stories, 2 matches, 4 rules" in result.stderr


def test_it_reads_stories_from_a_file_and_matches_text_given_inline(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text(LINES, encoding="utf-8")
    result = run(["--rules", str(ROOT / "rules"), "test", "--json", "--input", str(tmp_path / "in.jsonl")])
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 2
    result = run(["--rules", str(ROOT / "rules"), "test", "--json", "--text", "DDoS hits bank", "--text", "calm"])
    assert json.loads(result.stdout) == {"id": "text-1", "rule": "cyberattack", "terms": ["DDoS"]}


def test_it_limits_matching_to_the_rule_files_given() -> None:
    result = run(["test", "--json", str(ROOT / "rules" / "cyberattack.toml")], LINES)
    assert [json.loads(x)["rule"] for x in result.stdout.splitlines()] == ["cyberattack"]


@pytest.mark.parametrize(
    "obj", [{"rules_dir": str(ROOT / "rules")}, type("Settings", (), {"rules_dir": ROOT / "rules"})()]
)
def test_it_takes_the_rules_folder_from_the_parent_command(obj: object) -> None:
    result = run(["--rules", str(BROKEN), "test", "--json"], LINES, obj=obj)
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 2


def test_it_can_be_mounted_on_a_parent_group() -> None:
    @click.group()
    @click.pass_context
    def main(ctx: click.Context) -> None:
        ctx.obj = {"rules_dir": ROOT / "rules"}

    main.add_command(rules)
    result = CliRunner().invoke(main, ["rules", "test", "--json"], input=LINES)
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 2


def test_it_reports_broken_rules_and_exits_1_without_matching() -> None:
    result = run(["--rules", str(BROKEN), "test", "--json"], LINES)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "unbalanced.toml:2:36: query: expected ')'" in result.stderr
    assert "multiline.toml:6:18: query:" in result.stderr


def test_it_reports_bad_lines_by_number_matches_the_rest_and_exits_1() -> None:
    stdin = "\n".join(['{"id": "a", "title": "DDoS"}', "{not json", '{"title": "no id"}', "[1]", '{"id": "b", "title": 3}', '{"id": "c", "title": "ransomware"}'])
    result = run(["--rules", str(ROOT / "rules"), "test", "--json"], stdin)
    assert result.exit_code == 1
    assert [json.loads(x)["id"] for x in result.stdout.splitlines()] == ["a", "c"]
    for n, what in [(2, "not valid JSON"), (3, '"id" is required'), (4, "expected a JSON object"), (5, '"title" must be a string')]:
        assert f"rules test: <stdin>:{n}: {what}" in result.stderr
    assert "4 bad input line(s)" in result.stderr


def test_it_explains_an_unreadable_input_file(tmp_path: Path) -> None:
    result = run(["--rules", str(ROOT / "rules"), "test", "--input", str(tmp_path / "missing.jsonl")])
    assert result.exit_code == 1 and "cannot read" in result.stderr


def test_it_finds_words_inside_sentences_written_without_spaces(tmp_path: Path) -> None:
    (tmp_path / "asia.toml").write_text(
        'name = "Asia"\nquery = \'北京 OR 大阪 OR กรุงเทพ OR 서울 OR "外交部 在"\'\n', encoding="utf-8"
    )
    texts = ["中国外交部在北京表示", "大阪府知事は会見で", "ฝนตกหนักในกรุงเทพวันนี้", "서울에서 열린 회의", "上海市政府表示", "東京都知事は会見で"]
    args = ["--rules", str(tmp_path), "test", "--json"]
    for text in texts:
        args += ["--text", text]
    result = run(args)
    assert result.exit_code == 0, result.output
    found = {json.loads(line)["id"]: json.loads(line)["terms"] for line in result.stdout.splitlines()}
    assert found == {
        "text-1": ["北京"],
        "text-2": ["大阪"],
        "text-3": ["กรุงเทพ"],
        "text-4": ["서울"],
    }

"""Rules by example: the rule keys, both backends, and the seed rule on its labelled set.

The semantic tests need the [semantic] extra and skip with the reason shown
without it. Figures on the held-back third: ``bench/eval_examples.py``.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from monitor.model import Rule, Story
from monitor.query import Similarity, build_ruleset, compile_rules, load_rule
from monitor.similar import BuiltinBackend, Examples, Frequencies, semantic_unavailable, terms

ROOT = Path(__file__).resolve().parent.parent
SEED_SET = ROOT / "tests" / "testdata" / "rules" / "seed_set" / "stories.jsonl"
WHEN = datetime(2026, 1, 1, tzinfo=timezone.utc)
semantic = pytest.mark.skipif(semantic_unavailable() is not None, reason=f"semantic extra: {semantic_unavailable()}")


def story(title: str, summary: str = "", language: str | None = None) -> Story:
    return Story("k", title, summary, "", WHEN, "Example", language=language)


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "r.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_terms_fold_and_cut_words_alike_in_english_and_russian() -> None:
    assert terms("Coordinated strikes, the coordination") == ["coordi", "strike", "coordi"]
    assert terms("совместные удары, совместных") == ["совмес", "удары", "совмес"]


def test_builtin_cosine_prefers_the_paraphrase_and_respects_counter_examples() -> None:
    backend = BuiltinBackend(Frequencies.background())
    ex = Examples(backend, ["Russian and US jets bombed militants together"], ["Russia and the US argue at the UN"], 0.1)
    near = ex.nearest(backend.vector("Russia says US jets and its own bombed the militants together"))
    assert near.similar and near.score > 0.3 and near.example.startswith("Russian and US")
    far = ex.nearest(backend.vector("Russia and the US argue again at the UN"))
    assert not far.similar and far.counter > far.score


def _one_word_apart(count: int) -> tuple[list[str], list[str]]:
    """Examples and counter-examples told apart by one word only ("together"):
    the rest of each text is filler that both sides share."""
    filler = ["in Idlib", "near Raqqa", "over Palmyra", "at Deir ez-Zor", "around Aleppo", "by the Euphrates"]
    verbs = ["bombed", "struck", "hit", "raided", "shelled"]
    pos = [f"Russian and US jets {verbs[i % 5]} militants together {filler[i % 6]} on day {i}" for i in range(count)]
    neg = [f"Russian and US jets {verbs[i % 5]} militants {filler[(i + 1) % 6]} on day {i}" for i in range(count)]
    return pos, neg


def test_many_labelled_examples_learn_the_word_that_tells_the_sides_apart() -> None:
    backend = BuiltinBackend(Frequencies.background())
    pos, neg = _one_word_apart(30)
    learned = Examples(backend, pos, neg, 0.05)
    assert learned.learned is not None  # 20 and more of each side: the rule learns by default
    nearest = Examples(backend, pos, neg, 0.05, learn=False)
    assert nearest.learned is None
    # filler of a counter-example, with the word that makes it a joint strike
    text = backend.vector("Jets of Russia and the US hit militants together by the Euphrates")
    got = learned.nearest(text)
    assert got.similar and got.probability is not None and got.probability >= 0.5
    alone = learned.nearest(backend.vector("Jets of Russia and the US hit militants by the Euphrates"))
    assert not alone.similar and alone.probability is not None and alone.probability < 0.5
    few = Examples(backend, pos[:5], neg[:5], 0.05)
    assert few.learned is None and few.nearest(text).probability is None


def test_the_decide_key_is_checked(tmp_path: Path) -> None:
    rule, problems = load_rule(write(tmp_path, 'name = "x"\nexamples = ["a b"]\ncounter_examples = ["c"]\ndecide = "nearest"\n'))
    assert problems == [] and rule is not None and rule.decide == "nearest"
    _, problems = load_rule(write(tmp_path, 'name = "x"\nexamples = ["a b"]\ndecide = "vote"\n'))
    said = {p.key: p.message for p in problems}
    assert said == {"decide": "must be one of nearest, learned; got 'vote'"}
    _, problems = load_rule(write(tmp_path, 'name = "x"\nexamples = ["a b"]\ndecide = "learned"\n'))
    assert [(p.key, p.line) for p in problems] == [("decide", 3)] and "counter_examples" in problems[0].message
    _, problems = load_rule(write(tmp_path, 'name = "x"\nquery = "a"\ndecide = "learned"\n'))
    assert ("decide", "needs examples (or example_stories) to compare stories with") in [(p.key, p.message) for p in problems]
    pos, neg = _one_word_apart(30)
    rs = compile_rules([Rule("l", "l", "", examples=tuple(pos[:3]), counter_examples=tuple(neg[:3]), decide="learned")],
                       similarity=Similarity(semantic=False))
    assert rs.rules[0].examples is not None and rs.rules[0].examples.learned is not None


def test_loader_reads_and_checks_the_example_keys(tmp_path: Path) -> None:
    rule, problems = load_rule(write(tmp_path, '''name = "x"
examples = ["a b c"]
counter_examples = ["d e"]
example_stories = [12, "13"]
threshold = { builtin = 0.3, semantic = 0.5 }
similarity = "semantic"
'''))
    assert problems == [] and rule is not None
    assert rule.query == "" and rule.example_stories == ("12", "13")
    assert dict(rule.threshold) == {"builtin": 0.3, "semantic": 0.5}
    _, problems = load_rule(write(tmp_path, '''name = "x"
query = "a"
threshold = 2
similarity = "fuzzy"
prefilter = "b NEAR5 c"
'''))
    said = [(p.key, p.line, p.message) for p in problems]
    assert ("threshold", 3, "needs examples (or example_stories) to compare stories with") in said
    assert ("similarity", 4, "needs examples (or example_stories) to compare stories with") in said
    assert any(k == "prefilter" and line == 5 for k, line, _ in said)
    _, problems = load_rule(write(tmp_path, 'name = "x"\nexamples = ["", "ok"]\nthreshold = 0\nsimilarity = "fuzzy"\n'))
    said = {p.key: p.message for p in problems}
    assert said["examples"] == "entry 1 is empty"
    assert "above 0" in said["threshold"] and "builtin, semantic" in said["similarity"]
    _, problems = load_rule(write(tmp_path, 'name = "x"\n'))
    assert [p.key for p in problems] == ["query"]


def test_query_and_similar_examples_alone_and_prefilter() -> None:
    base = dict(examples=("Russian and US jets bombed militants together",), counter_examples=("talks at the UN",))
    gated = Rule("g", "g", "Russia*", fields=("title",), **base)
    alone = Rule("a", "a", "", fields=("title",), **base)
    either = Rule("e", "e", "Pentagon", fields=("title",), prefilter="Russia*", **base)
    rs = compile_rules([gated, alone, either], similarity=Similarity(semantic=False))
    said = {m.rule_id: m for m in rs.match(story("Moscow says its jets and US jets bombed militants together"))}
    assert set(said) == {"a"} and said["a"].similarity and said["a"].terms == ()
    said = {m.rule_id: m for m in rs.match(story("Russia says its jets and US jets bombed militants together"))}
    assert set(said) == {"g", "a", "e"} and said["g"].terms == ("Russia",)
    said = {m.rule_id: m for m in rs.match(story("Pentagon budget hearing"))}
    assert set(said) == {"e"} and said["e"].similarity is None  # the query alone, no similarity needed
    assert rs.match_exhaustive(story("Russia holds talks at the UN")) == rs.match(story("Russia holds talks at the UN")) == []


def test_semantic_rule_falls_back_visibly_without_the_backend() -> None:
    rule = Rule("s", "s", "", examples=("a joint strike",), similarity="semantic")
    rs, problems = build_ruleset([rule], similarity=Similarity(semantic=False))
    assert problems == [] and [n.key for n in rs.notes] == ["similarity"]
    assert "using builtin" in rs.notes[0].message
    assert rs.rules[0].examples is not None and rs.rules[0].examples.backend.name == "builtin"


def test_example_stories_without_a_database_are_noted_and_never_match() -> None:
    rule = Rule("s", "s", "x", example_stories=("5",))
    rs, _ = build_ruleset([rule], similarity=Similarity(semantic=False))
    assert "no database" in rs.notes[0].message and rs.match(story("x")) == []
    sim = Similarity(semantic=False, story_texts=lambda ids: {"5": "x marks the spot"})
    rs, _ = build_ruleset([rule], similarity=sim)
    assert rs.notes == () and rs.match(story("x marks the spot"))[0].similarity == 1.0


def _seed(name: str) -> list[dict]:
    return [json.loads(line) for line in (SEED_SET.parent / name).read_text(encoding="utf-8").splitlines()]


def _scores(backend: str, name: str) -> tuple[float, float, list[dict]]:
    rule, problems = load_rule(ROOT / "rules" / "russia-us-syria.toml")
    assert problems == [] and rule is not None
    from dataclasses import replace

    rs = compile_rules([replace(rule, similarity=backend)], similarity=Similarity(semantic=backend == "semantic"))
    tp = fp = fn = 0
    caught_ru = []
    for r in _seed(name):
        said = bool(rs.match(story(r["title"], r["summary"], r["language"])))
        truth = r["label"] == "match"
        tp, fp, fn = tp + (said and truth), fp + (said and not truth), fn + (truth and not said)
        if said and truth and r["language"] == "ru":
            caught_ru.append(r)
    return tp / (tp + fp), tp / (tp + fn), caught_ru


def test_the_seed_rule_holds_every_labelled_tuning_story_as_an_example_or_counter_example() -> None:
    rule, _ = load_rule(ROOT / "rules" / "russia-us-syria.toml")
    assert rule is not None
    for name in ("stories.jsonl", "fresh.jsonl", "fresh2.jsonl", "fresh3.jsonl", "train4.jsonl"):
        for r in _seed(name):
            text = f"{r['title']}\n{r['summary']}".strip()
            assert text in (rule.examples if r["label"] == "match" else rule.counter_examples), r["id"]
    held_out = {f"{r['title']}\n{r['summary']}".strip() for r in _seed("fresh5.jsonl")}
    assert not held_out & set(rule.examples + rule.counter_examples)  # bench/seed_examples.py never writes them


def test_the_seed_rule_on_its_held_out_set_with_the_builtin_backend() -> None:
    # measured once, never tuned on: see bench/eval_examples.py and the figures in rules/README.md
    precision, recall, caught_ru = _scores("builtin", "fresh5.jsonl")
    assert precision >= 0.95 and recall >= 0.84, (precision, recall)
    assert len(caught_ru) >= 9, len(caught_ru)  # of the set's 10 Russian-language reports


@pytest.mark.semantic
@pytest.mark.timeout(900)
@semantic
def test_the_seed_rule_with_the_semantic_backend() -> None:
    precision, recall, caught_ru = _scores("semantic", "fresh5.jsonl")
    assert precision >= 0.95 and recall >= 0.85 and len(caught_ru) >= 9, (precision, recall, len(caught_ru))

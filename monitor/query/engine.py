"""Compiled rules and matching: the ``match`` step of the pipeline.

``build_ruleset(rules)`` compiles every rule once (query tree, predicate,
presearch anchors) and reports the broken ones; ``compile_rules(rules)`` does
the same but raises ``ConfigError`` listing every problem. ``match(story,
ruleset)`` (or ``ruleset.match(story)``) is pure: it tokenizes each field of
the story once, asks the presearch index for candidate rules, evaluates only
those, and returns a ``RuleMatch`` per matching enabled rule, in rule order.

A rule with examples (``monitor.query.examples``) is judged by similarity
only where its boolean part let the story through: its ``query`` (query AND
similar), or its ``prefilter`` (query OR prefilter AND similar), or every
story for a rule of examples alone. A story is embedded at most once per
backend per ``match`` call, whatever the number of such rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from monitor.errors import ConfigError, Problem
from monitor.model import Rule, RuleMatch, Story
from monitor.query.errors import QuerySyntaxError
from monitor.query.evaluate import (
    Doc,
    Predicate,
    compile_query,
    fields_of,
    matched_terms,
)
from monitor.query.lexer import FIELDS
from monitor.query.examples import Similarity, compile_examples, similarity_text
from monitor.query.parser import Node, Or, parse_query
from monitor.similar import Examples, first_words
from monitor.query.presearch import (
    Anchor,
    PresearchIndex,
    anchors,
    rule_set_shares,
    word_filters,
)

__all__ = ["CompiledRule", "RuleSet", "build_ruleset", "compile_rules", "match", "story_texts"]


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule ready to evaluate: its tree, predicate and presearch anchors
    (None: evaluated against every story)."""

    rule: Rule
    tree: Node
    predicate: Predicate
    anchors: frozenset[Anchor] | None
    languages: tuple[str, ...]
    limited: bool  # the rule has feed, tag or language limits
    filters: tuple[frozenset[str], ...] = ()  # presearch's second pass (``presearch.word_filters``)
    examples: Examples | None = None  # the rule's examples, embedded once
    strict: Predicate | None = None  # with a prefilter: the query, which matches without similarity
    by_example: bool = False  # the rule is judged by examples (never matches when they are missing)

    def admits(self, story: Story) -> bool:
        """Whether the rule's feed, tag and language limits let ``story`` through.

        A rule limited to some languages never matches a story whose language
        is unknown; ``"en"`` admits ``en``, ``en-US`` and ``en_GB``.
        """
        rule = self.rule
        if rule.feeds and story.feed not in rule.feeds:
            return False
        if rule.tags and not set(rule.tags).intersection(story.feed_tags):
            return False
        if self.languages:
            lang = (story.language or "").strip().lower().replace("_", "-")
            if not any(lang == want or lang.startswith(want + "-") for want in self.languages):
                return False
        return True

    def evaluate(self, story: Story, doc: Doc, vectors: dict[str, object] | None = None) -> RuleMatch | None:
        """The match of this rule on ``story`` (seen as ``doc``), or None."""
        if not self.predicate(doc):
            return None
        return self.explain(story, doc, vectors)

    def explain(self, story: Story, doc: Doc, vectors: dict[str, object] | None = None) -> RuleMatch | None:
        """The match of a rule whose predicate holds on ``doc``, with the
        matched terms (and, judged by examples, the similarity and nearest
        example), or None when its limits keep ``story`` out or it is not
        similar enough. ``vectors`` caches the story's vector per backend."""
        if self.limited and not self.admits(story):
            return None
        if not self.by_example or (self.strict is not None and self.strict(doc)):
            return RuleMatch(self.rule.id, matched_terms(self.tree, self.rule.fields, doc))
        if self.examples is None:
            return None
        near = self.nearest(story, vectors)
        if not near.similar:
            return None
        return RuleMatch(
            self.rule.id, matched_terms(self.tree, self.rule.fields, doc), round(near.score, 3),
            first_words(near.example),
        )

    def nearest(self, story: Story, vectors: dict[str, object] | None = None):  # type: ignore[no-untyped-def]
        """How close ``story`` is to this rule's examples (which must exist)."""
        assert self.examples is not None
        backend = self.examples.backend
        if vectors is None:
            vectors = {}
        vector = vectors.get(backend.name)
        if vector is None:
            vector = vectors[backend.name] = backend.row(backend.embed([similarity_text(story)]), 0)
        return self.examples.nearest(vector)


class RuleSet:
    """Every compiled rule plus the presearch index over the enabled ones.

    Built once at start-up and then only read, so one RuleSet may serve any
    number of threads.
    """

    def __init__(self, compiled: Iterable[CompiledRule], notes: Iterable[Problem] = ()) -> None:
        self.rules: tuple[CompiledRule, ...] = tuple(compiled)
        #: Warnings from compiling examples (a backend fallback, missing example stories).
        self.notes: tuple[Problem, ...] = tuple(notes)
        enabled = [(i, c.anchors) for i, c in enumerate(self.rules) if c.rule.enabled]
        self._enabled = tuple(i for i, _ in enabled)
        self._predicates = tuple(c.predicate for c in self.rules)
        self.index = PresearchIndex(enabled, {i: self.rules[i].filters for i, _ in enabled})
        used: set[str] = set()
        for i, found in enabled:
            if found is not None:
                used |= fields_of(self.rules[i].tree, self.rules[i].rule.fields)
        self._index_fields = tuple(f for f in FIELDS if f in used)

    def __len__(self) -> int:
        return len(self.rules)

    def candidates(self, story: Story, doc: Doc | None = None) -> list[int]:
        """Numbers of the enabled rules presearch picks for ``story``, ascending."""
        if doc is None:
            doc = Doc(story_texts(story))
        return sorted(self.index.candidates(doc[self._index_fields]))

    def match(self, story: Story) -> list[RuleMatch]:
        """Matches of ``story``, evaluating only the presearch candidates."""
        doc = Doc(story_texts(story))
        predicates = self._predicates
        out = []
        vectors: dict[str, object] = {}
        for i in self.candidates(story, doc):
            if predicates[i](doc):
                found = self.rules[i].explain(story, doc, vectors)
                if found is not None:
                    out.append(found)
        return out

    def match_exhaustive(self, story: Story) -> list[RuleMatch]:
        """Matches of ``story``, evaluating every enabled rule (no presearch).

        Gives the same result as ``match``; kept as the reference for tests
        and benchmarks.
        """
        doc = Doc(story_texts(story))
        out = []
        vectors: dict[str, object] = {}
        for i in self._enabled:
            found = self.rules[i].evaluate(story, doc, vectors)
            if found is not None:
                out.append(found)
        return out


def story_texts(story: Story) -> dict[str, str]:
    """The searchable fields of a story, by name."""
    return {
        "title": story.title or "",
        "summary": story.summary or "",
        "content": story.content or "",
        "source": story.source or "",
        "url": story.url or "",
    }


def _always(doc: Doc) -> bool:
    return True


def _trees(rule: Rule) -> tuple[Node | None, Node | None]:
    """The rule's parsed query and prefilter (None where empty)."""
    query = parse_query(rule.query) if rule.query.strip() else None
    prefilter = parse_query(rule.prefilter) if rule.prefilter.strip() else None
    return query, prefilter


def compile_rule(
    rule: Rule,
    stats: Mapping[str, float] | None = None,
    tree: tuple[Node | None, Node | None] | Node | None = None,
    similarity: Similarity | None = None,
    notes: list[Problem] | None = None,
) -> CompiledRule:
    """One rule compiled (``tree``: its query, or (query, prefilter), already
    parsed). Raises ``QuerySyntaxError`` for a bad query and ``ConfigError``
    for unknown fields (problems name ``rule.path`` or ``rule <id>``).
    Example notes (a backend fallback) are appended to ``notes``."""
    _check_fields(rule)
    if tree is None:
        query, prefilter = _trees(rule)
    elif isinstance(tree, tuple):
        query, prefilter = tree
    else:
        query, prefilter = tree, (parse_query(rule.prefilter) if rule.prefilter.strip() else None)
    by_example = bool(rule.examples or rule.example_stories)
    if not by_example:
        prefilter = None
    examples, found_notes = compile_examples(rule, similarity or Similarity()) if by_example else (None, [])
    if notes is not None:
        notes.extend(found_notes)
    whole = Or((query, prefilter)) if query is not None and prefilter is not None else (query or prefilter)
    languages = tuple(lang.strip().lower().replace("_", "-") for lang in rule.languages)
    limited = bool(rule.feeds or rule.tags or rule.languages)
    if whole is None:  # examples alone: every story is compared with them
        return CompiledRule(rule, Or(()), _always, None, languages, limited, (), examples, None, True)
    found = anchors(whole, stats)
    strict = compile_query(query, rule.fields) if query is not None and prefilter is not None else None
    return CompiledRule(
        rule, whole, compile_query(whole, rule.fields), found[0] if found else None, languages, limited,
        word_filters(whole, stats), examples, strict, by_example,
    )


def _check_fields(rule: Rule) -> None:
    """Raises ``ConfigError`` unless the rule names one or more known fields."""
    bad = [f for f in rule.fields if f not in FIELDS]
    if bad or not rule.fields:
        what = f"unknown field(s) {', '.join(map(repr, bad))}" if bad else "no fields"
        raise ConfigError(
            [Problem(rule.path or f"rule {rule.id}", f"{what}; fields are {', '.join(FIELDS)}", key="fields")]
        )


def build_ruleset(
    rules: Iterable[Rule], stats: Mapping[str, float] | None = None, similarity: Similarity | None = None
) -> tuple[RuleSet, list[Problem]]:
    """A RuleSet of every rule that compiles, and a Problem for each that does not.

    ``stats`` optionally maps folded words to the share of stories that
    contain them, to choose better presearch anchors; without it the shares
    are estimated from the words and how many rules name each
    (``presearch.rule_set_shares``). Either way the matches are the same.
    ``similarity`` names the backends for rules with examples (default:
    builtin over the shipped background corpus, semantic when installed);
    its notes (warnings) are in ``RuleSet.notes``.
    """
    parsed: list[tuple[Rule, tuple[Node | None, Node | None]]] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for rule in rules:
        where = rule.path or f"rule {rule.id}"
        if rule.id in seen:
            problems.append(Problem(where, f"rules: duplicate rule id {rule.id!r}"))
            continue
        seen.add(rule.id)
        try:
            _check_fields(rule)
            parsed.append((rule, _trees(rule)))
        except QuerySyntaxError as exc:
            problems.append(exc.problem(where))
        except ConfigError as exc:
            problems.extend(exc.problems)
    if stats is None:
        stats = rule_set_shares(t for _, trees in parsed for t in trees if t is not None)
    notes: list[Problem] = []
    compiled = [compile_rule(rule, stats, trees, similarity, notes) for rule, trees in parsed]
    return RuleSet(compiled, notes), problems


def compile_rules(
    rules: Iterable[Rule], stats: Mapping[str, float] | None = None, similarity: Similarity | None = None
) -> RuleSet:
    """A RuleSet of ``rules``; raises ``ConfigError`` listing every broken rule."""
    ruleset, problems = build_ruleset(rules, stats, similarity)
    if problems:
        raise ConfigError(problems)
    return ruleset


def match(story: Story, ruleset: RuleSet) -> list[RuleMatch]:
    """The rules of ``ruleset`` that ``story`` matches, with the matched terms.

    Pure: no I/O, no clock. Disabled rules never match.
    """
    return ruleset.match(story)

"""Rules by example: a rule's examples compiled against a similarity backend.

``Similarity`` is built at the edge (CLI, service) and handed to
``build_ruleset``: it names the document frequencies for the built-in
backend (stored stories, else the shipped background corpus), whether the
semantic backend may be used, and how to read the text of stored stories
named by ``example_stories``. ``compile_examples`` embeds a rule's examples
once; a rule that asks for the semantic backend where it is not installed
gets the built-in one and a note saying so (``monitor check`` prints it as a
warning; the service logs it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from monitor.errors import Problem
from monitor.model import Rule, Story
from monitor.similar import (
    Backend,
    Blended,
    BuiltinBackend,
    Examples,
    Frequencies,
    semantic_unavailable,
    shared_semantic,
)

__all__ = ["DEFAULT_THRESHOLDS", "Similarity", "compile_examples", "similarity_text", "threshold_for"]

#: The cosine a story needs when a rule sets no threshold, by backend
#: (tuned on the seed rule's labelled set, ``tests/testdata/rules/seed_set``).
DEFAULT_THRESHOLDS: dict[str, float] = {"builtin": 0.2, "semantic": 0.3}

StoryTexts = Callable[[Sequence[str]], Mapping[str, str]]


@dataclass
class Similarity:
    """The similarity backends available to a rule set.

    ``frequencies``: document frequencies for the built-in backend (None:
    the background corpus shipped with the package). ``semantic``: allow the
    semantic backend when installed (the CLI and service turn it on unless
    MONITOR_SIMILARITY=builtin; off, the default, every rule gets the
    built-in one, with a note for those that asked for semantic). ``story_texts``: maps stored story
    ids to their text, for ``example_stories`` (None: there is no database;
    such examples are skipped with a note).
    """

    frequencies: Frequencies | None = None
    semantic: bool = False
    story_texts: StoryTexts | None = None
    _builtin: BuiltinBackend | None = field(default=None, init=False, repr=False)
    _semantic: Blended | None = field(default=None, init=False, repr=False)

    def builtin(self) -> BuiltinBackend:
        if self._builtin is None:
            self._builtin = BuiltinBackend(self.frequencies or _background())
        return self._builtin

    def backend(self, name: str) -> tuple[Backend, str | None]:
        """The backend for a rule asking for ``name``, and a note when it is another one."""
        if name == "semantic":
            why = semantic_unavailable() if self.semantic else "the semantic backend is off (MONITOR_SIMILARITY=builtin)"
            if why is None:
                if self._semantic is None:
                    self._semantic = Blended(shared_semantic(), self.builtin())
                return self._semantic, None
            return self.builtin(), f"asks for the semantic backend, but {why}: using builtin"
        return self.builtin(), None


_BACKGROUND: Frequencies | None = None


def _background() -> Frequencies:
    global _BACKGROUND
    if _BACKGROUND is None:
        _BACKGROUND = Frequencies.background()
    return _BACKGROUND


def threshold_for(rule: Rule, backend: str) -> float:
    """The cosine ``rule`` needs with ``backend``: its own for that backend,
    else its plain number, else the backend's default."""
    chosen = dict(rule.threshold)
    return chosen.get(backend, chosen.get("*", DEFAULT_THRESHOLDS[backend]))


def similarity_text(story: Story) -> str:
    """What similarity looks at: title and summary (the content's first 200
    words when both are empty)."""
    text = f"{story.title}\n{story.summary}".strip()
    if not text and story.content:
        text = " ".join(story.content.split()[:200])
    return text


def compile_examples(rule: Rule, similarity: Similarity) -> tuple[Examples | None, list[Problem]]:
    """The rule's examples embedded by its backend (None for a rule without
    examples), and notes: a backend fallback, example stories not found."""
    if not rule.examples and not rule.example_stories:
        return None, []
    where = rule.path or f"rule {rule.id}"
    notes: list[Problem] = []
    backend, note = similarity.backend(rule.similarity)
    if note:
        notes.append(Problem(where, note, key="similarity"))
    texts = list(rule.examples)
    if rule.example_stories:
        if similarity.story_texts is None:
            notes.append(Problem(where, "no database here: example_stories are not used", key="example_stories"))
        else:
            found = similarity.story_texts(rule.example_stories)
            missing = [i for i in rule.example_stories if i not in found]
            if missing:
                notes.append(Problem(where, f"stories not found: {', '.join(missing)}", key="example_stories"))
            texts += [found[i] for i in rule.example_stories if i in found]
    if not texts:
        notes.append(Problem(where, "no example text to compare with: the rule never matches", key="examples"))
        return None, notes
    learn = {"learned": True, "nearest": False}.get(rule.decide)
    return Examples(backend, texts, rule.counter_examples, threshold_for(rule, backend.name), learn), notes

"""Near-duplicate fingerprints: MinHash signatures over word shingles, with LSH band keys.

A wire story is carried by dozens of outlets within hours, each with its own
headline, dateline, trimmed paragraphs or an "Also read:" footer. This module
turns a story's title and summary into a ``Fingerprint`` whose signature
estimates the Jaccard similarity of the two texts' word-shingle sets (by
default single content words: stop words dropped), and whose
band keys let the database find candidate near-copies with an indexed equality
lookup (two stories are candidates when they share at least one band key).

Everything here is pure and deterministic across processes, machines and
library versions: shingles are hashed with BLAKE2b (never Python's ``hash()``),
and the permutation family is derived from the seed with SHA-256 and applied
with fixed-width numpy integer arithmetic. Signatures stored by one worker can
be compared by any other, after restarts and upgrades, as long as the seed,
``num_perm`` and ``shingle_size`` stay the same (``to_bytes`` records them) and
so do the text normalization, ``STOPWORDS`` and the boilerplate patterns (a
test pins reference values: changing any of them means re-fingerprinting).

Words come from the one tokenizer, ``monitor.text.words`` (marks kept in
Indic scripts, bigrams in Chinese, Japanese and Korean, ICU word breaks in
Thai). The MinHash signature only *finds* candidates; the decision
(``Fingerprinter.same_story``) is made on exact sets stored beside it: the
sorted 32-bit hashes of the content words, of the title's words and of the
numbers (title and whole text), so an estimate can never drift across the
threshold and a different number in a title is a different story.

Parameters were chosen from ``bench/bench_neardup.py`` on the tune split of
``tests/testdata/neardup_real/`` and on ``tests/testdata/neardup/``; see the
READMEs of those sets for the measured figures.
"""

from __future__ import annotations

import hashlib
import re
import struct
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from monitor.text import WORD, tokens, unspaced, words

__all__ = [
    "DEFAULT_BANDS",
    "DEFAULT_NUM_PERM",
    "DEFAULT_SHINGLE_SIZE",
    "DEFAULT_THRESHOLD",
    "DEFAULT_HIGH",
    "FINGERPRINT_VERSION",
    "DEFAULT_LOW",
    "DEFAULT_RECENT_HOURS",
    "MIN_SHINGLES",
    "STOPWORDS",
    "TEMPLATE_TITLE",
    "TITLE_EDGE",
    "OWN_SUBJECT",
    "FIGURES_APART",
    "identifiers",
    "Fingerprint",
    "Fingerprinter",
    "content_words",
    "normalize_words",
    "shingles",
    "strip_boilerplate",
    "title_edges",
]

# Chosen from bench/bench_neardup.py on tests/testdata/neardup (see its README):
# content words (shingle size 1, stop words dropped) separate rewritten copies
# from hard negatives far better than 2- or 3-word shingles, which lose the
# translated-and-back rewrites. The bands only find candidates (the decision is
# exact, see same_story), so they are cut for the lowest similarity the
# decision accepts: 64 permutations in 32 bands of 2 rows find a pair of
# Jaccard 0.25 with probability 0.87 (16 bands of 4 rows: 0.06). Replaying
# the labelled real-looking set, 16x4 joined 8% of its same-report pairs,
# 32x2 joins 47% (tune split).
DEFAULT_NUM_PERM = 64
DEFAULT_BANDS = 32
DEFAULT_SHINGLE_SIZE = 1
DEFAULT_THRESHOLD = 0.5

# The decision (``Fingerprinter.same_story``), chosen on the tune split of
# tests/testdata/neardup_real (bench/bench_neardup.py): containment of the
# content-word sets of at least HIGH at any distance in time, or LOW within
# RECENT_HOURS of the cluster's first story; titles of one template
# (Jaccard >= TEMPLATE_TITLE) with a swapped word apart.
DEFAULT_HIGH = 0.75
DEFAULT_LOW = 0.25
DEFAULT_RECENT_HOURS = 3.0
TEMPLATE_TITLE = 0.5
MIN_SHARED_PAIRS = 3  # pairs of consecutive content words the two must share
SAME_DAY_HOURS = 24.0  # past a day apart, only a near-verbatim copy joins
TEMPLATE_COPY = 0.95  # bodies this alike are one copy, whatever their titles

MIN_SHINGLES = 12
"""Fewer distinct shingles than this (12 content words; headlines in the labelled
set have 4-12, median 8) is too little text to call two stories copies on the
fingerprint alone: ``Fingerprint.reliable`` is False and ``is_near_duplicate``
answers False. On the labelled set, headlines alone reach only 0.95 precision
at the threshold. Callers should fall back to exact title or URL checks."""

FINGERPRINT_VERSION = _FORMAT_VERSION = 3  # stored beside each fingerprint (stories.fingerprint_version)
_READABLE = {2: struct.Struct("<HHHHH"), 3: struct.Struct("<HHHHHHH")}  # lengths of the hash sets, by format
_HEADER = struct.Struct("<BHHHIB")  # version, num_perm, bands, shingle_size, shingle_count, seed
_SETS = _READABLE[_FORMAT_VERSION]
TITLE_EDGE = 5
"""Titles written without spaces (Chinese, Japanese, Korean, Thai) that begin
or end with the same ``TITLE_EDGE`` letters (digits aside) are one template
("…省原副省长吴建平受贿案一审宣判"): as bigrams a swapped name changes too many
of their words for the word-level template rule to see it."""
FIGURES_APART = 1.5
"""Two stories whose own figures (numbers and identifiers in either, each
having some) outnumber this many times the figures they share are two
reports: chosen on the tune, holdout, fresh and fresh2 splits of
``tests/testdata/neardup_real`` (1 gave fewer merges and less recall, 2 the
reverse; see its README)."""
OWN_SUBJECT = 2
"""Two stories are about two subjects when each title has at least this many
words (of three letters or more, no digits) that its own summary repeats
and the other story never uses: "Coventry go top … win over Millwall" and
"Middlesbrough go second … win over Stoke", one template, two matches."""
_EMPTY_SLOT = 0xFFFFFFFF  # the signature value of a text with no shingles

# Boilerplate that outlets add around the same wire copy. Only the edges of the
# summary are touched; the body is never rewritten.
_DATELINE = re.compile(
    r"""^\s*(?:
        (?:[A-Z][A-Z'’.-]+(?:[ /][A-Z][A-Z'’.-]+)*(?:,[^()\n]{0,30}?)?\s*)?   # WASHINGTON, June 12
        \([A-Z][A-Za-z .&'’/-]{0,30}\)\s*[-–—:]+\s*                          # (Reuters) -
      | [A-Z][A-Z'’.-]+(?:[ /][A-Z][A-Z'’.-]+)*\s*[-–—]+\s+                   # MOSCOW --
      | [А-ЯЁ][А-ЯЁ-]+,[^/\n]{0,30}/[^/\n]{2,30}/\.?\s*                       # МОСКВА, 25 октября. /ТАСС/.
    )""",
    re.VERBOSE,
)
_FOOTER = re.compile(
    r"\s*(?:also\s+read|read\s+more|read\s+also|related|see\s+also|liked\s+this\s+story|"
    r"читайте\s+также|смотрите\s+также)\s*[:?!-].*\Z",
    re.IGNORECASE | re.DOTALL,
)
# Every _FOOTER match holds one of these words, lower-cased, unless the text has a character that
# the regex's IGNORECASE takes for one of their letters while str.lower() does not give that letter
# (re's extra cases: dotless i, long s, Cyrillic small letters narrow o, wide es, tall te; and
# İ, whose lower() is two characters). Searching for them first skips the slow regex on most texts.
_FOOTER_WORDS = ("also", "read", "related", "liked", "читайте", "смотрите")
_FOOTER_CASE_EXTRAS = "İıſᲂᲃᲄᲅ"
_APOSTROPHES = re.compile(r"[’'ʼ`´]")
_ASCII_DIGIT = re.compile(r"[0-9]")

STOPWORDS: frozenset[str] = frozenset(
    # English function words and newsroom verbs of attribution, then Russian
    # prepositions and conjunctions: frequent everywhere, so they make unrelated
    # stories look alike and copies no more alike. Compared after normalization.
    """a an the of in on at to for from by with and or but is are was were be been being has had have
    it its that this these those as after before said says say will would could should their his her
    they he she we you which who whom not no up out over than more about into also there them
    в во на и с со по за не что о об для из к ко от до а но как это его ее их же ли бы же у""".split()
)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """A story's MinHash signature, its LSH band keys, and the exact sets the decision is made on.

    ``signature`` holds ``num_perm`` unsigned 32-bit values. ``band_count`` is
    the number of LSH bands (0 when the text had no words at all: such a story
    must never be a candidate for anything). ``bands`` holds one key per band,
    each in ``0 .. 2**63 - 1`` so it fits a PostgreSQL BIGINT; it is derived
    from the signature on first use and kept (a fingerprint read back only to
    be compared never pays for it). ``shingle_count`` is the number of
    distinct shingles; below ``MIN_SHINGLES`` the fingerprint is not
    ``reliable``.

    ``words``, ``title`` and ``numbers``, ``all_numbers`` are sorted tuples of
    distinct 32-bit hashes: of the content words of title and summary, of the
    title's content words, of the numbers and identifiers (tokens with a
    digit: ``3``, ``12``, ``2024``, ``v2``) in the title and in the whole text,
    and ``pairs`` of the pairs of consecutive content words (title and summary
    apart): what two texts written from one copy share and two texts that
    merely use one vocabulary do not. Each has a frozenset twin made once at
    construction (``word_set``, ``title_set``, ``number_set``,
    ``all_number_set``, ``pair_set``, ``edge_set``, ``lead_set``), which the
    comparisons use; they take no part in equality.
    """

    signature: tuple[int, ...]
    band_count: int
    shingle_count: int
    shingle_size: int = DEFAULT_SHINGLE_SIZE
    seed: int = 1
    words: tuple[int, ...] = ()
    title: tuple[int, ...] = ()
    numbers: tuple[int, ...] = ()
    all_numbers: tuple[int, ...] = ()
    pairs: tuple[int, ...] = ()
    edges: tuple[int, ...] = ()
    lead: tuple[int, ...] = ()
    word_set: frozenset[int] = field(init=False, repr=False, compare=False)
    title_set: frozenset[int] = field(init=False, repr=False, compare=False)
    number_set: frozenset[int] = field(init=False, repr=False, compare=False)
    all_number_set: frozenset[int] = field(init=False, repr=False, compare=False)
    pair_set: frozenset[int] = field(init=False, repr=False, compare=False)
    edge_set: frozenset[int] = field(init=False, repr=False, compare=False)
    lead_set: frozenset[int] = field(init=False, repr=False, compare=False)
    _bands: tuple[int, ...] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name, value in (
            ("word_set", self.words), ("title_set", self.title), ("number_set", self.numbers),
            ("all_number_set", self.all_numbers), ("pair_set", self.pairs), ("edge_set", self.edges),
            ("lead_set", self.lead),
        ):
            object.__setattr__(self, name, frozenset(value))

    @property
    def bands(self) -> tuple[int, ...]:
        """One LSH key per band (``band_count`` of them; empty for a text with no words), computed once."""
        keys = self._bands
        if keys is None:
            keys = _band_keys(np.asarray(self.signature, dtype=np.uint32), self.band_count) if self.band_count else ()
            object.__setattr__(self, "_bands", keys)
        return keys

    @property
    def reliable(self) -> bool:
        """True when there is enough text to cluster on the fingerprint alone."""
        return self.shingle_count >= MIN_SHINGLES

    def to_bytes(self) -> bytes:
        """Serialize for storage: a 12-byte header, the signature as
        little-endian uint32 values, the seven set lengths (uint16) and the
        sets' hashes (uint32). The layout is stable; ``from_bytes`` reads it
        back (the band keys are not stored: they follow from the signature)."""
        sets = (self.words, self.title, self.numbers, self.all_numbers, self.pairs, self.edges, self.lead)
        header = _HEADER.pack(
            _FORMAT_VERSION,
            len(self.signature),
            self.band_count,
            self.shingle_size,
            self.shingle_count,
            self.seed & 0xFF,
        )
        body = np.asarray(self.signature, dtype="<u4").tobytes()
        lengths = _SETS.pack(*(min(len(x), 0xFFFF) for x in sets))
        hashes = np.asarray([h for x in sets for h in x[:0xFFFF]], dtype="<u4").tobytes()
        return header + body + lengths + hashes

    @classmethod
    def from_bytes(cls, data: bytes) -> Fingerprint:
        """Read what ``to_bytes`` wrote, in this format or format 2 (which
        had no ``edges`` nor ``lead``: such a fingerprint compares as a title
        with spaces and no subject until ``monitor db refingerprint``
        rewrites it). The band keys are recomputed from the signature only
        when ``bands`` is first read. Raises
        ``ValueError`` ("fingerprint: ...") when the bytes are truncated or of
        an unknown version (a fingerprint of format 1, stored before the sets
        were kept, needs ``monitor db refingerprint``)."""
        size = _HEADER.size
        if len(data) < size:
            raise ValueError(f"fingerprint: {len(data)} bytes is shorter than the {size}-byte header")
        version, num_perm, bands, shingle_size, shingle_count, seed = _HEADER.unpack_from(data)
        counts = _READABLE.get(version)
        if counts is None:
            raise ValueError(
                f"fingerprint: format version {version} (expected {_FORMAT_VERSION}); run monitor db refingerprint"
            )
        at = size + 4 * num_perm
        if len(data) < at + counts.size:
            raise ValueError(f"fingerprint: {len(data)} bytes is too short for {num_perm} permutations and the sets")
        lengths = counts.unpack_from(data, at)
        if len(data) != at + counts.size + 4 * sum(lengths):
            raise ValueError(
                f"fingerprint: expected {at + counts.size + 4 * sum(lengths)} bytes, got {len(data)}"
            )
        values = np.frombuffer(data, dtype="<u4", count=num_perm, offset=size).tolist()
        hashes = np.frombuffer(data, dtype="<u4", offset=at + counts.size).tolist()
        sets: list[tuple[int, ...]] = []
        start = 0
        for n in lengths:
            sets.append(tuple(hashes[start : start + n]))
            start += n
        sets += [()] * (7 - len(sets))  # format 2: no edges, no lead
        return cls(tuple(values), bands, shingle_count, shingle_size, seed, *sets)


def normalize_words(text: str) -> list[str]:
    """The words of ``text`` for comparison: ``monitor.text.words`` (folded:
    case, Latin/Greek/Cyrillic accents and dots removed, marks of Indic and
    Thai letters kept, Chinese/Japanese/Korean as bigrams), with apostrophes
    dropped inside words first ("Russia's" -> "russias")."""
    return words(_APOSTROPHES.sub("", unicodedata.normalize("NFKC", text)))


def identifiers(text: str) -> set[str]:
    """The numbers and identifiers of ``text``: its tokens holding a digit,
    folded, every digit written as ASCII (``২০২৪`` -> ``2024``)."""
    text = unicodedata.normalize("NFKC", text)
    if text.isascii():  # digits are 0-9 and folding is lower-casing
        if _ASCII_DIGIT.search(text) is None:
            return set()
        return {raw.lower() for raw in WORD.findall(text) if _ASCII_DIGIT.search(raw)}
    found: set[str] = set()
    for raw, _, _ in tokens(text):
        if not raw.isalpha() and any(map(str.isdigit, raw)):  # a letter is never a digit
            found.add("".join(str(unicodedata.digit(ch, 0)) if ch.isdigit() else ch for ch in raw.casefold()))
    return found


def title_edges(title: str) -> set[str]:
    """The first and last ``TITLE_EDGE`` letters of a title written without
    spaces (``monitor.text.unspaced``), digits and punctuation left out; empty
    for other titles and for titles too short to have a middle."""
    if not unspaced(title):
        return set()
    letters = "".join(ch for ch in unicodedata.normalize("NFKC", title).casefold() if ch.isalpha())
    if len(letters) < TITLE_EDGE + 2:
        return set()
    return {"<" + letters[:TITLE_EDGE], letters[-TITLE_EDGE:] + ">"}


def _figures_disagree(a: frozenset[int], b: frozenset[int]) -> bool:
    """Whether two stories' figures (hashed numbers and identifiers) are of
    two reports: each has one the other lacks, and those not shared
    outnumber ``FIGURES_APART`` times those shared."""
    own_a, own_b = len(a - b), len(b - a)
    return own_a > 0 and own_b > 0 and own_a + own_b > FIGURES_APART * len(a & b)


def _lead(title_words: list[str], summary_words: list[str]) -> set[str]:
    body = set(summary_words)
    return {w for w in title_words if w in body and len(w) > 2 and not any(ch.isdigit() for ch in w)}


def _pairs(words: list[str]) -> set[str]:
    return {f"{a} {b}" for a, b in zip(words, words[1:])}


def _hash32_set(items: set[str], hashes: dict[str, int]) -> tuple[int, ...]:
    """The sorted distinct top 32 bits of the ``_hash64`` of ``items``, read from ``hashes`` (which holds them all)."""
    return tuple(sorted({hashes[x] >> 32 for x in items}))


def _hashes(*sets: set[str]) -> dict[str, int]:
    """``_hash64`` of every distinct string of ``sets``, each hashed once."""
    blake2b, from_bytes = hashlib.blake2b, int.from_bytes
    return {x: from_bytes(blake2b(x.encode("utf-8"), digest_size=8).digest(), "little") for x in set().union(*sets)}


def strip_boilerplate(summary: str) -> str:
    """Remove a leading dateline ("MOSCOW (Reuters) -") and a trailing
    "Also read: ..." style footer; the body in between is returned untouched."""
    summary = _DATELINE.sub("", summary, count=1)
    low = summary.lower()
    if not any(w in low for w in _FOOTER_WORDS) and not any(ch in summary for ch in _FOOTER_CASE_EXTRAS):
        return summary  # no footer can match (see _FOOTER_WORDS)
    return _FOOTER.sub("", summary)


def content_words(text: str) -> list[str]:
    """``normalize_words`` without ``STOPWORDS``."""
    return [w for w in normalize_words(text) if w not in STOPWORDS]


def shingles(words: list[str], size: int) -> set[str]:
    """The set of ``size``-word shingles of ``words``; a non-empty text shorter
    than ``size`` words is one shingle of all its words."""
    if not words:
        return set()
    if len(words) < size:
        return {" ".join(words)}
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def _hash64(shingle: str) -> int:
    return int.from_bytes(hashlib.blake2b(shingle.encode("utf-8"), digest_size=8).digest(), "little")


def _fmix64(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer: a bijection that mixes every input bit."""
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xFF51AFD7ED558CCD)
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xC4CEB9FE1A85EC53)
    return x ^ (x >> np.uint64(33))


def _band_keys(signature: np.ndarray, bands: int) -> tuple[int, ...]:
    rows = len(signature) // bands
    packed = np.ascontiguousarray(signature, dtype="<u4").tobytes()
    width = 4 * rows
    return tuple(
        int.from_bytes(hashlib.blake2b(packed[i * width : (i + 1) * width], digest_size=8).digest(), "little") >> 1
        for i in range(bands)
    )


class Fingerprinter:
    """Makes and compares fingerprints with one fixed set of parameters.

    The permutation family (``num_perm`` xor-then-mix hash functions derived
    from ``seed``) is built once here and reused for every story. ``bands``
    must divide ``num_perm``; ``rows = num_perm // bands`` values form each band
    key. ``threshold`` is the estimated Jaccard at or above which two reliable
    fingerprints are near-duplicates.
    """

    def __init__(
        self,
        num_perm: int = DEFAULT_NUM_PERM,
        bands: int = DEFAULT_BANDS,
        shingle_size: int = DEFAULT_SHINGLE_SIZE,
        seed: int = 1,
        threshold: float = DEFAULT_THRESHOLD,
        strip_boilerplate: bool = True,
        high: float = DEFAULT_HIGH,
        low: float = DEFAULT_LOW,
        recent_hours: float = DEFAULT_RECENT_HOURS,
    ) -> None:
        if num_perm < 1 or num_perm > 0xFFFF:
            raise ValueError(f"fingerprint: num_perm must be in 1..65535, got {num_perm}")
        if bands < 1 or num_perm % bands:
            raise ValueError(f"fingerprint: bands ({bands}) must divide num_perm ({num_perm})")
        if shingle_size < 1:
            raise ValueError(f"fingerprint: shingle_size must be at least 1, got {shingle_size}")
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"fingerprint: threshold must be in (0, 1], got {threshold}")
        if not 0 <= seed <= 0xFF:
            raise ValueError(f"fingerprint: seed must be in 0..255, got {seed}")
        self.num_perm = num_perm
        self.band_count = bands
        self.rows = num_perm // bands
        self.shingle_size = shingle_size
        self.seed = seed
        self.threshold = threshold
        self.strip_boilerplate = strip_boilerplate
        if not 0.0 < low <= high <= 1.0:
            raise ValueError(f"fingerprint: need 0 < low <= high <= 1, got low={low}, high={high}")
        self.high = high
        self.low = low
        self.recent_hours = recent_hours
        self._salts = _salts(seed, num_perm)

    def shingle_set(self, title: str, summary: str) -> set[str]:
        """The distinct shingles of the title and the summary, shingled apart
        so a changed headline does not disturb the summary's shingles."""
        if self.strip_boilerplate:
            summary = strip_boilerplate(summary)
        return shingles(content_words(title), self.shingle_size) | shingles(
            content_words(summary), self.shingle_size
        )

    def fingerprint(self, title: str, summary: str) -> Fingerprint:
        """Fingerprint a story from its plain-text title and summary (either
        may be empty). Never raises on any text."""
        title, summary = title or "", summary or ""
        if self.strip_boilerplate:
            summary = strip_boilerplate(summary)
        title_words = content_words(title)
        summary_words = content_words(summary)
        shingle_set = shingles(title_words, self.shingle_size) | shingles(summary_words, self.shingle_size)
        word_pairs = _pairs(title_words) | _pairs(summary_words)
        title_set = set(title_words)
        title_numbers = identifiers(title)
        all_numbers = title_numbers | identifiers(summary)
        edges = title_edges(title)
        lead = _lead(title_words, summary_words)  # a subset of title_set
        hashes = _hashes(shingle_set, title_set, all_numbers, word_pairs, edges)
        signature = self._signature([hashes[x] for x in shingle_set])
        return Fingerprint(
            signature=tuple(signature.tolist()),
            band_count=self.band_count if shingle_set else 0,
            shingle_count=len(shingle_set),
            shingle_size=self.shingle_size,
            seed=self.seed,
            words=_hash32_set(shingle_set, hashes),
            title=_hash32_set(title_set, hashes),
            numbers=_hash32_set(title_numbers, hashes),
            all_numbers=_hash32_set(all_numbers, hashes),
            pairs=_hash32_set(word_pairs, hashes),
            edges=_hash32_set(edges, hashes),
            lead=_hash32_set(lead, hashes),
        )

    def same_story(
        self, new: Fingerprint, first: Fingerprint, gap_hours: float | None, high: float | None = None
    ) -> bool:
        """Whether ``new`` is the same report as ``first`` (a cluster's first
        story), published ``gap_hours`` apart (None: unknown). Precision first,
        since a false merge loses an alert and a missed one costs a duplicate
        alert with "also reported by":

        1. both must be ``reliable`` (enough words);
        2. numbers and identifiers must agree: when each title has one that
           the other story never mentions (another version, year, episode,
           price or score), and, unless the bodies are one copy (containment
           at least ``TEMPLATE_COPY``), when each story has figures of its
           own that outnumber ``FIGURES_APART`` times the figures the two
           share (two market closes, two quarterly results, two heat alerts
           with their own temperatures: one report carries one set of
           figures, and a rewrite or a teaser mostly drops some);
        3. titles built on one template (title Jaccard at least
           ``TEMPLATE_TITLE``) that each have a word the other story never uses
           are two stories (one name swapped for another), unless the bodies
           are one copy (containment at least ``TEMPLATE_COPY``) and the
           swapped words are not each body's subject too (words of the
           ``lead``: one notice about two airports is two stories); so are
           titles written without spaces that share their first or last
           ``TITLE_EDGE`` letters; and so are two stories whose titles each
           name ``OWN_SUBJECT`` words of their own ``lead`` that the other
           story never uses;
        4. the exact containment of the content-word sets reaches ``low``
           when the two were published within ``recent_hours`` (another
           outlet's rewrite of the same agency copy comes within hours;
           another development of a story comes later), ``high`` within
           ``SAME_DAY_HOURS`` or when the gap is unknown, and
           ``TEMPLATE_COPY`` (a near-verbatim copy) further apart. ``high``
           overrides the fingerprinter's (``[dedup] threshold``).
        """
        high = self.high if high is None else high
        if not (new.reliable and first.reliable) or not new.words or not first.words:
            return False
        new_figures, first_figures = new.all_number_set, first.all_number_set
        if not new.number_set <= first_figures and not first.number_set <= new_figures:
            return False
        a, b = new.word_set, first.word_set
        common = len(a & b)
        contained = common / min(len(a), len(b))
        ta, tb = new.title_set, first.title_set
        if contained < TEMPLATE_COPY and _figures_disagree(new_figures, first_figures):
            return False
        if ta and tb:
            title_jaccard = len(ta & tb) / len(ta | tb)
            one_template = title_jaccard >= TEMPLATE_TITLE or not new.edge_set.isdisjoint(first.edge_set)
            own_new, own_first = new.lead_set - b, first.lead_set - a
            if contained < TEMPLATE_COPY:
                if one_template and (ta - b) and (tb - a):
                    return False
                if len(own_new) >= OWN_SUBJECT and len(own_first) >= OWN_SUBJECT:
                    return False
            elif one_template and own_new and own_first:
                return False  # one notice, another airport: the swapped name is each body's subject too
        shared_pairs = len(new.pair_set & first.pair_set)
        if shared_pairs < MIN_SHARED_PAIRS:
            return False
        if gap_hours is None:
            return contained >= high
        gap = abs(gap_hours)
        if gap <= self.recent_hours:
            return contained >= min(self.low, high)
        if gap <= SAME_DAY_HOURS:
            return contained >= high
        return contained >= TEMPLATE_COPY

    def containment_floor(self, high: float | None = None) -> float:
        """The lowest content-word containment ``same_story(..., high)`` accepts at any gap."""
        return min(self.low, self.high if high is None else high, TEMPLATE_COPY)

    def may_be_same(self, new: Fingerprint, first: Fingerprint, high: float | None = None) -> bool:
        """A necessary condition of ``same_story(new, first, gap, high)`` whatever the gap, and
        cheaper to check, for screening many candidates: False means ``same_story`` is False;
        True means nothing. It holds while ``same_story`` needs both stories ``reliable``, the
        content-word containment at ``containment_floor(high)`` or more, and
        ``MIN_SHARED_PAIRS`` word pairs in common (a test checks it on the labelled sets)."""
        if not (new.reliable and first.reliable) or not new.words or not first.words:
            return False
        a, b = new.word_set, first.word_set
        if len(a & b) / min(len(a), len(b)) < self.containment_floor(high):
            return False
        return len(new.pair_set & first.pair_set) >= MIN_SHARED_PAIRS

    def screen(self, new: Fingerprint, firsts: Sequence[Fingerprint], high: float | None = None) -> list[bool]:
        """``may_be_same(new, first, high)`` for each of ``firsts``: the same answers, in one pass."""
        if not new.reliable or not new.words:
            return [False] * len(firsts)
        floor = self.containment_floor(high)
        words, size, pairs = new.word_set, len(new.words), new.pair_set
        return [
            first.reliable
            and bool(first.words)
            and len(words & first.word_set) / min(size, len(first.words)) >= floor
            and len(pairs & first.pair_set) >= MIN_SHARED_PAIRS
            for first in firsts
        ]

    def containment(self, a: Fingerprint, b: Fingerprint) -> float:
        """Exact containment of the smaller content-word set in the other (0.0 when either is empty)."""
        if not a.words or not b.words:
            return 0.0
        return len(a.word_set & b.word_set) / min(len(a.words), len(b.words))

    def similarity(self, a: Fingerprint, b: Fingerprint) -> float:
        """Estimated Jaccard similarity of the two shingle sets: the share of
        signature slots that agree. Two empty texts score 0.0, not 1.0."""
        if len(a.signature) != len(b.signature):
            raise ValueError(
                f"fingerprint: cannot compare signatures of {len(a.signature)} and {len(b.signature)} values"
            )
        if a.shingle_count == 0 or b.shingle_count == 0:
            return 0.0
        agree = sum(1 for x, y in zip(a.signature, b.signature) if x == y)
        return agree / len(a.signature)

    def is_near_duplicate(self, a: Fingerprint, b: Fingerprint) -> bool:
        """``same_story`` with the time between the two unknown."""
        return self.same_story(a, b, None)

    def _signature(self, shingle_hashes: list[int]) -> np.ndarray:
        """The MinHash signature of the shingles whose ``_hash64`` values are ``shingle_hashes`` (distinct)."""
        if not shingle_hashes:
            return np.full(self.num_perm, _EMPTY_SLOT, dtype=np.uint32)
        hashes = np.array(shingle_hashes, dtype=np.uint64)
        # One hash function per permutation: h_i(x) = fmix64(x XOR salt_i); the
        # minimum over the shingles is kept, and its top 32 bits stored.
        mixed = _fmix64(hashes[:, None] ^ self._salts[None, :])
        return (mixed.min(axis=0) >> np.uint64(32)).astype(np.uint32)


def _salts(seed: int, count: int) -> np.ndarray:
    """``count`` 64-bit salts derived from ``seed`` with SHA-256 (stable everywhere)."""
    out = bytearray()
    block = 0
    while len(out) < 8 * count:
        out += hashlib.sha256(f"monitor-minhash:{seed}:{block}".encode()).digest()
        block += 1
    return np.frombuffer(bytes(out[: 8 * count]), dtype="<u8").astype(np.uint64)

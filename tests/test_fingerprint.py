"""Near-duplicate fingerprints: stability, the seed story's copies and its hard
negatives, awkward text, and the labelled set in tests/testdata/neardup."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from itertools import combinations
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.dedup.fingerprint import (
    DEFAULT_THRESHOLD,
    MIN_SHINGLES,
    Fingerprint,
    Fingerprinter,
    normalize_words,
    strip_boilerplate,
)

ROOT = Path(__file__).resolve().parent.parent
NEARDUP = Path(__file__).resolve().parent / "testdata" / "neardup"
SEED = Path(__file__).resolve().parent / "testdata" / "rules" / "seed-article.txt"  # a copy of the seed story


def seed_paragraphs() -> list[str]:
    """The seed article's paragraphs: [0] title, [1] photo credit, [2..5] the
    claim, [6] the Russia-Turkey raid, [7] a subhead, [8..9] the denial,
    [10] an "Also Read:" footer, [11] a social footer."""
    text = SEED.read_text(encoding="utf-8") if SEED.exists() else ""
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    if len(paragraphs) < 11:
        pytest.skip(f"seed article not available at {SEED}")
    return paragraphs


@pytest.fixture(scope="module")
def fp() -> Fingerprinter:
    return Fingerprinter()


# -- stability -----------------------------------------------------------------


def test_it_gives_the_same_fingerprint_from_two_instances_with_the_same_seed():
    a = Fingerprinter(seed=1).fingerprint("Fed holds rates", "The Federal Reserve held interest rates steady.")
    b = Fingerprinter(seed=1).fingerprint("Fed holds rates", "The Federal Reserve held interest rates steady.")
    assert a == b


def test_it_gives_another_signature_with_another_seed():
    a = Fingerprinter(seed=1).fingerprint("Fed holds rates", "The Federal Reserve held interest rates steady.")
    b = Fingerprinter(seed=2).fingerprint("Fed holds rates", "The Federal Reserve held interest rates steady.")
    assert a.signature != b.signature


def test_it_gives_the_same_values_on_every_machine_and_version():
    # Pinned values: signatures are stored and compared across workers and
    # restarts, so any change here is a breaking change to stored data.
    f = Fingerprinter().fingerprint(
        "Russia says it coordinated Syrian airstrikes with US-led coalition",
        "Russia's Defence Ministry said on Monday its air force had carried out airstrikes "
        "against Islamic State targets near al-Bab in Aleppo province together with the US-led coalition.",
    )
    assert f.shingle_count == 24
    assert f.signature[:4] == PINNED_SIGNATURE_HEAD
    assert f.bands[0] == PINNED_FIRST_BAND


PINNED_SIGNATURE_HEAD = (90819880, 26755428, 262497014, 34389416)
PINNED_FIRST_BAND = 1581671665708497983


def test_it_round_trips_through_bytes(fp):
    f = fp.fingerprint("Магнитуда 6,1", "Землетрясение магнитудой 6,1 произошло у побережья Чили, сообщила USGS.")
    data = f.to_bytes()
    assert isinstance(data, bytes)
    sets = len(f.words) + len(f.title) + len(f.numbers) + len(f.all_numbers) + len(f.pairs) + len(f.edges) + len(f.lead)
    assert len(data) == 12 + 4 * fp.num_perm + 14 + 4 * sets
    assert f.numbers and f.words  # 6,1 is an identifier of the title
    assert Fingerprint.from_bytes(data) == f


def test_it_reads_a_fingerprint_of_format_2_as_one_without_title_edges(fp):
    f = fp.fingerprint("中国外交部在北京举行例行记者会", "外交部发言人在北京举行例行记者会，回答了记者提问。" * 3)
    assert f.edges  # a title without spaces has its first and last letters kept
    data = f.to_bytes()
    at = 12 + 4 * fp.num_perm
    old = bytes([2]) + data[1:at] + data[at : at + 10] + data[at + 14 : len(data) - 4 * (len(f.edges) + len(f.lead))]
    back = Fingerprint.from_bytes(old)
    assert back.edges == () and back.lead == () and back.words == f.words and back.pairs == f.pairs
    assert fp.same_story(back, f, 0.5)


def test_it_keeps_apart_two_chinese_verdicts_of_one_template_with_other_names(fp):
    body = "新华社{city}11月12日电 {city}市中级人民法院公开宣判{who}受贿案，对被告人{name}以受贿罪判处{term}，并处没收个人全部财产。经审理查明，{name}利用职务便利，为有关单位和个人在工程承揽、职务晋升等方面提供帮助，非法收受财物。"
    a = fp.fingerprint(
        "湖南省政协原副主席郑旭东受贿案一审宣判",
        body.format(city="长沙", who="湖南省政协原副主席郑旭东", name="郑旭东", term="无期徒刑"),
    )
    b = fp.fingerprint(
        "江西省原副省长吴建平受贿案一审宣判",
        body.format(city="南昌", who="江西省原副省长吴建平", name="吴建平", term="有期徒刑十四年"),
    )
    copy = fp.fingerprint(
        "湖南省政协原副主席郑旭东受贿案一审宣判：获无期",
        body.format(city="长沙", who="湖南省政协原副主席郑旭东", name="郑旭东", term="无期徒刑"),
    )
    assert not fp.same_story(b, a, 0.3)
    assert fp.same_story(copy, a, 0.3)  # the same verdict under a longer headline still joins


def test_it_round_trips_an_empty_fingerprint_through_bytes(fp):
    f = fp.fingerprint("", "")
    assert Fingerprint.from_bytes(f.to_bytes()) == f


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda b: b[:5], "shorter than the 12-byte header"),
        (lambda b: b[:-1], "expected \\d+ bytes"),
        (lambda b: b"\x09" + b[1:], "format version 9"),
        (lambda b: b"\x02" + b[1:], "expected \\d+ bytes"),
        (lambda b: b"\x01" + b[1:], "format version 1 .*refingerprint"),
    ],
    ids=["truncated header", "truncated sets", "unknown version", "format 2 lengths", "the previous format"],
)
def test_it_rejects_bytes_it_did_not_write(fp, mangle, message):
    data = fp.fingerprint("Fed holds rates", "The Federal Reserve held interest rates steady.").to_bytes()
    with pytest.raises(ValueError, match=f"^fingerprint: .*{message}"):
        Fingerprint.from_bytes(mangle(data))


def test_it_keeps_band_keys_within_a_postgres_bigint(fp):
    for text in ("a b c d e f g h i j k l m n", "Землетрясение в Чили", "x" * 500):
        for key in fp.fingerprint(text, text).bands:
            assert 0 <= key < 2**63


def test_it_makes_one_band_key_per_band(fp):
    f = fp.fingerprint("Fed holds rates", "The Federal Reserve held interest rates steady on Wednesday.")
    assert len(f.bands) == fp.band_count == 32
    assert len(f.signature) == fp.num_perm == 64


@pytest.mark.parametrize(
    "kwargs",
    [{"num_perm": 64, "bands": 10}, {"num_perm": 0}, {"shingle_size": 0}, {"threshold": 0}, {"seed": 256}],
    ids=["bands not dividing", "no permutations", "no shingle", "zero threshold", "seed too large"],
)
def test_it_rejects_parameters_that_cannot_work(kwargs):
    with pytest.raises(ValueError, match="^fingerprint: "):
        Fingerprinter(**kwargs)


def test_it_refuses_to_compare_signatures_of_different_lengths():
    a = Fingerprinter(num_perm=64).fingerprint("Fed", "The Federal Reserve held rates.")
    b = Fingerprinter(num_perm=128, bands=32).fingerprint("Fed", "The Federal Reserve held rates.")
    with pytest.raises(ValueError, match="^fingerprint: cannot compare signatures of 64 and 128 values"):
        Fingerprinter().similarity(a, b)


# -- the seed story ------------------------------------------------------------


def seed_copies() -> list[tuple[str, str, str]]:
    p = seed_paragraphs()
    body = f"{p[2]}\n\n{p[3]}"
    return [
        ("verbatim with a dateline", p[0], f"MOSCOW (Reuters) - {body}"),
        ("another headline", "Russia claims joint airstrikes with US-led coalition near al-Bab", body),
        ("with the Also Read footer", p[0], f"{body}\n\n{p[10]}"),
        ("paragraphs reordered", p[0], f"{p[3]}\n\n{p[2]}"),
        ("a paragraph longer", p[0], f"{body}\n\n{p[4]}"),
    ]


def seed_negatives() -> list[tuple[str, str, str]]:
    p = seed_paragraphs()
    return [
        ("the Pentagon denial only", "Pentagon denies coordinating Syria airstrikes with Russia", f"{p[8]}\n\n{p[9]}"),
        ("the Russia-Turkey raid", "Russia and Turkey conduct joint air raid on Islamic State in al-Bab", p[6]),
    ]


@pytest.mark.parametrize(
    "label",
    ["verbatim with a dateline", "another headline", "with the Also Read footer", "paragraphs reordered",
     "a paragraph longer"],
)
def test_it_scores_copies_of_the_seed_story_above_the_threshold_and_they_share_a_band(fp, label):
    p = seed_paragraphs()
    original = fp.fingerprint(p[0], f"{p[2]}\n\n{p[3]}")
    _, title, summary = next(c for c in seed_copies() if c[0] == label)
    copy = fp.fingerprint(title, summary)
    assert fp.similarity(original, copy) >= fp.threshold
    assert fp.is_near_duplicate(original, copy)
    assert set(original.bands) & set(copy.bands), "a copy must be findable through the band index"


@pytest.mark.parametrize("label", ["the Pentagon denial only", "the Russia-Turkey raid"])
def test_it_scores_other_stories_on_the_same_event_below_the_threshold(fp, label):
    p = seed_paragraphs()
    original = fp.fingerprint(p[0], f"{p[2]}\n\n{p[3]}")
    _, title, summary = next(n for n in seed_negatives() if n[0] == label)
    other = fp.fingerprint(title, summary)
    assert other.reliable
    assert fp.similarity(original, other) < fp.threshold
    assert not fp.is_near_duplicate(original, other)


# -- awkward text --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Russia's Defence Ministry", ["russias", "defence", "ministry"]),
        ("Pentagon’s “rubbish” claim", ["pentagons", "rubbish", "claim"]),
        ("Café in São Paulo", ["cafe", "in", "sao", "paulo"]),
        ("ﬁnal ＵＳＧＳ report", ["final", "usgs", "report"]),  # NFKC: ligature, full width
        ("administered\xa0airstrikes", ["administered", "airstrikes"]),
        ("Ёжик в тумане, ПУТИН заявил", ["ежик", "в", "тумане", "путин", "заявил"]),
        ("US-led coalition; 6.1 magnitude!", ["us", "led", "coalition", "6", "1", "magnitude"]),
        ("", []),
        ("— … !!! ", []),
    ],
)
def test_it_normalizes_words(text, words):
    assert normalize_words(text) == words


@pytest.mark.parametrize(
    ("summary", "kept"),
    [
        ("MOSCOW (Reuters) - Russia said it struck targets.", "Russia said it struck targets."),
        ("WASHINGTON, June 12 (Reuters) - The Fed held.", "The Fed held."),
        ("SANTIAGO (AP) — A quake struck.", "A quake struck."),
        ("MOSCOW -- Russia said it struck.", "Russia said it struck."),
        ("CUPERTINO, Calif. (AP) — Apple unveiled.", "Apple unveiled."),
        ("LONDON/DUBAI (Reuters) - OPEC+ agreed.", "OPEC+ agreed."),
        ("(Reuters) - Tesla reported.", "Tesla reported."),
        ("МОСКВА, 25 октября. /ТАСС/. Банк России повысил ставку.", "Банк России повысил ставку."),
        ("Russia struck.\n\nAlso Read: South China Sea Dispute", "Russia struck."),
        ("Russia struck. Liked this story? Follow us", "Russia struck."),
        ("Банк России повысил ставку. Читайте также: Рубль ослаб", "Банк России повысил ставку."),
        ("The US (and its allies) - not Russia - struck.", "The US (and its allies) - not Russia - struck."),
        ("NATO said (in Brussels) it would act.", "NATO said (in Brussels) it would act."),
    ],
)
def test_it_strips_datelines_and_footers_but_not_the_body(summary, kept):
    assert strip_boilerplate(summary) == kept


def test_it_finds_every_footer_the_regex_finds_whatever_letters_spell_it():
    # strip_boilerplate skips the footer regex when no footer word is in the lower-cased text:
    # every character the regex's IGNORECASE takes for a letter of those words must still be found.
    from monitor.dedup.fingerprint import _FOOTER, _FOOTER_WORDS

    letters = sorted(set("".join(_FOOTER_WORDS)))
    any_letter = re.compile(f"[{''.join(letters)}]", re.IGNORECASE).fullmatch
    alike = [ch for ch in map(chr, range(0x110000)) if any_letter(ch)]
    phrases = ["also read", "read more", "read also", "related", "see also", "liked this story", "читайте также", "смотрите также"]
    for ch in alike:
        for phrase in phrases:
            for letter in {x for x in phrase if re.fullmatch(x, ch, re.IGNORECASE)}:
                summary = f"Body text. {phrase.replace(letter, ch)}: more"
                assert strip_boilerplate(summary) == _FOOTER.sub("", summary) == "Body text.", (ch, phrase)


def test_it_flags_a_headline_alone_as_too_short_to_cluster_on(fp):
    a = fp.fingerprint("Russia says it coordinated Syrian airstrikes with US-led coalition", "")
    b = fp.fingerprint("Russia says it coordinated Syrian airstrikes with US-led coalition", "")
    assert 0 < a.shingle_count < MIN_SHINGLES
    assert not a.reliable
    assert fp.similarity(a, b) == 1.0
    assert not fp.is_near_duplicate(a, b)


def test_it_fingerprints_cyrillic_text_and_finds_its_copies(fp):
    title = "Банк России повысил ключевую ставку до рекордных 21% годовых"
    body = (
        "Совет директоров Банка России в пятницу повысил ключевую ставку на 200 базисных пунктов, "
        "до 21% годовых, говорится в сообщении регулятора. Это максимальный уровень ставки за всю "
        "историю её существования."
    )
    original = fp.fingerprint(title, body)
    copy = fp.fingerprint("ЦБ поднял ключевую ставку сразу на 200 базисных пунктов", f"МОСКВА, 25 октября. /ТАСС/. {body}")
    other = fp.fingerprint(
        "Банк России сохранил ключевую ставку на уровне 16% годовых",
        "Совет директоров Банка России в пятницу сохранил ключевую ставку на уровне 16% годовых, "
        "говорится в сообщении регулятора. Инфляционное давление постепенно снижается.",
    )
    assert original.reliable
    assert fp.is_near_duplicate(original, copy)
    assert not fp.is_near_duplicate(original, other)


@pytest.mark.parametrize(("title", "summary"), [("", ""), ("   ", "\n\t"), ("!!!", "— …"), (None, None)])
def test_it_fingerprints_empty_text_without_crashing_and_matches_nothing(fp, title, summary):
    empty = fp.fingerprint(title, summary)
    assert empty.shingle_count == 0
    assert empty.bands == ()
    assert not empty.reliable
    assert fp.similarity(empty, empty) == 0.0
    assert not fp.is_near_duplicate(empty, fp.fingerprint("Fed holds rates", "The Fed held rates."))


@settings(max_examples=150, deadline=None)
@given(title=st.text(max_size=80), summary=st.text(max_size=400))
def test_it_fingerprints_any_text_and_a_text_is_identical_to_itself(title, summary):
    fp = Fingerprinter()
    f = fp.fingerprint(title, summary)
    assert len(f.signature) == fp.num_perm
    assert Fingerprint.from_bytes(f.to_bytes()) == f
    if f.shingle_count:
        assert fp.similarity(f, f) == 1.0


# -- the labelled set ----------------------------------------------------------


def load_set() -> list[dict]:
    lines = (NEARDUP / "stories.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_it_keeps_the_labelled_set_in_step_with_its_hand_written_bases():
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "make_neardup_set.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_it_describes_every_story_in_the_labelled_set():
    stories = load_set()
    assert len({s["id"] for s in stories}) == len(stories)
    assert len({s["group"] for s in stories}) >= 40
    for story in stories:
        assert set(story) == {"id", "cluster", "group", "kind", "title", "summary"}
        assert story["kind"] in {"original"} or story["kind"].startswith(("copy-", "negative-"))


def test_it_reaches_the_target_precision_and_recall_on_the_labelled_set(fp):
    stories = load_set()
    prints = [fp.fingerprint(s["title"], s["summary"]) for s in stories]
    tp = fp_count = fn = found = 0
    for (a, sa), (b, sb) in combinations(zip(prints, stories), 2):
        same = sa["cluster"] == sb["cluster"]
        near = fp.is_near_duplicate(a, b)
        tp += same and near
        fp_count += near and not same
        fn += same and not near
        found += same and near and bool(set(a.bands) & set(b.bands))
    precision = tp / (tp + fp_count)
    recall = tp / (tp + fn)
    assert precision >= 0.98, f"precision {precision:.3f} ({fp_count} false near-duplicates)"
    assert recall >= 0.90, f"recall {recall:.3f} ({fn} copies missed)"
    assert found / (tp + fn) >= 0.90, f"only {found} of {tp + fn} copy pairs share a band key"


def test_it_uses_the_threshold_the_benchmark_chose():
    assert Fingerprinter().threshold == DEFAULT_THRESHOLD == 0.5


def test_it_screens_candidates_without_refusing_any_pair_same_story_would_join(fp):
    # may_be_same (and screen, its batch form) screens the candidates of a new story before
    # same_story: it must never say False where same_story, at any gap and threshold, says True.
    # The labelled pairs (tune and holdout), the synthetic copies' every pair in one group and a
    # sample of the others.
    import random

    texts = [(s["title"], s["summary"], s["group"]) for s in load_set()]
    for path in sorted((ROOT / "tests" / "testdata" / "neardup_real").glob("*.jsonl")):  # the top folder only
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                pair = json.loads(line)
                texts += [(pair["a"]["title"], pair["a"]["summary"], pair["id"]), (pair["b"]["title"], pair["b"]["summary"], pair["id"])]
    prints = [(fp.fingerprint(t, s), group) for t, s, group in texts]
    rng = random.Random(7)
    pairs = [(a, b) for (a, ga), (b, gb) in combinations(prints, 2) if ga == gb]
    pairs += [(rng.choice(prints)[0], rng.choice(prints)[0]) for _ in range(3000)]
    joined = 0
    for a, b in pairs:
        for new, first in ((a, b), (b, a)):
            for high in (None, 0.3, 1.0):
                screened = fp.may_be_same(new, first, high)
                assert fp.screen(new, [first, new], high) == [screened, fp.may_be_same(new, new, high)]
                for gap in (None, 0.0, 2.0, 10.0, 30.0):
                    same = fp.same_story(new, first, gap, high)
                    joined += same
                    assert screened or not same, (gap, high)
    assert joined > 500  # the check saw pairs that join

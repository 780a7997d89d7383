"""Measure near-duplicate detection on the labelled sets, and its cost.

    python bench/bench_neardup.py            # all tables
    python bench/bench_neardup.py --quick    # skip the shingle-size and timing sweeps
    python bench/bench_neardup.py --real     # only the real-looking pairs (tune and holdout)

First, for tests/testdata/neardup_real (pairs labelled same / related /
different, split into tune and holdout by beat), per language and overall:
recall (same pairs joined), precision (related and different pairs kept
apart), the different and related pairs merged, and the chaining check (every
story of the split replayed in time order through the real ingest: the
largest cluster and the clusters holding two different event ids). Then, for
the synthetic copies:

Prints, for tests/testdata/neardup/stories.jsonl (every pair of stories is
labelled: same ``cluster`` means near-duplicate):

1. exact Jaccard of copies and of hard negatives for shingle sizes 1-4;
2. precision and recall on pairs against the decision threshold 0.30-0.90,
   for the MinHash estimate (and for the exact Jaccard, the estimate's ceiling);
3. the LSH banding table: how many true pairs share at least one band key
   (candidate recall) and how many unrelated pairs do (candidate load);
4. a 64-bit SimHash peer at Hamming radius 0-14 (radius 3 is the usual choice);
5. CPU cost per fingerprint: permutations built once (ours) against building a
   new datasketch ``MinHash()`` per story, the naive way;
6. headlines alone, the reason for ``MIN_SHINGLES``;
7. the kinds of copy that score lowest.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from monitor.dedup.fingerprint import (
    DEFAULT_BANDS,
    DEFAULT_NUM_PERM,
    DEFAULT_SHINGLE_SIZE,
    DEFAULT_THRESHOLD,
    MIN_SHINGLES,
    Fingerprinter,
)

STORIES = Path(__file__).resolve().parent.parent / "tests" / "testdata" / "neardup" / "stories.jsonl"
THRESHOLDS = [round(0.30 + 0.05 * i, 2) for i in range(13)]


def load() -> list[dict]:
    return [json.loads(line) for line in STORIES.read_text(encoding="utf-8").splitlines() if line.strip()]


def pair_labels(stories: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Upper-triangle index arrays (i, j) and the boolean 'same cluster' label."""
    n = len(stories)
    i, j = np.triu_indices(n, k=1)
    clusters = np.array([s["cluster"] for s in stories])
    return i, j, clusters[i] == clusters[j]


def hard_negative_mask(stories: list[dict], i: np.ndarray, j: np.ndarray) -> np.ndarray:
    groups = np.array([s["group"] for s in stories])
    clusters = np.array([s["cluster"] for s in stories])
    return (groups[i] == groups[j]) & (clusters[i] != clusters[j])


def precision_recall(predicted: np.ndarray, truth: np.ndarray) -> tuple[float, float, int]:
    tp = int(np.sum(predicted & truth))
    fp = int(np.sum(predicted & ~truth))
    fn = int(np.sum(~predicted & truth))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, fp


def exact_jaccard(sets: list[set[str]], i: np.ndarray, j: np.ndarray) -> np.ndarray:
    out = np.empty(len(i))
    for k, (a, b) in enumerate(zip(i.tolist(), j.tolist())):
        union = len(sets[a] | sets[b])
        out[k] = len(sets[a] & sets[b]) / union if union else 0.0
    return out


def table(headers: list[str], rows: list[list[object]]) -> None:
    cells = [[f"{c:.3f}" if isinstance(c, float) else str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[k]) for r in cells)) for k, h in enumerate(headers)]
    print("  ".join(h.rjust(w) for h, w in zip(headers, widths)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths)))
    print()


# -- 1. shingle size ---------------------------------------------------------


def shingle_size_table(stories: list[dict], i: np.ndarray, j: np.ndarray, truth: np.ndarray) -> None:
    hard = hard_negative_mask(stories, i, j)
    kinds = np.array([s["kind"] for s in stories])
    rows = []
    for size in (1, 2, 3, 4):
        fp = Fingerprinter(shingle_size=size)
        sets = [fp.shingle_set(s["title"], s["summary"]) for s in stories]
        sim = exact_jaccard(sets, i, j)
        translated = truth & ((kinds[i] == "copy-translated") | (kinds[j] == "copy-translated"))
        best = max(
            (precision_recall(sim >= t, truth) + (t,) for t in np.arange(0.05, 0.95, 0.01)),
            key=lambda r: (r[0] >= 0.98, r[1], r[0]),
        )
        rows.append([
            size,
            float(np.min(sim[truth])),
            float(np.percentile(sim[truth], 5)),
            float(np.median(sim[truth])),
            float(np.median(sim[translated])),
            float(np.max(sim[hard])),
            float(np.percentile(sim[hard], 95)),
            float(np.max(sim[~truth & ~hard])),
            f"{best[3]:.2f}",
            best[0],
            best[1],
        ])
    print("1. Exact Jaccard by shingle size (copies = same-cluster pairs; hard = other stories on the same event)")
    table(
        ["k", "copy min", "copy p5", "copy med", "transl med", "hard max", "hard p95", "other max",
         "best t", "prec", "recall"],
        rows,
    )


# -- 2. threshold curve ------------------------------------------------------


def threshold_table(
    stories: list[dict], fp: Fingerprinter, i: np.ndarray, j: np.ndarray, truth: np.ndarray
) -> np.ndarray:
    prints = [fp.fingerprint(s["title"], s["summary"]) for s in stories]
    sigs = np.array([p.signature for p in prints], dtype=np.uint32)
    reliable = np.array([p.reliable for p in prints])
    estimated = (sigs[i] == sigs[j]).mean(axis=1)
    sets = [fp.shingle_set(s["title"], s["summary"]) for s in stories]
    exact = exact_jaccard(sets, i, j)
    both = reliable[i] & reliable[j]
    hard = hard_negative_mask(stories, i, j)
    rows = []
    for t in THRESHOLDS:
        p_est, r_est, fp_est = precision_recall((estimated >= t) & both, truth)
        p_ex, r_ex, _ = precision_recall((exact >= t) & both, truth)
        hard_fp = int(np.sum((estimated >= t) & both & hard))
        rows.append([f"{t:.2f}", p_est, r_est, fp_est, hard_fp, p_ex, r_ex])
    print(
        f"2. Threshold curve: num_perm={fp.num_perm}, shingle_size={fp.shingle_size}, "
        f"{len(stories)} stories, {int(truth.sum())} positive / {int((~truth).sum())} negative pairs, "
        f"{int((~reliable).sum())} unreliable (< {MIN_SHINGLES} shingles)"
    )
    table(["threshold", "precision", "recall", "false pos", "of them hard", "exact prec", "exact recall"], rows)
    error = np.abs(estimated - exact)[truth | hard]
    print(
        f"   MinHash estimate vs exact Jaccard on copy and hard pairs: mean |error| {error.mean():.4f}, "
        f"p99 {np.percentile(error, 99):.4f} (theory at J=0.5 with {fp.num_perm} perms: "
        f"sd {np.sqrt(0.25 / fp.num_perm):.4f})\n"
    )
    return estimated


# -- 3. banding --------------------------------------------------------------


def banding_table(
    stories: list[dict], i: np.ndarray, j: np.ndarray, truth: np.ndarray, threshold: float, shingle_size: int
) -> None:
    rows = []
    for num_perm, bands in ((64, 32), (64, 16), (64, 8), (128, 64), (128, 32), (128, 16)):
        fp = Fingerprinter(num_perm=num_perm, bands=bands, shingle_size=shingle_size, threshold=threshold)
        prints = [fp.fingerprint(s["title"], s["summary"]) for s in stories]
        keys = np.array([p.bands if p.bands else (-1,) * bands for p in prints], dtype=np.int64)
        shared = ((keys[i] == keys[j]) & (keys[i] >= 0)).any(axis=1)
        sigs = np.array([p.signature for p in prints], dtype=np.uint32)
        reliable = np.array([p.reliable for p in prints])
        above = ((sigs[i] == sigs[j]).mean(axis=1) >= threshold) & reliable[i] & reliable[j]
        candidate_recall = float(np.sum(shared & truth) / np.sum(truth))
        found_recall = float(np.sum(shared & above & truth) / np.sum(truth))
        precision = precision_recall(shared & above, truth)[0]
        s_half = 1 - (1 - threshold ** (num_perm // bands)) ** bands
        joined, wrong, expected, load = simulate_arrivals(stories, fp, prints)
        rows.append([
            num_perm, f"{bands}x{num_perm // bands}", f"{(1 / bands) ** (bands / num_perm):.2f}",
            f"{s_half:.3f}", candidate_recall, f"{np.sum(shared & ~truth) / np.sum(~truth):.5f}",
            found_recall, precision, f"{joined}/{expected}", wrong, f"{load:.1f}",
        ])
    print(f"3. LSH banding (a pair is found only if it shares a band key), decision threshold {threshold}")
    print("   pairs: cand recall = true pairs sharing a band; end = shares a band AND estimate >= threshold")
    print("   arrivals: stories fed one by one in a shuffled order, each joined to its best earlier candidate;")
    print("   'joined' counts copies that joined an earlier story of their own cluster, 'wrong' joins to")
    print("   another cluster, 'cands' the mean number of earlier stories sharing a band (rows to confirm)")
    table(
        ["perms", "bands x rows", "S-curve mid", f"P(find|J={threshold})", "cand recall",
         "neg cand rate", "end recall", "end prec", "joined", "wrong", "cands"],
        rows,
    )


def simulate_arrivals(stories: list[dict], fp: Fingerprinter, prints: list) -> tuple[int, int, int, float]:
    """Feed stories in a fixed shuffled order as the store does: look up earlier
    stories sharing a band key, confirm with the estimate, join the best."""
    order = np.random.default_rng(7).permutation(len(stories)).tolist()
    index: dict[tuple[int, int], list[int]] = defaultdict(list)
    seen_clusters: set[str] = set()
    joined = wrong = expected = 0
    candidate_total = 0
    for n in order:
        p = prints[n]
        candidates = {m for band, key in enumerate(p.bands) for m in index[(band, key)]}
        candidate_total += len(candidates)
        best = max(
            (m for m in candidates if fp.is_near_duplicate(p, prints[m])),
            key=lambda m: fp.similarity(p, prints[m]),
            default=None,
        )
        cluster = stories[n]["cluster"]
        if cluster in seen_clusters:
            expected += 1
        if best is not None:
            if stories[best]["cluster"] == cluster:
                joined += 1
            else:
                wrong += 1
        seen_clusters.add(cluster)
        for band, key in enumerate(p.bands):
            index[(band, key)].append(n)
    return joined, wrong, expected, candidate_total / len(stories)


def headline_table(stories: list[dict], fp: Fingerprinter, i: np.ndarray, j: np.ndarray, truth: np.ndarray) -> None:
    prints = [fp.fingerprint(s["title"], "") for s in stories]
    counts = [p.shingle_count for p in prints]
    sigs = np.array([p.signature for p in prints], dtype=np.uint32)
    estimated = (sigs[i] == sigs[j]).mean(axis=1)
    rows = [[f"{t:.2f}", *precision_recall(estimated >= t, truth)] for t in (0.4, 0.5, 0.6, 0.7)]
    print(
        f"6. Headlines alone (why MIN_SHINGLES={MIN_SHINGLES}): {min(counts)}-{max(counts)} shingles, "
        f"median {statistics.median(counts)}"
    )
    table(["threshold", "precision", "recall", "false pos"], rows)


# -- 4. SimHash peer ---------------------------------------------------------


def simhash64(features: set[str]) -> int:
    """Charikar's SimHash over the given features, each weighted 1."""
    if not features:
        return 0
    hashes = np.fromiter(
        (int.from_bytes(hashlib.blake2b(f.encode(), digest_size=8).digest(), "little") for f in features),
        dtype=np.uint64,
        count=len(features),
    )
    bits = ((hashes[:, None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)).astype(np.int32)
    votes = (2 * bits - 1).sum(axis=0)
    return int(sum(1 << k for k in range(64) if votes[k] > 0))


def simhash_table(stories: list[dict], fp: Fingerprinter, i: np.ndarray, j: np.ndarray, truth: np.ndarray) -> None:
    rows = []
    for label, size in (("content words", 1), ("3-word shingles", 3)):
        peer = Fingerprinter(shingle_size=size)
        hashes = np.array(
            [simhash64(peer.shingle_set(s["title"], s["summary"])) for s in stories], dtype=np.uint64
        )
        x = hashes[i] ^ hashes[j]
        distance = np.zeros(len(x), dtype=np.int64)
        for k in range(64):
            distance += ((x >> np.uint64(k)) & np.uint64(1)).astype(np.int64)
        for radius in (0, 3, 6, 10, 14):
            p, r, false_pos = precision_recall(distance <= radius, truth)
            rows.append([label, radius, p, r, false_pos])
    print("4. SimHash (64-bit) peer: a pair is a near-duplicate when the Hamming distance <= radius")
    table(["features", "radius", "precision", "recall", "false pos"], rows)


# -- 5. timing ---------------------------------------------------------------


def cpu_per_call(fn, items, rounds: int = 5) -> float:
    """Median CPU seconds per item over ``rounds`` passes."""
    samples = []
    for _ in range(rounds):
        start = time.process_time()
        for item in items:
            fn(item)
        samples.append((time.process_time() - start) / len(items))
    return statistics.median(samples)


def timing_table(stories: list[dict], fp: Fingerprinter) -> None:
    from datasketch import LeanMinHash, MinHash

    items = [(s["title"], s["summary"]) for s in stories]

    def ours(item):
        return fp.fingerprint(*item)

    def shingles_only(item):
        return fp.shingle_set(*item)

    def naive(item):
        m = MinHash(num_perm=fp.num_perm, seed=fp.seed)
        m.update_batch([s.encode("utf-8") for s in fp.shingle_set(*item)])
        return LeanMinHash(m)

    template = MinHash(num_perm=fp.num_perm, seed=fp.seed)
    scheme = getattr(template, "scheme", None)

    def reused(item):
        kwargs = {"scheme": scheme} if scheme else {}
        m = MinHash(num_perm=fp.num_perm, seed=fp.seed, permutations=template.permutations, **kwargs)
        m.update_batch([s.encode("utf-8") for s in fp.shingle_set(*item)])
        return m

    def bulk(batch):
        return MinHash.bulk([[s.encode("utf-8") for s in fp.shingle_set(*it)] for it in batch],
                            num_perm=fp.num_perm, seed=fp.seed)

    cpu = {
        "normalize + shingle only": cpu_per_call(shingles_only, items),
        "ours: permutations built once (+ band keys)": cpu_per_call(ours, items),
        "datasketch MinHash(permutations=template's)": cpu_per_call(reused, items),
        "datasketch MinHash() new each time (naive)": cpu_per_call(naive, items),
    }
    batches = [items[k : k + 50] for k in range(0, len(items), 50)]
    cpu["datasketch MinHash.bulk, 50 a batch"] = cpu_per_call(bulk, batches) * len(batches) / len(items)
    naive_cost = cpu["datasketch MinHash() new each time (naive)"]
    rows = [[name, f"{1e6 * c:.0f}", f"{1 / c:,.0f}", f"{naive_cost / c:.2f}x"] for name, c in cpu.items()]
    print(f"5. CPU per fingerprint ({len(items)} stories, median of 5 passes, num_perm={fp.num_perm})")
    table(["method", "us/story", "stories/s", "vs naive"], rows)


def synthetic_recall(fp: Fingerprinter) -> None:
    """Every story of tests/testdata/neardup against every cluster's original, by the decision."""
    stories = load()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from neardup_real import synthetic

    tp, fn, fpos = synthetic(fp, stories)
    print("0b. synthetic copies (tests/testdata/neardup): each story against each cluster's original, by same_story")
    table(["copies joined", "recall", "others merged", "precision"],
          [[f"{tp}/{tp + fn}", tp / (tp + fn), fpos, tp / (tp + fpos) if tp + fpos else 1.0]])


def real_tables(fp: Fingerprinter) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from neardup_real import SPLITS, load, replay, score

    pairs = load()
    for split in SPLITS:
        scores = score(fp, pairs, split)
        rows = []
        for lang in sorted(k for k in scores if k != "all") + ["all"]:
            s = scores[lang]
            rows.append([lang, s.same, s.recall, s.apart_total, s.precision,
                         f"{s.different_merged}/{s.different}", f"{s.related_merged}/{s.related}"])
        print(f"0. real-looking pairs, {split} split: the decision (same_story) on each pair")
        table(["lang", "same", "recall", "apart", "precision", "different merged", "related merged"], rows)
        for pair in scores["all"].wrong:
            verdict = "missed" if pair["label"] == "same" else "MERGED"
            print(f"   {verdict:6} {pair['id']:12} {pair['label']:9} {pair['kind']}: {pair['a']['title'][:60]} | {pair['b']['title'][:60]}")
        r = replay(fp, pairs, split)
        print(f"   replay ({split}): {r.stories} stories -> {r.clusters} clusters, largest {r.largest}, "
              f"clusters mixing events: {len(r.mixed)} {r.mixed}; same pairs in one cluster: "
              f"{r.same_joined}/{r.same_pairs} ({r.recall:.3f}; LSH candidates and clustering included)\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the shingle-size sweep and the timings")
    parser.add_argument("--num-perm", type=int, default=DEFAULT_NUM_PERM)
    parser.add_argument("--bands", type=int, default=DEFAULT_BANDS)
    parser.add_argument("--shingle-size", type=int, default=DEFAULT_SHINGLE_SIZE)
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--real", action="store_true", help="only the real-looking pairs")
    args = parser.parse_args(argv)
    real_tables(Fingerprinter())
    synthetic_recall(Fingerprinter())
    if args.real:
        return 0
    stories = load()
    i, j, truth = pair_labels(stories)
    fp = Fingerprinter(num_perm=args.num_perm, bands=args.bands, shingle_size=args.shingle_size,
                       threshold=args.threshold)
    print(
        f"chosen: num_perm={fp.num_perm} bands={fp.band_count}x{fp.rows} shingle_size={fp.shingle_size} "
        f"threshold={fp.threshold} MIN_SHINGLES={MIN_SHINGLES}\n"
    )
    if not args.quick:
        shingle_size_table(stories, i, j, truth)
    for num_perm in dict.fromkeys((args.num_perm, 64, 128)):
        threshold_table(stories, Fingerprinter(num_perm=num_perm, bands=1, shingle_size=args.shingle_size), i, j, truth)
    banding_table(stories, i, j, truth, fp.threshold, fp.shingle_size)
    simhash_table(stories, fp, i, j, truth)
    if not args.quick:
        timing_table(stories, fp)
    headline_table(stories, fp, i, j, truth)
    by_kind = defaultdict(list)
    prints = [fp.fingerprint(s["title"], s["summary"]) for s in stories]
    for a, b in zip(i[truth].tolist(), j[truth].tolist()):
        kinds = "+".join(sorted((stories[a]["kind"], stories[b]["kind"])))
        by_kind[kinds].append(fp.similarity(prints[a], prints[b]))
    worst = sorted(by_kind.items(), key=lambda kv: statistics.median(kv[1]))[:8]
    print("7. Lowest-scoring kinds of copy pair (estimated Jaccard)")
    table(["pair kinds", "median", "min", f"share >= {fp.threshold}"],
          [[k, statistics.median(v), min(v), sum(x >= fp.threshold for x in v) / len(v)] for k, v in worst])
    return 0


if __name__ == "__main__":
    sys.exit(main())

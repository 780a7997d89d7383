"""Article text: extraction quality and cost on the project's page set, and article fetches over loopback.

    .venv/bin/python bench/bench_articles.py              # F1 and CPU per page, then fetches/s
    .venv/bin/python bench/bench_articles.py --rounds 5 --fetches 540

1. Quality: word-level F1 (multiset of folded words; characters for zh/ja) of
   the extracted main text against the hand-written reference of every page in
   ``tests/testdata/articles`` — trafilatura as the service runs it
   (``monitor.reader.extract_article``) and, when installed
   (``pip install '.[bench]'``), readability-lxml's ``Document.summary()``
   turned into text. Per page, then the median and the count at 0.8 or better.
2. Cost: CPU per page (``time.process_time``, the median of ``--rounds`` runs).
3. Fetching: the pages served by ``tests/feedserver.py`` in another process;
   ``ArticleReader.read`` (the service's fetch with every guard, then the
   extraction in a thread) over ``--fetches`` article URLs, against the same
   fetcher fetching the same pages without extraction (the floor). Prints
   fetches per second and client CPU per article.

No extractor setting was tuned on these pages: trafilatura runs with its
defaults (comments, images and links off; a bound on the tree size).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from articlepages import Page, load_pages, word_f1  # noqa: E402

from monitor.reader import ArticleReader, Fetcher, FetchLimits, decode_html, extract_article  # noqa: E402
from monitor.reader.articles import ACCEPT_HTML, HTML_TYPES  # noqa: E402


def trafilatura_text(page: Page) -> str:
    return extract_article(page.html, {"content-type": "text/html"}, f"https://news.example/{page.id}").text


def readability_text(page: Page) -> str:
    import lxml.html
    from readability import Document

    html, _ = decode_html(page.html)
    summary = Document(html).summary(html_partial=True)
    tree = lxml.html.fromstring(summary)
    blocks = tree.xpath("//p|//li|//h2|//h3|//h4|//blockquote|//tr")
    lines = [" ".join(b.text_content().split()) for b in blocks] or [tree.text_content()]
    return "\n".join(line for line in lines if line)


def have_readability() -> bool:
    try:
        import readability  # noqa: F401
    except ImportError:
        return False
    return True


def cpu_ms(fn, page: Page, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.process_time()
        fn(page)
        times.append(time.process_time() - started)
    return statistics.median(times) * 1000


def quality(pages: list[Page], rounds: int) -> None:
    extractors = {"trafilatura": trafilatura_text}
    if have_readability():
        extractors["readability"] = readability_text
    for fn in extractors.values():  # warm imports and caches
        fn(pages[0])
    rows = []
    scores: dict[str, list[float]] = {name: [] for name in extractors}
    cpus: dict[str, list[float]] = {name: [] for name in extractors}
    for page in pages:
        cells = [page.id, page.lang, page.shape]
        for name, fn in extractors.items():
            try:
                f1 = word_f1(fn(page), page.reference, page.lang)
            except Exception as exc:  # noqa: BLE001 - a failed page scores 0 and is shown
                print(f"  {name} failed on {page.id}: {type(exc).__name__}: {exc}", file=sys.stderr)
                f1 = 0.0
            ms = cpu_ms(fn, page, rounds)
            scores[name].append(f1)
            cpus[name].append(ms)
            cells += [f"{f1:.3f}", f"{ms:.1f}"]
        rows.append(cells)
    head = ["page", "lang", "shape"] + [f"{n} {k}" for n in extractors for k in ("F1", "CPU ms")]
    print("\nWord-level F1 against the reference text, and CPU per page (median of %d runs)" % rounds)
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("-" * (len(h) + 2) for h in head) + "|")
    for cells in rows:
        print("| " + " | ".join(c.rjust(len(h)) if i >= 3 else c.ljust(len(h)) for i, (c, h) in enumerate(zip(cells, head))) + " |")
    print()
    print("| extractor | pages | median F1 | mean F1 | pages ≥ 0.8 | min F1 | median CPU ms/page | mean CPU ms/page |")
    print("|-----------|-------|-----------|---------|-------------|--------|--------------------|------------------|")
    for name in extractors:
        s, c = scores[name], cpus[name]
        print(
            f"| {name} | {len(s)} | {statistics.median(s):.3f} | {statistics.mean(s):.3f} | "
            f"{sum(1 for x in s if x >= 0.8)} | {min(s):.3f} | {statistics.median(c):.1f} | {statistics.mean(c):.1f} |"
        )


def serve() -> None:
    """Serve the pages (as /p/<id>.html) until standard input closes."""
    from feedserver import FeedServer

    with FeedServer() as server:
        for page in load_pages():
            server.set_route(f"/p/{page.id}.html", page.html, content_type="text/html")
        print(server.port, flush=True)
        sys.stdin.read()


async def fetch_round(urls: list[str], extract: bool, concurrency: int) -> tuple[float, float, int]:
    limits = FetchLimits(deadline=20, connect_timeout=5, read_timeout=10)
    pool = ThreadPoolExecutor(max_workers=4)
    async with Fetcher(limits, concurrency=concurrency, per_host=concurrency) as fetcher:
        reader = ArticleReader(fetcher, per_host=concurrency, pause=0, executor=pool)

        async def one(url: str) -> bool:
            if extract:
                return (await reader.read(url)).status == "ok"
            await fetcher.fetch(url, accept=ACCEPT_HTML, content_types=HTML_TYPES)
            return True

        await one(urls[0])  # warm the connection pool
        wall, cpu = time.perf_counter(), time.process_time()
        ok = sum(await asyncio.gather(*(one(u) for u in urls)))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    pool.shutdown()
    return wall, cpu, ok


def fetching(fetches: int, concurrency: int) -> None:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        ids = [p.id for p in load_pages()]
        urls = [f"http://127.0.0.1:{port}/p/{ids[i % len(ids)]}.html?n={i}" for i in range(fetches)]
        print(f"\nArticle fetches over loopback: {fetches} pages, {concurrency} at once, server in another process")
        print("| what | fetches | ok | wall s | fetches/s | client CPU ms/article |")
        print("|------|---------|----|--------|-----------|-----------------------|")
        for label, extract in (("fetch only (the floor)", False), ("fetch + extract (ArticleReader.read)", True)):
            wall, cpu, ok = asyncio.run(fetch_round(urls, extract, concurrency))
            print(f"| {label} | {fetches} | {ok} | {wall:.2f} | {fetches / wall:.0f} | {cpu / fetches * 1000:.1f} |")
    finally:
        if proc.stdin:
            proc.stdin.close()
        proc.wait(timeout=10)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3, help="CPU timing runs per page")
    p.add_argument("--fetches", type=int, default=270, help="article fetches in the loopback run")
    p.add_argument("--concurrency", type=int, default=8, help="article fetches at once")
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        serve()
        return
    pages = load_pages()
    print(f"bench_articles: {len(pages)} pages, {len({p.lang for p in pages})} languages")
    quality(pages, args.rounds)
    fetching(args.fetches, args.concurrency)


if __name__ == "__main__":
    main()

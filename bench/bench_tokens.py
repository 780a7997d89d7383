"""The one tokenizer's speed, per script, against the floor and the plain regex.

    python bench/bench_tokens.py

For a news-sized text in each script (a title and a lede, about 50 words or
150 characters of Chinese), prints the CPU microseconds of ``folded_words``
(what matching and fingerprints call), of ``word_spans`` (highlighting), of
the regex alone (what the tokenizer did before segmentation: no word breaks
for scripts without spaces) and of ``str.split`` (the floor), and for Chinese
and Thai how segmentation compares with ICU's word breaks on the whole text
(``icu4py``), the alternative for Chinese and Japanese.
"""

from __future__ import annotations

import time

from icu4py.breakers import WordBreaker

from monitor.text import WORD, folded_words, word_spans
from monitor.text.tokens import _CACHE

TEXTS = {
    "English (ASCII)": "Russia says it coordinated Syria air strikes with U.S.-led coalition. MOSCOW, Nov 3 (Reuters) - "
    "Russia's defence ministry said on Tuesday its warplanes had struck Islamic State positions near Deir ez-Zor "
    "in eastern Syria in coordination with the coalition, which would be the first such joint action.",
    "French (accents)": "Le président français a visité Genève mardi. Les ministres européens se sont réunis à "
    "Bruxelles pour discuter de la réforme énergétique, a déclaré un porte-parole du gouvernement fédéral.",
    "Russian": "Минобороны России заявило о совместных с коалицией ударах по позициям ИГ в районе Дейр-эз-Зора. "
    "Представитель министерства генерал-майор Игорь Конашенков сообщил, что цели были согласованы заранее.",
    "Bengali": "অস্ট্রেলিয়ার প্রধানমন্ত্রী ঢাকায় পৌঁছেছেন। দুই দেশের মধ্যে বাণিজ্য ও বিনিয়োগ নিয়ে আলোচনা হবে বলে "
    "পররাষ্ট্র মন্ত্রণালয় জানিয়েছে। সফরে কয়েকটি সমঝোতা স্মারক সই হওয়ার কথা রয়েছে।",
    "Chinese": "中国外交部发言人在北京表示，俄罗斯与土耳其首次在叙利亚境内联合打击极端组织，事先获得叙利亚政府同意。"
    "发言人说，中方一贯支持国际社会共同打击恐怖主义，希望各方加强协调，推动政治解决叙利亚问题。",
    "Japanese": "大阪府知事は会見で、新型ウイルスの感染拡大を受けて府内の学校を一斉に休校にする方針を明らかにした。"
    "知事は府民に対し、不要不急の外出を控えるよう呼びかけた。",
    "Thai": "ฝนตกหนักในกรุงเทพวันนี้ทำให้น้ำท่วมขังหลายพื้นที่ กรมอุตุนิยมวิทยาเตือนประชาชนให้ระวังอันตรายจากฝนที่ตกหนัก"
    "ต่อเนื่องในช่วงสองวันข้างหน้า",
}


def cpu_us(fn, text: str, rounds: int = 2000) -> float:
    best = float("inf")
    for _ in range(5):
        t0 = time.process_time()
        for _ in range(rounds):
            fn(text)
        best = min(best, time.process_time() - t0)
    return best / rounds * 1e6


def main() -> None:
    rows = []
    for name, text in TEXTS.items():
        folded = cpu_us(folded_words, text)
        _CACHE.clear()
        cold = cpu_us(lambda t: (_CACHE.clear(), folded_words(t)), text, rounds=300)
        rows.append([
            name, len(folded_words(text)), f"{folded:.1f}", f"{cold:.1f}", f"{cpu_us(word_spans, text):.1f}",
            f"{cpu_us(WORD.findall, text):.1f}", f"{cpu_us(str.split, text):.2f}",
            f"{cpu_us(lambda t: list(WordBreaker(t, 'en')), text, rounds=300):.1f}",
        ])
    header = ["text", "words", "folded_words µs", "cold cache µs", "word_spans µs", "regex alone µs", "str.split µs",
              "ICU whole text µs"]
    widths = [max(len(h), *(len(str(r[i])) for r in rows)) for i, h in enumerate(header)]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(str(c).rjust(w) for c, w in zip(r, widths)))
    print("\nfolded_words keeps a cache of folded non-ASCII words; 'cold cache' clears it before every call.")


if __name__ == "__main__":
    main()

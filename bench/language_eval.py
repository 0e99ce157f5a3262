"""Language detectors on short news comments: accuracy and speed.

    .venv/bin/python -m bench.language_eval [--data bench/language_eval.jsonl] [--passes 5]

The data (written for this bench): 15-16 comments of 5-30 words in each of English, Russian,
Ukrainian, French, German, Spanish, Turkish, Arabic, Persian and Tajik (Cyrillic), about troops on
a border; mixed-script comments (a Russian text with Latin look-alike letters, an English one with
Cyrillic ones, emoji, a link, an @mention), labelled with their main language; two Russian
comments in Latin transliteration; and texts with no letters (expected: nothing detected).

Detectors: the service's own ``domain/language.detect`` (py3langid after bounding the text, dropping
links and folding look-alike letters; a confidence under ``--min-confidence`` counts as "not
detected", as the worker routes), py3langid alone, lingua (low-accuracy mode, all languages and a
restricted set) and langdetect. Only py3langid is a dependency of the service; to compare the
others, install them beside it (``pip install --target /tmp/langbench --no-deps
lingua-language-detector langdetect six`` and run with ``PYTHONPATH=/tmp/langbench``); a detector
that is not installed is listed as such.

Each detector runs in a process of its own, so that its load time and the memory it adds (RSS
after loading and one pass, less RSS before the import) are its own. Speed: microseconds per
comment, the best and the median of ``--passes`` passes over the whole file after one warm-up pass
(the best is the steadier number on a shared machine).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

GROUPS = ("en", "ru", "uk", "fr", "de", "es", "tr", "ar", "fa", "tg")
# the languages detoxify's multilingual model reads: a Tajik comment detected as one of them would
# be scored by a model that does not read it
MODEL_LANGUAGES = {"en", "fr", "es", "it", "pt", "tr", "ru"}
DETECTORS = ("detect", "py3langid", "lingua_low_all", "lingua_low_restricted", "langdetect")

Detector = Callable[[str], tuple[str | None, float]]


def _build(name: str, min_confidence: float) -> Detector:
    if name == "detect":
        from comments_service.domain.language import detect, warm

        warm()

        def run(text: str) -> tuple[str | None, float]:
            d = detect(text)
            return (d.language if d.confidence >= min_confidence else None), d.confidence

        return run
    if name == "py3langid":
        from py3langid import langid  # type: ignore[import-untyped]

        ident = langid._load_identifier(norm_probs=True)
        return lambda text: tuple(ident.classify(text))
    if name.startswith("lingua"):
        from lingua import Language, LanguageDetectorBuilder  # type: ignore[import-not-found,unused-ignore]

        if name == "lingua_low_all":
            builder = LanguageDetectorBuilder.from_all_languages()
        else:
            builder = LanguageDetectorBuilder.from_languages(
                Language.ENGLISH, Language.RUSSIAN, Language.UKRAINIAN, Language.FRENCH, Language.GERMAN,
                Language.SPANISH, Language.ITALIAN, Language.PORTUGUESE, Language.TURKISH, Language.ARABIC,
                Language.PERSIAN)
        lingua = builder.with_low_accuracy_mode().build()

        def run_lingua(text: str) -> tuple[str | None, float]:
            values = lingua.compute_language_confidence_values(text)
            if not values or values[0].value <= 0:
                return None, 0.0
            return values[0].language.iso_code_639_1.name.lower(), values[0].value

        return run_lingua
    if name == "langdetect":
        from langdetect import DetectorFactory, detect_langs  # type: ignore[import-not-found,unused-ignore]
        from langdetect.lang_detect_exception import (  # type: ignore[import-not-found,unused-ignore]
            LangDetectException,
        )

        DetectorFactory.seed = 0  # deterministic

        def run_langdetect(text: str) -> tuple[str | None, float]:
            try:
                best = detect_langs(text)[0]
            except LangDetectException:
                return None, 0.0
            return best.lang, best.prob

        return run_langdetect
    raise SystemExit(f"unknown detector {name}")


def _rss() -> int:
    from comments_service.procmem import rss_bytes

    return rss_bytes() or 0


def measure(name: str, rows: list[dict], passes: int, min_confidence: float) -> dict:
    before = _rss()
    started = time.perf_counter()
    try:
        detector = _build(name, min_confidence)
    except ImportError as exc:
        return {"detector": name, "missing": str(exc)}
    load_s = time.perf_counter() - started
    texts = [r["text"] for r in rows]
    answers = [detector(t) for t in texts]  # warm-up, and the answers scored
    timings = []
    for _ in range(passes):
        t0 = time.perf_counter()
        for t in texts:
            detector(t)
        timings.append((time.perf_counter() - t0) / len(texts) * 1e6)
    groups: dict[str, list[int]] = {}
    tajik_to_model = 0
    misses = []
    for row, (code, confidence) in zip(rows, answers, strict=True):
        key = row["lang"] if row["kind"] == "plain" else row["kind"]
        counts = groups.setdefault(key, [0, 0])
        counts[1] += 1
        if code == row["lang"]:
            counts[0] += 1
        elif row["kind"] != "no_letters" or name == "detect":
            misses.append(f"{row['lang']}->{code} ({confidence:.2f}): {row['text'][:40]}")
        if row["lang"] == "tg" and code in MODEL_LANGUAGES:
            tajik_to_model += 1
    plain = [c for k, c in groups.items() if k in GROUPS]
    return {"detector": name, "load_s": round(load_s, 2), "rss_mib": round((_rss() - before) / 2**20),
            "us_per_comment": round(min(timings)), "us_median": round(statistics.median(timings)),
            "plain": [sum(c[0] for c in plain), sum(c[1] for c in plain)],
            "groups": groups, "tajik_to_model_language": tajik_to_model, "misses": misses}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(Path(__file__).with_name("language_eval.jsonl")))
    parser.add_argument("--passes", type=int, default=9)
    parser.add_argument("--min-confidence", type=float, default=0.5)
    parser.add_argument("--only", choices=DETECTORS, help="one detector, printed as JSON (used by the full run)")
    parser.add_argument("--misses", action="store_true", help="list each wrong answer")
    args = parser.parse_args()
    rows = [json.loads(line) for line in Path(args.data).read_text(encoding="utf-8").splitlines() if line.strip()]
    if args.only:
        print(json.dumps(measure(args.only, rows, args.passes, args.min_confidence), ensure_ascii=False))
        return
    results = []
    for name in DETECTORS:
        out = subprocess.run([sys.executable, "-m", "bench.language_eval", "--only", name, "--data", args.data,
                              "--passes", str(args.passes), "--min-confidence", str(args.min_confidence)],
                             capture_output=True, text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    kinds = [*GROUPS, "mixed", "translit", "no_letters"]
    print(f"{len(rows)} comments; accuracy = the detector's first answer is the label "
          f"(no letters: nothing detected)\n")
    header = ["detector", "µs/comment (best, median)", "load s", "RSS MiB", "10 languages", *kinds,
              "Tajik as a model language"]
    print("| " + " | ".join(header) + " |")
    print("|---" * (len(kinds) + 6) + "|")
    for r in results:
        if "missing" in r:
            print(f"| {r['detector']} | not installed ({r['missing']}) |")
            continue
        cells = [f"{r['groups'].get(k, [0, 0])[0]}/{r['groups'].get(k, [0, 0])[1]}" for k in kinds]
        ok, total = r["plain"]
        print(f"| {r['detector']} | {r['us_per_comment']}, {r['us_median']} | {r['load_s']} | {r['rss_mib']} | "
              f"{ok}/{total} ({100 * ok / total:.0f}%) | {' | '.join(cells)} | {r['tajik_to_model_language']} |")
    if args.misses:
        for r in results:
            for miss in r.get("misses", []):
                print(f"{r['detector']}: {miss}")


if __name__ == "__main__":
    main()

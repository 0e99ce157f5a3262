"""Offline moderation quality on comments in Russian, Ukrainian, French and Persian.

    .venv/bin/python -m bench.eval_multilingual            # prints a Markdown report
    .venv/bin/python -m bench.eval_multilingual --json out.json

bench/eval_multilingual.jsonl was written for this project: civil comments (news talk with violent
vocabulary: killed, shelling, bombs, terrorists; and general remarks, with innocent twins of listed
words such as "сук", "бляха", "هیچ کس") and abusive ones by kind (insult, profanity, obfuscated,
identity_attack, threat, violence_wish), at least 40 per language. No model weights are needed:
like bench/scoring.py's offline evaluation it runs domain/policy.decide with no scores (word lists
and policy only) and with the offline fallback scorer (alt-profanity-check, English-trained),
with and without the built-in word lists of every language (``moderation.word_lists.builtin: true``).

Measures, as for the English set: per kind how many comments were published, held and rejected;
'kept out' = held or rejected. Per language, taking "abusive" as the positive class and "kept out"
as the prediction: precision (kept-out comments that were abusive), recall (abusive comments kept
out) and F1.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

from comments_service.domain.policy import Decision, PolicyConfig, PolicyContext, decide

EVAL_SET = Path(__file__).resolve().parent / "eval_multilingual.jsonl"
BUILTIN = {"word_lists": {"builtin": True}}


def pipelines(with_fallback: bool) -> dict[str, Callable[[dict[str, float] | None, str], Decision]]:
    lists = PolicyConfig.from_site_settings({**BUILTIN, "fail_closed": False})
    lists_closed = PolicyConfig.from_site_settings({**BUILTIN, "fail_closed": True})
    plain = PolicyConfig(fail_closed=False)
    none, fallback = PolicyContext(), PolicyContext(model_fallback=True)
    out: dict[str, Callable[[dict[str, float] | None, str], Decision]] = {
        "built-in word lists + policy (no model, fail open)": lambda s, t: decide(None, t, none, lists),
        "default (English) word lists only + policy (no model, fail open)": lambda s, t: decide(None, t, none, plain),
    }
    if with_fallback:
        out["fallback + built-in word lists + policy (fail open)"] = lambda s, t: decide(s, t, fallback, lists)
        out["fallback + default word lists + policy (fail open)"] = lambda s, t: decide(s, t, fallback, plain)
        out["fallback + built-in word lists + policy (fail closed, default)"] = (
            lambda s, t: decide(s, t, fallback, lists_closed))
    return out


def prf(c: Counter) -> tuple[float, float, float]:
    tp, fp, fn = c["tp"], c["fp"], c["fn"]
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def evaluate(rows: list[dict], with_fallback: bool) -> dict:
    scores: list[dict[str, float] | None] = [None] * len(rows)
    model_id = None
    if with_fallback:
        from comments_service.toxicity.fallback import FallbackScorer

        scorer = FallbackScorer("benchmark")
        scores = list(scorer.score_batch([r["text"] for r in rows]))
        model_id = scorer.model_id
    result: dict = {"n": len(rows), "model_id": model_id, "pipelines": {}}
    for name, fn in pipelines(with_fallback).items():
        by_kind: dict[str, Counter] = defaultdict(Counter)
        confusion: dict[str, Counter] = defaultdict(Counter)
        misses, false_holds = [], []
        for row, s in zip(rows, scores, strict=True):
            d = fn(s, row["text"])
            by_kind[f"{row['lang']} {row['label']}/{row['kind']}"][d.outcome] += 1
            kept_out = d.outcome != "published"
            abusive = row["label"] == "abusive"
            cell = "tp" if abusive and kept_out else "fn" if abusive else "fp" if kept_out else "tn"
            for lang in (row["lang"], "all"):
                confusion[lang][cell] += 1
                confusion[lang]["rejected_" + row["label"]] += d.outcome == "rejected"
            if abusive and not kept_out:
                misses.append(f"{row['lang']}: {row['text']}")
            if not abusive and kept_out:
                false_holds.append(f"{row['lang']}: {row['text']} [{d.outcome}: {d.reason}"
                                   f"{' ' + d.term if d.term else ''}{' ' + d.label if d.label else ''}]")
        result["pipelines"][name] = {
            "by_kind": {k: dict(c) for k, c in sorted(by_kind.items())},
            "by_language": {lang: {**dict(c), **dict(zip(("precision", "recall", "f1"), prf(c), strict=True))}
                            for lang, c in confusion.items()},
            "abusive_published": misses, "civil_not_published": false_holds,
        }
    return result


def render(result: dict) -> str:
    lines = [f"{result['n']} comments (bench/eval_multilingual.jsonl)"
             + (f"; fallback scorer {result['model_id']}" if result["model_id"] else "") + ".", ""]
    for name, p in result["pipelines"].items():
        lines += [f"**{name}**", "",
                  "| language | n | abusive kept out (recall) | of them rejected | civil not published | "
                  "precision | recall | F1 |", "|---|---|---|---|---|---|---|---|"]
        for lang, c in sorted(p["by_language"].items(), key=lambda item: item[0] == "all"):
            abusive, civil = c.get("tp", 0) + c.get("fn", 0), c.get("fp", 0) + c.get("tn", 0)
            lines.append(f"| {lang} | {abusive + civil} | {c.get('tp', 0)}/{abusive} | "
                         f"{c.get('rejected_abusive', 0)} | {c.get('fp', 0)}/{civil} | "
                         f"{c['precision']:.2f} | {c['recall']:.2f} | {c['f1']:.2f} |")
        lines += ["", "| set | n | published | held | rejected |", "|---|---|---|---|---|"]
        for key, c in p["by_kind"].items():
            lines.append(f"| {key} | {sum(c.values())} | {c.get('published', 0)} | {c.get('held', 0)} | "
                         f"{c.get('rejected', 0)} |")
        lines.append("")
        if p["abusive_published"]:
            lines += ["Abuse that got through: " + "; ".join(f"“{t}”" for t in p["abusive_published"]), ""]
        if 0 < len(p["civil_not_published"]) <= 15:
            lines += ["Civil comments not published: " + "; ".join(f"“{t}”" for t in p["civil_not_published"]), ""]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-fallback", action="store_true", help="skip the alt-profanity-check pipelines")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    rows = [json.loads(line) for line in EVAL_SET.read_text("utf-8").splitlines() if line.strip()]
    result = evaluate(rows, with_fallback=not args.no_fallback)
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", "utf-8")
    print(render(result), end="")


if __name__ == "__main__":
    main()

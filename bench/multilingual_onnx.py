"""detoxify's multilingual model (XLM-RoBERTa-base) through the ONNX int8 path, side by side with
detoxify's own predict() on the same comments.

    .venv/bin/python -m bench.multilingual_onnx                 # prints a Markdown report
    .venv/bin/python -m bench.multilingual_onnx --pairs 3 --passes 3 --json bench/results_multilingual_onnx.json

A Detoxify-format checkpoint with random weights and xlm-roberta-base's real dimensions (12
layers, hidden 768, the 250002-row embedding matrix: 1.1 GB of fp32 like the released file) is
built offline once (``testing.build_random_checkpoint``, kept in ~/.cache/comments_service/bench/),
with a SentencePiece tokenizer trained on generated multilingual text (some 700 pieces instead of
XLM-R's 250000: token counts differ from the real tokenizer's, for both runtimes alike; the report
gives the mean).

Then, each in a fresh process so that its RSS is its own:

* the export: the worker's first start with an empty cache (the export, optimisation and int8
  quantisation run in a child of it, as in the worker): seconds, the child's peak RSS, the int8
  file's size;
* detoxify (our detoxify backend, detoxify's predict()) and ONNX int8 (our onnx backend, served
  from the cache without torch) on the same ``--comments`` mixed-language comments (English,
  Russian, French, Spanish, Turkish, Arabic, Persian; 20-400 characters), scored the way the
  worker scores them: ``score_batch`` on consecutive batches of ``--batch`` comments. Each process
  makes ``--passes`` passes after a warm-up batch; the two runtimes run alternately, ``--pairs``
  times (detoxify, onnx, detoxify, onnx...), so that a busy spell of the shared machine hits both.
  Medians over every pass of every process: ms per comment, ms per batch; RSS after loading, after
  scoring and peak (VmHWM), medians over the processes.

Agreement: max |onnx - detoxify| per label on the same comments (random weights put every score
near 0.5, so this checks the plumbing, not a trained model's spread: tests/toxicity/
test_multilingual_onnx.py checks 0.02 on a trained tiny XLM-R).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

from bench.scoring import CACHE, OthersMeter, machine_conditions

ROOT = Path(__file__).resolve().parent.parent
ARCH = "xlm-roberta-base"
MODES = ("detoxify", "onnx-int8")


def bench_texts(n: int) -> list[str]:
    """Typical comments of one to three sentences in seven languages (giant ones are split into
    windows anyway, the same way by both backends)."""
    from comments_service.toxicity.testing import sample_multilingual_comments

    texts = [t for t in sample_multilingual_comments(n * 4, seed=5) if 20 <= len(t) <= 400][:n]
    assert len(texts) == n, len(texts)
    return texts


def _settings(ckpt: str, config: str, cache: str, threads: int, batch: int,
              backend: Literal["detoxify", "onnx"]) -> Any:
    from comments_service.toxicity import ToxicitySettings

    return ToxicitySettings(backend=backend, variant="multilingual", checkpoint=ckpt, config_dir=config,
                            cache_dir=cache, threads=threads, batch_size=batch)


def _rss_mb() -> float:
    from comments_service.procmem import rss_bytes

    return (rss_bytes() or 0) / 2**20


def _peak_mb() -> float:
    from comments_service.procmem import peak_rss_bytes

    return peak_rss_bytes() / 2**20


# ----------------------------------------------------------------------------- children
def child_export(args: argparse.Namespace) -> None:
    import resource

    from comments_service.toxicity.onnx_backend import OnnxScorer

    start = time.perf_counter()
    scorer = OnnxScorer(_settings(args.ckpt, args.config, args.cache, args.threads, args.batch, "onnx"))
    total = time.perf_counter() - start
    meta = scorer.meta
    print("RESULT " + json.dumps({
        "total_seconds": round(total, 1), "build_seconds": meta["build_seconds"],
        "export_seconds": meta["export_seconds"], "optimized": meta["optimized"], "fused": meta["fused"],
        "weights": meta["weights"], "source": scorer.source,
        "export_child_peak_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
        "int8_mb": round((scorer.export_dir / "model.int8.onnx").stat().st_size / 2**20, 1),
        "checkpoint_mb": round(Path(args.ckpt).stat().st_size / 2**20, 1),
    }), flush=True)


def child_measure(args: argparse.Namespace) -> None:
    start = time.perf_counter()
    scorer: Any
    settings = _settings(args.ckpt, args.config, args.cache, args.threads, args.batch,
                         "onnx" if args.mode == "onnx-int8" else "detoxify")
    if args.mode == "onnx-int8":
        from comments_service.toxicity.onnx_backend import OnnxScorer

        scorer = OnnxScorer(settings)
        assert scorer.source == "onnx-cache", scorer.source
    else:
        from comments_service.toxicity.detoxify_backend import DetoxifyScorer

        scorer = DetoxifyScorer(settings)
    load_s = time.perf_counter() - start
    rss_loaded = _rss_mb()
    texts = bench_texts(args.comments)
    batch = args.batch
    scorer.score_batch(texts[:batch])  # warm-up
    per_pass, per_batch, scores = [], [], None
    for n in range(args.passes):
        got: list[dict[str, float]] = []
        t0 = time.perf_counter()
        for offset in range(0, len(texts), batch):
            b0 = time.perf_counter()
            got += scorer.score_batch(texts[offset:offset + batch])
            per_batch.append(1000 * (time.perf_counter() - b0))
        per_pass.append(1000 * (time.perf_counter() - t0) / len(texts))
        if n == 0:
            scores = got
    Path(args.scores).write_text(json.dumps(scores))
    print("RESULT " + json.dumps({
        "mode": args.mode, "model_id": scorer.model_id, "load_seconds": round(load_s, 2),
        "torch_imported": "torch" in sys.modules, "rss_loaded_mb": round(rss_loaded),
        "rss_after_mb": round(_rss_mb()), "rss_peak_mb": round(_peak_mb()),
        "ms_per_comment_passes": [round(x, 2) for x in per_pass],
        "ms_per_batch": [round(x, 1) for x in per_batch],
    }), flush=True)


def _run_child(argv: list[str], timeout: float = 1800) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    meter = OthersMeter()
    res = subprocess.run([sys.executable, "-m", "bench.multilingual_onnx", *argv], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=timeout)
    for line in res.stdout.splitlines():
        if line.startswith("RESULT "):
            return {**json.loads(line[7:]), "others_cores": round(meter.cores(), 2)}
    raise RuntimeError(f"child {argv[:2]} failed ({res.returncode}):\n{res.stderr[-3000:]}")


# ----------------------------------------------------------------------------- the run
def build_model(rebuild: bool) -> tuple[str, str]:
    from comments_service.toxicity.testing import build_random_checkpoint

    directory = CACHE / "bench" / ARCH
    ckpt, config = directory / f"{ARCH}.ckpt", directory / "config"
    if rebuild or not ckpt.is_file() or not (config / "tokenizer.json").is_file():
        shutil.rmtree(directory, ignore_errors=True)
        print(f"building a random {ARCH} checkpoint in {directory}", flush=True)
        ckpt, config = build_random_checkpoint(directory, ARCH)
    return str(ckpt), str(config)


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def run(args: argparse.Namespace) -> dict:
    import numpy as np
    from transformers import AutoTokenizer

    ckpt, config = build_model(args.rebuild)
    texts = bench_texts(args.comments)
    tok = AutoTokenizer.from_pretrained(config)
    lengths = [len(ids) for ids in tok(texts, truncation=True)["input_ids"]]
    work = Path(tempfile.mkdtemp(prefix="bench-xlmr-"))
    cache = work / "onnx-cache"
    common = ["--ckpt", ckpt, "--config", config, "--cache", str(cache), "--threads", str(args.threads),
              "--batch", str(args.batch)]
    try:
        print("export + optimise + int8 quantise (empty cache)", flush=True)
        export = _run_child(["_export", *common])
        print("  ", export, flush=True)
        runs: dict[str, list[dict]] = {mode: [] for mode in MODES}
        for pair in range(args.pairs):
            for mode in MODES:
                scores = work / f"{mode}-{pair}.json"
                res = _run_child(["_measure", "--mode", mode, "--comments", str(args.comments),
                                  "--passes", str(args.passes), "--scores", str(scores), *common])
                res["scores"] = json.loads(scores.read_text())
                runs[mode].append(res)
                print(f"   pair {pair + 1} {mode}: {res['ms_per_comment_passes']} ms/comment, RSS loaded "
                      f"{res['rss_loaded_mb']} MB, peak {res['rss_peak_mb']} MB, others {res['others_cores']} "
                      "cores", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    labels = list(runs["detoxify"][0]["scores"][0])
    a = np.array([[s[label] for label in labels] for s in runs["detoxify"][0]["scores"]])
    b = np.array([[s[label] for label in labels] for s in runs["onnx-int8"][0]["scores"]])
    summary: dict = {}
    for mode, results in runs.items():
        summary[mode] = {
            "ms_per_comment": _median([x for r in results for x in r["ms_per_comment_passes"]]),
            "ms_per_batch": _median([x for r in results for x in r["ms_per_batch"]]),
            "rss_loaded_mb": _median([r["rss_loaded_mb"] for r in results]),
            "rss_after_mb": _median([r["rss_after_mb"] for r in results]),
            "rss_peak_mb": _median([r["rss_peak_mb"] for r in results]),
            "load_seconds": _median([r["load_seconds"] for r in results]),
            "torch_imported": any(r["torch_imported"] for r in results),
            "others_cores": [r["others_cores"] for r in results],
            "model_id": results[0]["model_id"],
        }
        for r in results:
            r.pop("scores")
    summary["agreement"] = {
        "labels": labels,
        "max_abs_diff": round(float(np.abs(a - b).max()), 4),
        "max_abs_diff_per_label": dict(zip(labels, np.abs(a - b).max(axis=0).round(4).tolist(), strict=True)),
        "score_range": [round(float(a.min()), 3), round(float(a.max()), 3)],
    }
    return {"export": export, "summary": summary, "runs": runs, "comments": len(texts),
            "mean_tokens": round(sum(lengths) / len(lengths), 1), "max_tokens": max(lengths),
            "vocab": len(tok), "batch": args.batch, "threads": args.threads, "pairs": args.pairs,
            "passes": args.passes}


def render(res: dict, argv: list[str], conditions: dict) -> str:
    d, o, e = res["summary"]["detoxify"], res["summary"]["onnx-int8"], res["export"]
    agree = res["summary"]["agreement"]

    def ratio(mine: float, theirs: float) -> str:
        return f"{theirs / mine:.1f}x faster" if mine else ""

    lines = [
        f"Command: `.venv/bin/python -m bench.multilingual_onnx {' '.join(argv)}`", "",
        f"Machine: {os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), Python "
        f"{platform.python_version()}; load average before {conditions['before']['loadavg']}, after "
        f"{conditions['after']['loadavg']}; {conditions['before']['time']}.", "",
        f"{res['comments']} mixed-language comments (en, ru, fr, es, tr, ar, fa; mean {res['mean_tokens']} "
        f"tokens, longest {res['max_tokens']}), scored as the worker scores them: batches of {res['batch']}, "
        f"{res['threads']} model thread(s). {res['pairs']} fresh processes per runtime, run alternately, "
        f"{res['passes']} passes each; medians over all passes (time) and processes (RSS).", "",
        "| | detoxify `predict()` | **ONNX Runtime int8** |", "|---|---|---|",
        f"| ms per comment (median) | {d['ms_per_comment']} | **{o['ms_per_comment']}** "
        f"({ratio(o['ms_per_comment'], d['ms_per_comment'])}) |",
        f"| ms per batch of {res['batch']} (median) | {d['ms_per_batch']} | **{o['ms_per_batch']}** |",
        f"| RSS loaded | {d['rss_loaded_mb']:.0f} MB | **{o['rss_loaded_mb']:.0f} MB** "
        f"({o['rss_loaded_mb'] / d['rss_loaded_mb']:.2f}) |",
        f"| RSS after scoring | {d['rss_after_mb']:.0f} MB | **{o['rss_after_mb']:.0f} MB** "
        f"({o['rss_after_mb'] / d['rss_after_mb']:.2f}) |",
        f"| peak RSS | {d['rss_peak_mb']:.0f} MB | **{o['rss_peak_mb']:.0f} MB** "
        f"({o['rss_peak_mb'] / d['rss_peak_mb']:.2f}) |",
        f"| load | {d['load_seconds']} s | {o['load_seconds']} s (from the cache, torch imported: "
        f"{o['torch_imported']}) |",
        f"| others' CPU per process | {d['others_cores']} cores | {o['others_cores']} cores |",
        "",
        f"Export (first start, empty cache, in a child process): {e['total_seconds']} s in all, "
        f"{e['build_seconds']} s export + optimise + quantise ({e['export_seconds']} s of it torch.onnx.export), "
        f"peak RSS of the export child {e['export_child_peak_mb']} MB; fused {e['fused']}; {e['weights']} weights. "
        f"Files: checkpoint {e['checkpoint_mb']} MB, int8 ONNX {e['int8_mb']} MB.", "",
        f"Agreement on these comments (random weights: scores {agree['score_range'][0]}–{agree['score_range'][1]}): "
        f"max |onnx - detoxify| {agree['max_abs_diff']} over {len(agree['labels'])} labels.", "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="bench.multilingual_onnx")
    sub = parser.add_subparsers(dest="cmd")
    for name in ("_export", "_measure"):
        p = sub.add_parser(name)
        p.add_argument("--mode", choices=MODES, default="onnx-int8")
        p.add_argument("--ckpt", required=True)
        p.add_argument("--config", required=True)
        p.add_argument("--cache", required=True)
        p.add_argument("--threads", type=int, default=1)
        p.add_argument("--batch", type=int, default=32)
        p.add_argument("--comments", type=int, default=200)
        p.add_argument("--passes", type=int, default=3)
        p.add_argument("--scores")
    parser.add_argument("--comments", type=int, default=200)
    parser.add_argument("--batch", type=int, default=32, help="comments per score_batch (the worker's batch size)")
    parser.add_argument("--threads", type=int, default=1, help="model threads (the worker's default: 1)")
    parser.add_argument("--pairs", type=int, default=3, help="fresh processes per runtime, run alternately")
    parser.add_argument("--passes", type=int, default=3, help="passes over the comments per process")
    parser.add_argument("--rebuild", action="store_true", help="build the random checkpoint again")
    parser.add_argument("--json", help="write the raw results here")
    args = parser.parse_args(argv)
    if args.cmd == "_export":
        return child_export(args)
    if args.cmd == "_measure":
        return child_measure(args)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    conditions = {"before": machine_conditions()}
    res = run(args)
    conditions["after"] = machine_conditions()
    text = render(res, argv, conditions)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps({"argv": argv, "conditions": conditions, **res}, indent=1) + "\n")


if __name__ == "__main__":
    main()

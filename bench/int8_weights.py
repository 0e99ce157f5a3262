"""int8 or uint8 weights in the ONNX export: agreement with detoxify on a CPU with VNNI and on one
without it, and the speed each costs on this machine.

    .venv/bin/python -m bench.int8_weights [--rounds 7] [--out bench/results_int8_weights.json]

agreement: the tiny trained checkpoint whose scores spread over 0..1 (as the tests use), its
export with int8 and with uint8 weights, each scoring 240 comments natively and under
``qemu-x86_64 -cpu EPYC-Rome`` (AVX2 without AVX-512 or VNNI), against detoxify's scores: the
worst difference per label and the share of publish/hold/reject decisions that agree.

speed: BERT-base with random weights (bench.scoring's checkpoint and vocabulary), both exports,
one thread, rounds of the bench's 32 comments alternating between them; median ms per comment.
Only the native CPU is timed (the emulator's times mean nothing).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec
import numpy as np

WEIGHTS = ("int8", "uint8")
CPU_WITHOUT_VNNI = "EPYC-Rome"
CHILD = (
    "import json, sys, msgspec\n"
    "from comments_service.toxicity import ToxicitySettings, load_scorer\n"
    "s = msgspec.json.decode(sys.argv[1], type=ToxicitySettings)\n"
    "sc = load_scorer(s)\n"
    "assert sc.source == 'onnx-cache', sc.describe()\n"
    "print('RESULT ' + json.dumps(sc.score_batch(json.loads(open(sys.argv[2]).read()))))\n"
)


def _score_in_child(settings, texts_file: Path, emulate: bool) -> list[dict[str, float]]:
    prefix = [shutil.which("qemu-x86_64") or "qemu-x86_64", "-cpu", CPU_WITHOUT_VNNI] if emulate else []
    res = subprocess.run([*prefix, sys.executable, "-c", CHILD, msgspec.json.encode(settings).decode(),
                          str(texts_file)], capture_output=True, text=True, timeout=900)
    lines = [line for line in res.stdout.splitlines() if line.startswith("RESULT ")]
    if res.returncode or not lines:
        raise RuntimeError(res.stderr[-2000:])
    return json.loads(lines[-1][7:])


def agreement(tmp: Path) -> dict:
    from comments_service.domain.policy import PolicyConfig, PolicyContext, decide
    from comments_service.toxicity import ToxicitySettings, load_scorer
    from comments_service.toxicity.testing import build_tiny_checkpoint, sample_comments

    ckpt, config = build_tiny_checkpoint(tmp / "tiny", spread=True)
    base = ToxicitySettings(backend="detoxify", checkpoint=str(ckpt), config_dir=str(config), threads=1,
                            cache_dir=str(tmp / "cache"))
    detox = load_scorer(base)
    texts = sample_comments(240, seed=11)
    texts_file = tmp / "texts.json"
    texts_file.write_text(json.dumps(texts))
    ref = detox.score_batch(texts)
    labels = detox.labels
    a = np.array([[x[lb] for lb in labels] for x in ref])
    cfg = PolicyConfig(banned_words=(), suspect_words=())
    ref_decisions = [decide(x, "", PolicyContext(), cfg).outcome for x in ref]
    out: dict = {"n": len(texts)}
    for weights in WEIGHTS:
        settings = msgspec.structs.replace(base, backend="onnx", int8_weights=weights)
        load_scorer(settings)  # builds the export natively
        for cpu, emulate in (("native", False), (CPU_WITHOUT_VNNI, True)):
            got = _score_in_child(settings, texts_file, emulate)
            b = np.array([[x[lb] for lb in labels] for x in got])
            decisions = [decide(x, "", PolicyContext(), cfg).outcome for x in got]
            out[f"{weights}/{cpu}"] = {
                "worst_per_label": dict(zip(labels, np.abs(a - b).max(0).round(4).tolist(), strict=True)),
                "worst": round(float(np.abs(a - b).max()), 4),
                "decisions_differing": sum(x != y for x, y in zip(ref_decisions, decisions, strict=True)),
            }
            print(weights, cpu, out[f"{weights}/{cpu}"], flush=True)
    return out


def speed(tmp: Path, rounds: int) -> dict:
    from bench.scoring import bench_texts, build_models, find_vocab
    from comments_service.toxicity import ToxicitySettings, load_scorer

    ckpt, config = build_models(["bert-base"], find_vocab(None))["bert-base"]
    scorers = {w: load_scorer(ToxicitySettings(backend="onnx", checkpoint=ckpt, config_dir=config, threads=1,
                                               batch_size=32, cache_dir=str(tmp / "bert-cache"),
                                               int8_weights=w)) for w in WEIGHTS}
    texts = bench_texts(32)
    for scorer in scorers.values():
        scorer.score_batch(texts[:8])  # warm
    times: dict[str, list[float]] = {w: [] for w in WEIGHTS}
    for _ in range(rounds):
        for w, scorer in scorers.items():
            start = time.perf_counter()
            scorer.score_batch(texts)
            times[w].append((time.perf_counter() - start) * 1000 / len(texts))
    med = {w: round(statistics.median(t), 2) for w, t in times.items()}
    print("ms/comment median", med, flush=True)
    return {"ms_per_comment_median": med, "rounds": rounds, "uint8_over_int8": round(med["uint8"] / med["int8"], 2)}


def main() -> None:
    from comments_service.toxicity.int8_weights import has_vnni

    parser = argparse.ArgumentParser(prog="bench.int8_weights")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", default="bench/results_int8_weights.json")
    args = parser.parse_args()
    if shutil.which("qemu-x86_64") is None:
        sys.exit("needs qemu-user's qemu-x86_64 (apt-get install qemu-user)")
    with tempfile.TemporaryDirectory() as tmp:
        result = {"this_cpu_has_vnni": has_vnni(), "agreement": agreement(Path(tmp)),
                  "speed": speed(Path(tmp), args.rounds),
                  "at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""A worker's model start, in a fresh process: the tests of the ONNX paths see what a real start
loads and imports, without this process importing torch."""

from __future__ import annotations

import json
import subprocess
import sys

import msgspec

from comments_service.toxicity import ToxicitySettings


def load_in_subprocess(settings: ToxicitySettings, sample: str = "hello there") -> dict:
    """load_scorer and one batch (``sample`` and a text past the model's window) in a fresh
    process: its describe(), how many texts it scored, which heavy modules it imported, and its log."""
    code = (
        "import json, logging, sys, msgspec\n"
        "logging.basicConfig(level=logging.INFO)\n"
        "from comments_service.toxicity import ToxicitySettings, load_scorer\n"
        "s = msgspec.json.decode(sys.argv[1], type=ToxicitySettings)\n"
        "sc = load_scorer(s)\n"
        "n = len(sc.score_batch([sys.argv[2], 'x' * 3000]))\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'detoxify') if m in sys.modules)\n"
        "print('RESULT ' + json.dumps({'describe': sc.describe(), 'scored': n, 'heavy': heavy}))\n"
    )
    res = subprocess.run([sys.executable, "-c", code, msgspec.json.encode(settings).decode(), sample],
                         capture_output=True, text=True, timeout=300)
    lines = [line for line in res.stdout.splitlines() if line.startswith("RESULT ")]
    assert res.returncode == 0 and lines, res.stderr[-3000:]
    return {**json.loads(lines[-1][7:]), "log": res.stderr}

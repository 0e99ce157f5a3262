"""Markdown tables of side_by_side.sh's results: reads_{base,new}{N}.json and e2e_{base,new}.json.

    python3 bench/side_by_side_summary.py DIR        # DIR: the OUT of bench/side_by_side.sh
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from pathlib import Path

DIR = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent


def load(pattern: str) -> dict[str, dict]:
    out = {}
    for path in sorted(DIR.glob(pattern)):
        try:
            out[path.stem] = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            print(f"(unreadable {path.name}: {exc})")
    return out


def fmt(v, digits=2) -> str:
    if v is None:
        return "–"
    if isinstance(v, str):
        return v
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def table(header: list[str], rows: list[list[str]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()


def get(d: dict, *path, default=None):
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return default
        d = d[key]
    return d


# ------------------------------------------------------------------ reads
def reads_rows(runs: dict[str, dict]) -> None:
    def order(name: str) -> tuple[int, int]:
        m = re.fullmatch(r"reads_(base|new)(\d+)", name)
        return (int(m[2]), m[1] != "base") if m else (99, 0)

    names = sorted((n for n in runs if re.fullmatch(r"reads_(base|new)\d+", n)), key=order)
    if not names:
        print("(no reads_*.json)\n")
        return
    p = {n: runs[n]["passes"][0] for n in names}  # --repeat 1

    metrics: list[tuple[str, callable, int]] = [
        ("**R1/B0**", lambda r: r["R1"]["rps"] / r["B0_page"]["rps"], 2),
        ("**R3/B0**", lambda r: r["R3"]["rps"] / r["B0_counts"]["rps"], 2),
        ("**R4 read p99 / R1 p99**", lambda r: r["R4_reads"]["p99_ms"] / r["R1"]["p99_ms"], 2),
        ("B0 page req/s", lambda r: r["B0_page"]["rps"], 0),
        ("R1 req/s", lambda r: r["R1"]["rps"], 0),
        ("R1 p50 / p99 ms", lambda r: f"{r['R1']['p50_ms']:.1f} / {r['R1']['p99_ms']:.1f}", 0),
        ("B0 counts req/s", lambda r: r["B0_counts"]["rps"], 0),
        ("R3 req/s", lambda r: r["R3"]["rps"], 0),
        ("R3 p99 ms", lambda r: r["R3"]["p99_ms"], 1),
        ("R4 reads req/s", lambda r: r["R4_reads"]["rps"], 0),
        ("R4 read p50 / p99 ms", lambda r: f"{r['R4_reads']['p50_ms']:.1f} / {r['R4_reads']['p99_ms']:.1f}", 0),
        ("R4 posts/s", lambda r: r["R4_posts"]["rps"], 0),
        ("R4 post share (tries)", lambda r: f"{100 * r['R4_post_share']:.2f}% ({len(r['R4_tries'])})", 0),
        ("R4 post p99 ms", lambda r: r["R4_posts"]["p99_ms"], 1),
        ("errors", lambda r: ", ".join(f"{k}: {r[k]['errors']}" for k in ("B0_page", "R1", "B0_counts", "R3",
                                                                         "R4_reads", "R4_posts")
                                      if k in r and r[k].get("errors")) or "none", 0),
    ]
    sides = {s: [n for n in names if n.startswith(f"reads_{s}")] for s in ("base", "new")}
    header = ["", *[n.removeprefix("reads_") for n in names]]
    medians = [s for s in ("base", "new") if len(sides[s]) > 1]
    header += [f"{s} median" for s in medians]
    rows = []
    for label, fn, digits in metrics:
        vals = {}
        for n in names:
            try:
                vals[n] = fn(p[n])
            except (KeyError, ZeroDivisionError, TypeError):
                vals[n] = None
        row = [label, *[fmt(vals[n], digits) for n in names]]
        for s in medians:
            nums = [vals[n] for n in sides[s] if isinstance(vals[n], (int, float))]
            row.append(fmt(statistics.median(nums), digits) if nums else "–")
        rows.append(row)
    rows.append(["load before / after", *[f"{runs[n]['machine']['load_before'][0]:.2f} / "
                                          f"{runs[n]['load_after'][0]:.2f}" for n in names], *["" for _ in medians]])
    rows.append(["API RSS peak MB", *[fmt(max(runs[n].get("rss_mb_peak", {0: 0}).values()), 1) for n in names],
                 *["" for _ in medians]])
    rows.append(["started", *[runs[n]["started"][11:19] for n in names], *["" for _ in medians]])
    cpu = {runs[n]["machine"]["model"] for n in names}
    seconds = runs[names[0]]["duration_s"]
    print(f"### Read path (uvicorn, 1 worker, {seconds:.0f} s per scenario; CPU: {', '.join(cpu)})\n")
    table(header, rows)


# ------------------------------------------------------------------ e2e
def e2e_rows(runs: dict[str, dict]) -> None:
    def order(name: str) -> tuple[int, int]:  # e2e_base, e2e_new, e2e_base2, e2e_new2, ...
        m = re.fullmatch(r"e2e_(base|new)(\d*)", name)
        return (int(m[2] or 1), m[1] != "base") if m else (99, 0)

    names = sorted((n for n in runs if n.startswith("e2e_")), key=order)
    if not names:
        print("(no e2e_*.json)\n")
        return

    def pair(d, a, b, scale=1.0, digits=0):
        x, y = get(d, *a), get(d, *b)
        if x is None or y is None:
            return "–"
        return f"{x * scale:.{digits}f} / {y * scale:.{digits}f}"

    def ratio(d, phase):
        return fmt(get(d, "read_p99_over_idle", phase), 2) + "×"

    def transport_errors(d):
        return len(d["burst"]["transport_errors"]) + len(get(d, "backlog", "transport_errors", default=[]))

    def mem(d):
        a, b = get(d, "worker_memory_loaded", default=[{}]), get(d, "worker_memory_end", default=[{}])
        return f"{a[0].get('rss_mib')} → {b[0].get('rss_mib')}" if a and b else "–"

    metrics = [
        ("config", lambda d: f"{d['model']}, {d['backend']}, scoring {d['scoring']}, {d['workers']} worker"),
        ("1/s: decision p50 / p99 ms",
         lambda d: pair(d, ("steady", "decision_ms", "p50"), ("steady", "decision_ms", "p99"))),
        ("1/s: POST p50 / p99 ms", lambda d: pair(d, ("steady", "post_ms", "p50"), ("steady", "post_ms", "p99"))),
        ("1/s: answered in the POST", lambda d: f"{d['steady']['answered_in_post']}/{d['steady']['n']}"),
        ("**burst: all decided after (comments/s)**",
         lambda d: f"{d['burst']['drained_seconds']:.1f} s ({d['burst']['comments_per_second']:.1f}/s)"),
        ("burst: POSTs sent in", lambda d: f"{d['burst']['posted_seconds']:.1f} s"),
        ("burst: decision p50 / p99 s",
         lambda d: pair(d, ("burst", "decision_ms", "p50"), ("burst", "decision_ms", "p99"), 1e-3, 2)),
        ("burst: POST p50 / p99 ms", lambda d: pair(d, ("burst", "post_ms", "p50"), ("burst", "post_ms", "p99"))),
        ("backlog: POSTed in (workers paused)", lambda d: f"{d['backlog']['posted_seconds']:.1f} s"),
        ("backlog: POST p50 / p99 ms", lambda d: pair(d, ("backlog", "post_ms", "p50"), ("backlog", "post_ms", "p99"))),
        ("**backlog: drained in (comments/s)**",
         lambda d: f"{d['backlog']['drain_seconds']:.1f} s ({d['backlog']['drain_comments_per_second']}/s)"),
        ("backlog: decision p50 / p99 s", lambda d: pair(d, ("backlog", "decision_ms", "p50"),
                                                        ("backlog", "decision_ms", "p99"), 1e-3, 2)),
        ("reads idle p50 / p99 ms", lambda d: pair(d, ("reads_ms", "idle", "p50"), ("reads_ms", "idle", "p99"), 1, 1)),
        ("read p99 / idle: 1/s, burst, backlog_post, queued, drain",
         lambda d: ", ".join(ratio(d, ph) for ph in ("steady", "burst", "backlog_post", "queued", "drain"))),
        ("read errors, transport errors", lambda d: f"{d['read_errors']}, {transport_errors(d)}"),
        ("worker RSS loaded → end MiB", mem),
        ("batches in burst / drain (size p50)", lambda d: " / ".join(
            f"{get(d, 'batch_sizes', ph, 'batches')} ({get(d, 'batch_sizes', ph, 'size_p50')})"
            for ph in ("burst", "drain"))),
        ("others seen", lambda d: "; ".join(f"{k}: {len(v)}" for k, v in d.get("others_seen", {}).items()) or "none"),
    ]
    rows = []
    for label, fn in metrics:
        row = [label]
        for n in names:
            try:
                row.append(str(fn(runs[n])))
            except (KeyError, TypeError, IndexError):
                row.append("–")
        rows.append(row)
    print("### End-to-end scoring (API → queue → worker → decision)\n")
    table(["", *[n.removeprefix("e2e_") for n in names]], rows)


def timings() -> None:
    path = DIR / "timings.tsv"
    if not path.exists():
        return
    lines = [line.split("\t") for line in path.read_text().splitlines()[1:] if line.strip()]
    print("### Run times\n")
    table(["part", "side", "round", "started (UTC)", "seconds", "rc", "load before", "pytest procs"],
          list(lines))


if __name__ == "__main__":
    data = load("reads_*.json")
    reads_rows(data)
    e2e_rows(load("e2e_*.json"))
    timings()

"""The capacity model of SCALING.md: processes, memory, database size and IOPS for a news site of
1M, 10M and 100M page views a day, with and without a CDN, from the per-core figures measured here.

    python -m bench.capacity                  # the tables, as SCALING.md shows them (markdown)
    python -m bench.capacity --json           # the same numbers as JSON
    python -m bench.capacity --set cdn_hit=0.8 --set sse_dwell_s=300   # another assumption

Measured inputs come from the benchmarks' raw results where they exist (``bench/results_reads.json``,
``bench/results_scoring.json``, ``bench/results_sse_*.json``) and otherwise from BENCHMARKS.md,
each with its source; assumptions are named, with the reason for each value, and any can be
changed with ``--set``. Every number in the tables is computed here: nothing is typed by hand.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SCALES = (1_000_000, 10_000_000, 100_000_000)
DAY = 86_400


@dataclass
class Measured:
    """Per-process (one process is one core: uvicorn with one worker, or one scoring worker) figures
    from this 2-vCPU machine, PostgreSQL and Redis on the same host."""

    hot_page_rps: float  # R1: a cached thread page, one API process
    counts_rps: float  # R3: counts of 50 articles in one request
    mixed_reads_rps: float  # R4: reads while ~5% of requests post to the same article
    mixed_posts_rps: float  # R4: the posts of that run
    cold_page_ms: float  # R2: a thread page after its cache was retired, SQL included (p50)
    page_bytes: int  # R2: the first page of the 10,000-comment article (20 comments, 5 replies each)
    api_rss_mb: float  # API process RSS under load, no streams
    score_bert_per_core: float  # ONNX int8 BERT-base (``original``): two 1-thread workers / 2
    score_albert_per_core: float  # ONNX int8 ALBERT (``original-small``)
    score_multilingual_per_core: float  # ONNX int8 XLM-RoBERTa (``multilingual``): 1000 / ms per comment
    score_e2e_drain_per_worker: float  # a whole worker, end to end (claim, score, decide, publish)
    worker_rss_bert_mb: float
    worker_rss_multilingual_mb: float
    import_per_s: float  # ``comments-service import`` of a 1M-comment Disqus export, 2 cores
    pg_bytes_per_comment: float  # comments table + its indexes, per row, bench corpus (173-char bodies)
    sse_streams_measured: int  # the largest stage of bench/sse_fanout.py
    sse_kb_per_stream: float  # API process RSS per open stream
    sse_us_per_delivery: float  # server CPU per stream per event, full collections included
    sse_us_per_heartbeat: float  # server CPU per heartbeat (idle streams)
    sse_us_per_open: float  # server CPU to accept a stream (request, subscription, ready event)
    sse_fanout_p99_ms_at_cap: float  # one comment to every stream, at the default cap (5,000 streams)
    sse_full_gc_ms_at_cap: float  # the longest full collection seen with 5,000 streams open
    sse_full_gc_ms_at_top: float  # ... with the largest stage open
    sources: dict[str, str] = field(default_factory=dict)


@dataclass
class Assumptions:
    """What was not measured here; each can be changed with ``--set name=value``."""

    peak_factor: float = 20.0  # the breaking-news peak: 20x the day's average rate
    widget_loads_per_pv: float = 0.7  # share of page views that are articles showing the thread
    counts_per_pv: float = 1.0  # count.js: one batched counts request on every page that shows counts
    page_cache_hit: float = 0.95  # thread reads served from the process or Redis cache, not SQL
    signed_in_share: float = 0.10  # signed-in readers' pages are private: never from the CDN
    cdn_hit: float = 0.90  # anonymous thread and count reads the CDN answers (s-maxage + purges)
    comments_per_pv: float = 0.005  # 0.1-0.5% of page views leave a comment: sized at the top
    other_writes_per_post: float = 2.0  # votes, reports, edits: counted at a post's cost each
    reads_per_post: float = 20.0  # the author's reload and readers opening "new comments"
    sse_dwell_s: float = 180.0  # how long a stream stays open per widget load (background tabs included)
    sse_per_process: int = 5000  # COMMENTS_LIVE_MAX_STREAMS, the default: see the full-GC pauses
    sse_lifetime_s: float = 3240.0  # mean of the jittered 0.8-1.0 x COMMENTS_LIVE_MAX_SECONDS (3600)
    heartbeat_s: float = 15.0  # COMMENTS_LIVE_HEARTBEAT_SECONDS
    hot_share: float = 0.3  # at the peak, the share of live readers and of comments on the one big story
    coalesce_s: float = 1.0  # "what if": a stream sent at most one event per this many seconds (not built)
    utilisation: float = 0.6  # plan processes at 60% of their measured capacity
    score_utilisation: float = 0.7  # scoring workers: a queue absorbs bursts, so a little higher
    articles_in_page_ttl_1m: float = 300  # articles read within COMMENTS_REDIS_PAGE_TTL (300 s) at 1M/day
    articles_growth: float = 4.0  # x per 10x page views: bigger sites read more articles, not 10x more
    articles_day_per_ttl: float = 10.0  # articles read in a day against those read within the page TTL
    page_variants: float = 2.0  # cached pages per article (sort orders, second pages, locales)
    redis_key_overhead_b: int = 120  # Redis's own bytes per key (dict entry, expiry, object header)
    redis_fragmentation: float = 1.5  # jemalloc fragmentation and replication buffers
    ips_per_pv_minute: float = 0.5  # distinct client addresses per page view within a rate-limit minute
    rate_keys_per_ip: float = 2.0  # counts.ip and one write limit
    repeat_window_h: float = 24.0  # repeat/campaign fingerprints kept (sites' windows reach 1440 min)
    peak_day_factor: float = 2.0  # a breaking-news day's comments against an average day's
    repeat_bytes_per_comment: int = 400  # fingerprint bands and sorted-set entries
    comment_bytes_plan: float = 1500.0  # 400-character bodies (markdown + HTML) + outbox + authors, per comment
    wal_factor: float = 3.0  # WAL bytes per byte stored (index entries, full-page images after checkpoints)
    pages_written_per_write: float = 4.0  # dirty 8 KiB pages a write leaves after checkpoint coalescing
    cold_read_disk_share: float = 0.1  # cold pages whose rows are not in shared_buffers / the page cache
    pages_read_per_cold_disk_read: float = 5.0


def _load(name: str) -> dict | None:
    path = BENCH / name
    return json.loads(path.read_text()) if path.exists() else None


def measured() -> Measured:
    src: dict[str, str] = {}
    reads = _load("results_reads.json")
    passes = reads["passes"]
    # the slower pass of each scenario: a plan should not rest on the faster one
    hot = min(p["R1"]["rps"] for p in passes)
    counts = min(p["R3"]["rps"] for p in passes)
    mixed = min(passes, key=lambda p: p["R4_reads"]["rps"])
    cold = next(r for r in reads["R2"] if r.get("db") == "cs_bench_1m")
    rss = max(reads["rss_mb_peak"].values())
    src["reads"] = f"`results_reads.json` ({reads['started'][:10]}), 'Read path'; slower pass; R2 on 1M comments"
    scoring = _load("results_scoring.json")
    layouts = {(x["mode"], x["arch"], x["workers"], x["threads"]): x for x in scoring["speed"]["layouts"]}
    bert = layouts[("onnx-int8", "bert-base", 2, 1)]
    albert = layouts[("onnx-int8", "albert-base-v2", 2, 1)]
    src["scoring"] = "`results_scoring.json`, 'Toxicity scoring runtimes': two 1-thread workers, 2 cores"
    # BENCHMARKS.md 'Multilingual model (XLM-RoBERTa) through ONNX int8': 12.0 ms a comment at 1 thread,
    # batch 32, on a busy machine (the slower of the recorded runs: results_multilingual_onnx.json
    # holds a later 7.2 ms); peak RSS 525 MB
    multilingual_ms = 12.0
    src["multilingual"] = "'Multilingual model (XLM-RoBERTa)': 12.0 ms a comment, peak RSS 525 MB"
    src["e2e"] = "'End-to-end scoring (issue 4)': drained 500 at 87/s, RSS 261 MiB; XLM-R: 'Multilingual model'"
    src["import"] = "'The write phase made parallel': 8,573 comments/s on 2 cores"
    src["pg"] = "SCALING.md, 'Inputs measured here': `cs_bench_20k`, 23.7 MB table + 18.2 MB indexes / 44,750 rows"
    sse = _sse()
    src["sse"] = sse.pop("source")
    return Measured(hot_page_rps=hot, counts_rps=counts, mixed_reads_rps=mixed["R4_reads"]["rps"],
                    mixed_posts_rps=mixed["R4_posts"]["rps"], cold_page_ms=cold["p50_ms"], page_bytes=cold["bytes"],
                    api_rss_mb=rss, score_bert_per_core=bert["comments_per_s"] / 2,
                    score_albert_per_core=albert["comments_per_s"] / 2,
                    score_multilingual_per_core=1000 / multilingual_ms, score_e2e_drain_per_worker=87.0,
                    worker_rss_bert_mb=261.0, worker_rss_multilingual_mb=525.0, import_per_s=8573.0,
                    pg_bytes_per_comment=(23_650_304 + 18_161_664) / 44_750, sources=src, **sse)


def _sse() -> dict:
    """The SSE figures of the newest bench/results_sse_*.json taken with the service's heartbeat."""
    runs = sorted(BENCH.glob("results_sse_*.json"))
    runs = [(p, json.loads(p.read_text())) for p in runs]
    runs = [(p, r) for p, r in runs if r.get("heartbeat_s") == 15.0 and r.get("stages")] or runs
    if not runs:
        raise SystemExit("no bench/results_sse_*.json: run python -m bench.sse_fanout --out bench/results_sse_X.json")
    path, run = runs[-1]
    stages = run["stages"]
    top = max(stages, key=lambda s: s["streams"])
    cap = min(stages, key=lambda s: abs(s["streams"] - 5000))
    # the plan runs 5,000 streams a process (the default cap), so its costs are the cap stage's:
    # a process with more streams pays more per stream (longer full collections)
    hb_rate = cap["streams"] / run.get("heartbeat_s", 15.0)

    def longest_gc(stage: dict) -> float:
        # the stage's own collections where the bench recorded them (its posts may meet none)
        seen = [g for p in stage["posts"] for g in p.get("full_gc_ms", [])] + stage.get("full_gc_ms_stage", [])
        return max(seen or [0.0])

    return {"sse_streams_measured": top["streams"],
            "sse_kb_per_stream": max(s["rss_kb_per_stream"] for s in stages),
            "sse_us_per_delivery": cap["server_cpu_us_per_delivery"],
            "sse_us_per_heartbeat": cap["idle_cpu_cores"] * 1e6 / hb_rate,
            "sse_us_per_open": cap.get("server_cpu_us_per_open", 1000.0),
            "sse_fanout_p99_ms_at_cap": cap["median_of_posts"]["p99_ms"],
            "sse_full_gc_ms_at_cap": longest_gc(cap), "sse_full_gc_ms_at_top": longest_gc(top),
            "source": f"`{path.name}` ({run['started'][:16]}), 'SSE at scale (issue 23)'"}


def costs(m: Measured) -> dict[str, float]:
    """Core-seconds of one API process per request kind."""
    hot = 1 / m.hot_page_rps
    # R4: one process served reads and posts together at full load; what the posts left of the core
    # after the reads (each at R1's cost) is the cost of a post with its invalidation and publish
    post = (1 - m.mixed_reads_rps * hot) / m.mixed_posts_rps
    return {"hot_page": hot, "counts": 1 / m.counts_rps, "cold_page": m.cold_page_ms / 1000, "write": post,
            "sse_delivery": m.sse_us_per_delivery / 1e6, "sse_heartbeat": m.sse_us_per_heartbeat / 1e6,
            "sse_open": m.sse_us_per_open / 1e6}


def plan(pv_day: float, cdn: bool, m: Measured, a: Assumptions) -> dict:
    c = costs(m)
    avg_pv = pv_day / DAY
    pv = avg_pv * a.peak_factor
    widget = pv * a.widget_loads_per_pv
    posts = pv * a.comments_per_pv
    writes = posts * (1 + a.other_writes_per_post)
    origin_share = (a.signed_in_share + (1 - a.signed_in_share) * (1 - a.cdn_hit)) if cdn else 1.0
    thread_reads = widget * origin_share + posts * a.reads_per_post
    counts = pv * a.counts_per_pv * origin_share
    cold = thread_reads * (1 - a.page_cache_hit)
    hot = thread_reads - cold
    api_cores = hot * c["hot_page"] + cold * c["cold_page"] + counts * c["counts"] + writes * c["write"]
    api_processes = max(2, math.ceil(api_cores / a.utilisation))  # two, so that one can restart

    streams = widget * a.sse_dwell_s
    opens = widget + streams / a.sse_lifetime_s  # new page loads and streams reaching their lifetime
    deliveries = posts * streams * a.hot_share ** 2  # the big story's comments to the big story's readers
    sse_cores = (streams / a.heartbeat_s * c["sse_heartbeat"] + deliveries * c["sse_delivery"]
                 + opens * c["sse_open"])
    sse_processes = max(1, math.ceil(streams / a.sse_per_process), math.ceil(sse_cores / a.utilisation))
    sse_memory_gb = (streams * m.sse_kb_per_stream / 1024 + sse_processes * m.api_rss_mb) / 1024
    # what if the big story's readers got its comments batched, one event per coalesce_s at most
    coalesced = streams * a.hot_share * min(posts * a.hot_share, 1 / a.coalesce_s)
    sse_cores_coalesced = sse_cores - deliveries * c["sse_delivery"] + coalesced * c["sse_delivery"]
    sse_processes_coalesced = max(1, math.ceil(streams / a.sse_per_process),
                                  math.ceil(sse_cores_coalesced / a.utilisation))

    def workers(per_core: float, rate: float) -> int:
        return max(1, math.ceil(rate / (per_core * a.score_utilisation)))

    avg_posts = avg_pv * a.comments_per_pv
    scale = a.articles_growth ** math.log10(pv_day / 1_000_000)
    articles = a.articles_in_page_ttl_1m * scale
    page_mb = articles * a.page_variants * (m.page_bytes + a.redis_key_overhead_b) / 2**20
    # a count, a version and a header key for every article read in the day (versions live 24 h)
    small_mb = articles * a.articles_day_per_ttl * 3 * (64 + a.redis_key_overhead_b) / 2**20
    rate_mb = pv * 60 * a.ips_per_pv_minute * a.rate_keys_per_ip * (48 + a.redis_key_overhead_b) / 2**20
    repeat_mb = avg_posts * a.peak_day_factor * 3600 * a.repeat_window_h * a.repeat_bytes_per_comment / 2**20
    redis_mb = (page_mb + small_mb + rate_mb + repeat_mb) * a.redis_fragmentation

    comments_year = avg_posts * DAY * 365
    write_tx = writes
    iops_write = write_tx * (1 + a.pages_written_per_write)  # one WAL flush + the pages each write dirties
    iops_read = cold * a.cold_read_disk_share * a.pages_read_per_cold_disk_read
    wal_mb_s = writes * a.comment_bytes_plan * a.wal_factor / 2**20
    return {
        "page_views_day": pv_day, "pv_per_s_avg": avg_pv, "pv_per_s_peak": pv, "cdn": cdn,
        "origin_thread_reads_s": thread_reads, "origin_cold_pages_s": cold, "origin_counts_s": counts,
        "posts_s": posts, "writes_s": writes,
        "api_cores": api_cores, "api_processes": api_processes,
        "api_memory_gb": api_processes * m.api_rss_mb / 1024,
        "sse_streams": streams, "sse_deliveries_s": deliveries, "sse_cores": sse_cores,
        "sse_processes": sse_processes, "sse_memory_gb": sse_memory_gb,
        "sse_deliveries_coalesced_s": coalesced, "sse_processes_coalesced": sse_processes_coalesced,
        "workers_bert_peak": workers(m.score_bert_per_core, posts),
        "workers_bert_avg": workers(m.score_bert_per_core, avg_posts),
        "workers_multilingual_peak": workers(m.score_multilingual_per_core, posts),
        "workers_multilingual_avg": workers(m.score_multilingual_per_core, avg_posts),
        "redis_mb": redis_mb, "redis_pages_mb": page_mb + small_mb, "redis_rate_mb": rate_mb,
        "redis_repeat_mb": repeat_mb,
        "pg_comments_year": comments_year, "pg_gb_year": comments_year * a.comment_bytes_plan / 1e9,
        "pg_gb_year_measured_rows": comments_year * m.pg_bytes_per_comment / 1e9,
        "pg_iops_write_peak": iops_write, "pg_iops_read_peak": iops_read, "pg_wal_mb_s_peak": wal_mb_s,
        "import_hours_year": comments_year / m.import_per_s / 3600,
    }


def _n(x: float) -> str:
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:,.1f}"
    return f"{x:,.2f}"


ROWS = (
    ("page views/s, average → peak (×20)", lambda r: f"{_n(r['pv_per_s_avg'])} → {_n(r['pv_per_s_peak'])}"),
    ("thread reads/s reaching the API (cold ones)",
     lambda r: f"{_n(r['origin_thread_reads_s'])} ({_n(r['origin_cold_pages_s'])})"),
    ("counts requests/s reaching the API", lambda r: _n(r["origin_counts_s"])),
    ("comments/s; all writes/s", lambda r: f"{_n(r['posts_s'])}; {_n(r['writes_s'])}"),
    ("**API** cores busy → processes (at 60 %)", lambda r: f"{_n(r['api_cores'])} → **{r['api_processes']:,}**"),
    ("API memory (the measured RSS each)", lambda r: f"{_n(r['api_memory_gb'])} GB"),
    ("**SSE** streams open", lambda r: _n(r["sse_streams"])),
    ("SSE deliveries/s (big story's comments × its readers)", lambda r: _n(r["sse_deliveries_s"])),
    ("SSE cores busy → processes (≤ 5,000 streams each)",
     lambda r: f"{_n(r['sse_cores'])} → **{r['sse_processes']:,}**"),
    ("SSE memory", lambda r: f"{_n(r['sse_memory_gb'])} GB"),
    ("*what if* events were coalesced to ≤ 1 a second per stream (not built): deliveries/s → SSE processes",
     lambda r: f"{_n(r['sse_deliveries_coalesced_s'])} → {r['sse_processes_coalesced']:,}"),
    ("**scoring workers**, `original` (BERT int8): keep up at peak / at average",
     lambda r: f"**{r['workers_bert_peak']}** / {r['workers_bert_avg']}"),
    ("scoring workers, `multilingual` (XLM-R int8): peak / average",
     lambda r: f"**{r['workers_multilingual_peak']}** / {r['workers_multilingual_avg']}"),
    ("**Redis** memory (pages + rate limits + repeats)",
     lambda r: (f"**{_n(r['redis_mb'])} MB** ({_n(r['redis_pages_mb'])} + {_n(r['redis_rate_mb'])} + "
                f"{_n(r['redis_repeat_mb'])})")),
    ("**PostgreSQL** comments a year → size a year (at 935 B measured)",
     lambda r: (f"{_n(r['pg_comments_year'] / 1e6)} M → **{_n(r['pg_gb_year'])} GB** "
                f"({_n(r['pg_gb_year_measured_rows'])} GB)")),
    ("PostgreSQL IOPS at peak: write / read; WAL", lambda r: (
        f"{_n(r['pg_iops_write_peak'])} / {_n(r['pg_iops_read_peak'])}; {_n(r['pg_wal_mb_s_peak'])} MB/s")),
    ("importing a year of comments (one 2-core importer)", lambda r: f"{_n(r['import_hours_year'])} h"),
)


def markdown(results: list[dict]) -> str:
    head = "| at the 20× peak | " + " | ".join(
        f"{r['page_views_day'] / 1e6:g}M/day{' + CDN' if r['cdn'] else ''}" for r in results) + " |"
    lines = [head, "|---|" + "---:|" * len(results)]
    for label, fmt in ROWS:
        lines.append(f"| {label} | " + " | ".join(fmt(r) for r in results) + " |")
    return "\n".join(lines)


def inputs_markdown(m: Measured, a: Assumptions) -> str:
    c = costs(m)
    rows = [
        ("hot thread page, one API process", f"{m.hot_page_rps:,.0f} req/s → {c['hot_page'] * 1e6:.0f} µs", "reads"),
        ("counts of 50 articles", f"{m.counts_rps:,.0f} req/s → {c['counts'] * 1e6:.0f} µs", "reads"),
        ("reads with 5 % posts (R4)", f"{m.mixed_reads_rps:,.0f} reads/s + {m.mixed_posts_rps:,.0f} posts/s", "reads"),
        ("→ a write (post + invalidation + publish)", f"{c['write'] * 1e3:.2f} ms of a core", "reads"),
        ("cold thread page, SQL included (p50)", f"{m.cold_page_ms:.2f} ms", "reads"),
        ("page size (20 comments + replies)", f"{m.page_bytes:,} B", "reads"),
        ("API process RSS", f"{m.api_rss_mb:.0f} MB", "reads"),
        ("scoring, `original` BERT int8, per core", f"{m.score_bert_per_core:.0f} comments/s", "scoring"),
        ("scoring, `original-small` ALBERT int8, per core", f"{m.score_albert_per_core:.0f} comments/s", "scoring"),
        ("scoring, `multilingual` XLM-R int8, per core", f"{m.score_multilingual_per_core:.0f} comments/s",
         "multilingual"),
        ("scoring end to end, one worker draining", f"{m.score_e2e_drain_per_worker:.0f} comments/s", "e2e"),
        ("worker RSS, BERT / XLM-R", f"{m.worker_rss_bert_mb:.0f} / {m.worker_rss_multilingual_mb:.0f} MB",
         "e2e"),
        ("import", f"{m.import_per_s:,.0f} comments/s", "import"),
        ("PostgreSQL bytes per comment (row + indexes)", f"{m.pg_bytes_per_comment:.0f} B", "pg"),
        ("SSE streams on one API process (measured up to)", f"{m.sse_streams_measured:,}", "sse"),
        ("SSE RSS per stream", f"{m.sse_kb_per_stream:.1f} KB", "sse"),
        ("SSE server CPU per delivery, 5,000 streams (full GCs included)", f"{m.sse_us_per_delivery:.0f} µs", "sse"),
        ("SSE server CPU per heartbeat, 5,000 streams", f"{m.sse_us_per_heartbeat:.0f} µs", "sse"),
        ("SSE server CPU per stream opened, 5,000 streams", f"{m.sse_us_per_open:.0f} µs", "sse"),
        ("SSE fan-out of one comment to 5,000 streams, p99", f"{m.sse_fanout_p99_ms_at_cap:.0f} ms", "sse"),
        (f"longest full GC pause, 5,000 / {m.sse_streams_measured:,} streams",
         f"{m.sse_full_gc_ms_at_cap:,.0f} / {m.sse_full_gc_ms_at_top:,.0f} ms", "sse"),
    ]
    out = ["| input (measured here) | value | source |", "|---|---:|---|"]
    out += [f"| {name} | {value} | {m.sources[key]} |" for name, value, key in rows]
    out += ["", "| assumption | value |", "|---|---:|"]
    out += [f"| `{k}` | {v:g} |" for k, v in asdict(a).items()]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.capacity", description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="change an assumption")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    a = Assumptions()
    for item in args.set:
        name, _, value = item.partition("=")
        if not hasattr(a, name):
            raise SystemExit(f"unknown assumption {name!r}; known: {', '.join(asdict(a))}")
        setattr(a, name, type(getattr(a, name))(float(value)))
    m = measured()
    results = [plan(pv, cdn, m, a) for pv in SCALES for cdn in (False, True)]
    if args.json:
        print(json.dumps({"measured": asdict(m), "costs": costs(m), "assumptions": asdict(a), "plans": results},
                         indent=2))
        return
    print(inputs_markdown(m, a))
    print()
    print(markdown(results))


if __name__ == "__main__":
    main()

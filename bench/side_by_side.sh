#!/usr/bin/env bash
# Read-path (B0, R1, R3, R4) and end-to-end scoring benchmarks, base tree against new tree, on one
# machine in one sitting: reads alternate base, new, base, new; then e2e base, e2e new. Each tree runs
# its OWN bench/ scripts and its OWN comments_service (cwd + PYTHONPATH = the tree; the servers and
# workers the benches start inherit both), with the shared venv's third-party packages.
#
#   bench/side_by_side.sh                 # everything: reads x2 per side, e2e x1 per side
#   SIDES=base ROUNDS=1 bench/side_by_side.sh      # one side only (a check)
#   E2E=0 ... / READS=0 ...                        # skip a part
#   python3 bench/side_by_side_summary.py OUT     # markdown tables from the JSON files
#
# Settings (environment): BASE=/tmp/base NEW=<this checkout> PY=<this checkout>/.venv/bin/python OUT=/tmp/side_by_side
# SIDES="base new" ROUNDS=2 DURATION=8 SEED_COMMENTS=100000 READS=1 E2E=1 E2E_ROUNDS=1 E2E_ARGS="--model tiny"
#
# Database: R1/R3/R4 read hot-500 and a000000..a000098, present in any seed of >= 50k comments
# (the same threads as in cs_bench_1m: each named article has its own generator); R2, the only
# scenario that needs the 1M database, is left out. A template (cs_bench_h5_tpl) is seeded once
# with the BASE code; every reads run gets a fresh copy (cs_bench_h5) and an empty csbench: Redis
# prefix, so R4's posts of one run (thousands, into hot-500) and a migration of the new tree never
# reach the next run.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

BASE=${BASE:-/tmp/base}
NEW=${NEW:-$(cd "$HERE/.." && pwd)}
PY=${PY:-$NEW/.venv/bin/python}
OUT=${OUT:-/tmp/side_by_side}
SIDES=${SIDES:-"base new"}
ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-8}
SEED_COMMENTS=${SEED_COMMENTS:-100000}
READS=${READS:-1}
E2E=${E2E:-1}
E2E_ROUNDS=${E2E_ROUNDS:-1}
E2E_ARGS=${E2E_ARGS:---model tiny}
TPL=cs_bench_h5_tpl
DB=cs_bench_h5
PSQL=(psql -h 127.0.0.1 -U postgres -d postgres -v ON_ERROR_STOP=1 -Atq)

mkdir -p "$OUT"
TIMINGS="$OUT/timings.tsv"
[ -f "$TIMINGS" ] || printf 'part\tside\tround\tstarted_utc\tseconds\trc\tload_before\ttests_running\n' > "$TIMINGS"

tree_of() { case "$1" in base) echo "$BASE" ;; new) echo "$NEW" ;; *) echo "unknown side $1" >&2; exit 2 ;; esac; }

# ---------------------------------------------------------------- setup (idempotent)
command -v wrk >/dev/null || apt-get install -y wrk
for side in $SIDES; do
  tree=$(tree_of "$side")
  [ -f "$tree/bench/reads.py" ] || { echo "no tree at $tree (git worktree add /tmp/base <the base commit>)"; exit 2; }
  # comments_service must come from the tree, and every name its bench scripts import must exist
  (cd "$tree" && PYTHONPATH="$tree" "$PY" "$HERE/side_by_side_preflight.py" "$tree") || exit 2
done
if [ "$READS" = 1 ] && [ -z "$("${PSQL[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$TPL'")" ]; then
  echo "==> seeding $TPL ($SEED_COMMENTS comments) with the base code"
  (cd "$BASE" && PYTHONPATH="$BASE" "$PY" -m bench.seed --comments "$SEED_COMMENTS" --database "$TPL" 2>&1 | tail -1)
fi

fresh_db() {
  "${PSQL[@]}" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB TEMPLATE $TPL"
  redis-cli --scan --pattern 'csbench:*' | xargs -r -n 500 redis-cli del >/dev/null
}

timed() {  # timed PART SIDE ROUND LOG -- command...
  local part=$1 side=$2 round=$3 log=$4; shift 5
  local load tests t0 rc=0
  load=$(cut -d' ' -f1 /proc/loadavg)
  tests=$(pgrep -fc 'pytest' || true)
  t0=$(date +%s)
  echo "==> $part $side $round ($(date -u +%H:%M:%S) UTC, load $load, pytest processes $tests) -> $log"
  "$@" >"$log" 2>&1 || rc=$?
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$part" "$side" "$round" "$(date -u -d @"$t0" +%FT%TZ)" \
    "$(( $(date +%s) - t0 ))" "$rc" "$load" "$tests" >> "$TIMINGS"
  [ "$rc" = 0 ] || { echo "    FAILED (rc $rc): tail of $log"; tail -15 "$log"; }
  return 0
}

reads() {  # reads SIDE ROUND
  local tree; tree=$(tree_of "$1")
  fresh_db
  (cd "$tree" && PYTHONPATH="$tree" "$PY" -m bench.reads --db "$DB" --small-db "$DB" --only B0,R1,R3,R4 \
    --server uvicorn --workers 1 --duration "$DURATION" --repeat 1 --out "$OUT/reads_$1$2.json")
}

e2e() {  # e2e SIDE [SUFFIX]
  local tree; tree=$(tree_of "$1")
  # one checkpoint for both sides (the same weights); each side exports its own ONNX cache
  # (before the measured phases) so neither loads the other's export
  # shellcheck disable=SC2086
  (cd "$tree" && PYTHONPATH="$tree" "$PY" -m bench.e2e_scoring $E2E_ARGS --cache "$OUT/checkpoints" \
    --onnx-cache "$OUT/onnx-cache-$1" --log-dir "$OUT/e2e_logs_$1${2:-}" --out "$OUT/e2e_$1${2:-}.json")
}

# ---------------------------------------------------------------- the runs
if [ "$READS" = 1 ]; then
  for round in $(seq 1 "$ROUNDS"); do
    for side in $SIDES; do
      timed reads "$side" "$round" "$OUT/log_reads_$side$round.txt" -- reads "$side" "$round"
    done
  done
  "${PSQL[@]}" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
fi
if [ "$E2E" = 1 ]; then
  for round in $(seq 1 "$E2E_ROUNDS"); do
    for side in $SIDES; do
      suffix=$([ "$round" = 1 ] || echo "$round")
      timed e2e "$side" "$round" "$OUT/log_e2e_$side$suffix.txt" -- e2e "$side" "$suffix"
    done
  done
fi
python3 "$HERE/side_by_side_summary.py" "$OUT"

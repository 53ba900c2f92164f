#!/usr/bin/env bash
# throughput.sh: distributed-throughput benchmark, hpo-server vs Optuna 3.1 (RDBStorage) in one run.
#
#   bash tests/bench/throughput.sh
#
# Builds hpo into build-bench/ if needed, starts a private PostgreSQL (deploy/pg.sh) in a temporary
# directory on a free port, and hpo-server (--threads 4) on 127.0.0.1 with a free port. Then, for
# 1, 4 and 16 workers, runs the same workload through hpo (tests/bench/bench_client: threads doing
# ask, 5 reports, finish over HTTP keep-alive) and through Optuna (tests/bench/optuna_throughput.py:
# processes running study.optimize on one RDBStorage study in a second database of the same
# PostgreSQL). Prints a markdown table and writes it to tests/bench/RESULTS.md. Everything it
# started is stopped on exit, whatever happened.
#
# Environment: HPO_TRIALS (default 200), OPTUNA_TRIALS (100), HPO_REPEATS (3) and OPTUNA_REPEATS (1)
# runs per configuration (the median run by trials/s is reported; a 200-trial hpo run lasts about a
# second, so one run is at the mercy of anything else on the machine), OPTUNA16=1 to also run
# Optuna with 16 processes (slow on small machines), OPTUNA_TPE=0 to skip the 1-worker TPE run.
# Must run as root on Debian 12 (or as a user who can run deploy/pg.sh).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
BENCH=$ROOT/tests/bench
BUILD=$ROOT/build-bench
HPO_TRIALS=${HPO_TRIALS:-200}
OPTUNA_TRIALS=${OPTUNA_TRIALS:-100}
HPO_REPEATS=${HPO_REPEATS:-3}
OPTUNA_REPEATS=${OPTUNA_REPEATS:-1}
OPTUNA16=${OPTUNA16:-0}
OPTUNA_TPE=${OPTUNA_TPE:-1}
PY=/usr/bin/python3

log() { echo "throughput: $*" >&2; }
die() { log "$*"; exit 1; }

TMP=""
SERVER_PID=""
CHILD_PID=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    # A benchmark run in progress: its own process group (setsid in child), so its workers go too.
    if [[ -n "$CHILD_PID" ]] && kill -0 "$CHILD_PID" 2>/dev/null; then
        kill -TERM -- "-$CHILD_PID" 2>/dev/null || true
        sleep 0.5
        kill -KILL -- "-$CHILD_PID" 2>/dev/null || true
    fi
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ -n "$TMP" ]]; then
        "$ROOT/deploy/pg.sh" stop "$TMP/pg" >/dev/null 2>&1 || true
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- prerequisites -----------------------------------------------------------------------------
if ! "$PY" -c 'import optuna, psycopg2, sqlalchemy' 2>/dev/null; then
    [[ $(id -u) -eq 0 ]] || die "python3-optuna, python3-psycopg2, python3-sqlalchemy are missing (apt-get install them)"
    log "installing python3-optuna python3-psycopg2 python3-sqlalchemy"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-optuna python3-psycopg2 python3-sqlalchemy >&2
fi
OPTUNA_VERSION=$("$PY" -c 'import optuna; print(optuna.__version__)')
command -v psql >/dev/null || die "psql not found (install postgresql-client)"

# --- build -------------------------------------------------------------------------------------
if [[ ! -f "$BUILD/build.ninja" ]]; then
    log "meson setup $BUILD"
    meson setup "$BUILD" "$ROOT" >&2
fi
ninja -C "$BUILD" >&2
SERVER=$BUILD/server/hpo-server
[[ -x "$SERVER" ]] || die "no $SERVER after the build"
# bench_client comes from the meson build once tests/meson.build has subdir('bench'); until then
# (or if that build lacks it) compile it directly.
CLIENT=$BUILD/tests/bench/bench_client
if [[ ! -x "$CLIENT" ]]; then
    CLIENT=$BUILD/bench_client-standalone
    if [[ ! -x "$CLIENT" || "$BENCH/bench_client.c" -nt "$CLIENT" ]]; then
        log "compiling $CLIENT"
        cc -std=c11 -O2 -Wall -Wextra -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
            -o "$CLIENT" "$BENCH/bench_client.c" -lcurl -ljansson -lpthread
    fi
fi

# --- PostgreSQL and hpo-server -----------------------------------------------------------------
free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

TMP=$(mktemp -d /tmp/hpo-bench.XXXXXX)
chmod 0755 "$TMP"
PG_PORT=$(free_port)
log "starting PostgreSQL in $TMP/pg on port $PG_PORT"
PG_CONN=$("$ROOT/deploy/pg.sh" start "$TMP/pg" "$PG_PORT")
PG_DIR=$TMP/pg
psql "$PG_CONN" -qX -v ON_ERROR_STOP=1 -c 'CREATE DATABASE hpo' -c 'CREATE DATABASE optuna' >&2
HPO_DB="host=$PG_DIR port=$PG_PORT user=postgres dbname=hpo"
OPTUNA_URL="postgresql+psycopg2://postgres@/optuna?host=$PG_DIR&port=$PG_PORT"

log "starting hpo-server"
"$SERVER" --db "$HPO_DB" --listen 127.0.0.1:0 --threads 4 >"$TMP/server.out" 2>"$TMP/server.log" &
SERVER_PID=$!
URL=""
for _ in $(seq 300); do
    if line=$(grep -m1 '^listening on ' "$TMP/server.out" 2>/dev/null); then
        URL="http://${line#listening on }"
        break
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server.log" >&2; die "hpo-server exited"; }
    sleep 0.1
done
[[ -n "$URL" ]] || { cat "$TMP/server.log" >&2; die "hpo-server did not report listening"; }
log "hpo-server at $URL"

create_study() { # NAME MAX_TRIALS
    local body code
    body=$(printf '{"name":"%s","direction":"minimize","sampler":{"type":"random"},"pruner":{"type":"none"},"max_trials":%d,"search_space":{"x0":{"type":"float","low":-5,"high":5},"x1":{"type":"float","low":-5,"high":5},"x2":{"type":"float","low":-5,"high":5},"x3":{"type":"float","low":-5,"high":5}}}' "$1" "$2")
    code=$(curl -sS -o "$TMP/create.json" -w '%{http_code}' -X POST "$URL/api/v1/studies" \
        -H 'Content-Type: application/json' -d "$body")
    [[ "$code" == 201 ]] || { cat "$TMP/create.json" >&2; die "creating study $1 answered $code"; }
}

# Runs a command in the background as its own process group, output to $TMP/child.out, and waits
# for it, so that a signal to this script is handled at once (cleanup kills the group).
child() {
    setsid -w "$@" >"$TMP/child.out" &
    CHILD_PID=$!
    local rc=0
    wait "$CHILD_PID" || rc=$?
    CHILD_PID=""
    return "$rc"
}

run_hpo() { # WORKERS REPEAT
    local name=bench-w$1-r$2
    create_study "$name" "$HPO_TRIALS"
    child "$CLIENT" --server "$URL" --study "$name" --workers "$1" --trials "$HPO_TRIALS" \
        || { tail -n 20 "$TMP/server.log" >&2; die "bench_client failed ($1 workers)"; }
}

run_optuna() { # WORKERS SAMPLER REPEAT
    child "$PY" "$BENCH/optuna_throughput.py" --storage "$OPTUNA_URL" --study "optuna-$2-w$1-r$3" \
        --workers "$1" --trials "$OPTUNA_TRIALS" --sampler "$2" || die "optuna_throughput failed ($1 workers, $2)"
}

# Warm-up (not reported): the server's database connections and the first study's code paths.
create_study warmup 40
"$CLIENT" --server "$URL" --study warmup --workers 4 --trials 40 >/dev/null

# Every run appends {"kind":...,"r":<its JSON line>} to RESULTS; the report takes the median run.
RESULTS=$TMP/results.jsonl
: >"$RESULTS"
record() { # KIND JSON
    echo "$2" >&2
    echo "{\"kind\":\"$1\",\"r\":$2}" >>"$RESULTS"
}
for w in 1 4 16; do
    for ((i = 1; i <= HPO_REPEATS; i++)); do
        log "hpo, $w workers, $HPO_TRIALS trials (run $i/$HPO_REPEATS)"
        run_hpo "$w" "$i"
        r=$(cat "$TMP/child.out")
        record hpo "$r"
    done
    if [[ $w -ne 16 || "$OPTUNA16" == 1 ]]; then
        for ((i = 1; i <= OPTUNA_REPEATS; i++)); do
            log "Optuna random, $w workers, $OPTUNA_TRIALS trials (run $i/$OPTUNA_REPEATS)"
            run_optuna "$w" random "$i"
            r=$(cat "$TMP/child.out")
            record optuna "$r"
        done
    fi
done
if [[ "$OPTUNA_TPE" == 1 ]]; then
    log "Optuna TPE, 1 worker, $OPTUNA_TRIALS trials"
    run_optuna 1 tpe 1
    r=$(cat "$TMP/child.out")
    record optuna-tpe "$r"
fi

# --- report ------------------------------------------------------------------------------------
export BENCH_DATE BENCH_ARCH BENCH_NPROC OPTUNA_VERSION HPO_TRIALS OPTUNA_TRIALS HPO_REPEATS OPTUNA_REPEATS
BENCH_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
BENCH_ARCH=$(uname -m)
BENCH_NPROC=$(nproc)
PG_VERSION=$(psql "$PG_CONN" -qAtX -c 'SHOW server_version')
export PG_VERSION
"$PY" - "$RESULTS" >"$TMP/RESULTS.md" <<'EOF'
import json, os, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]

def median_runs(kind):
    """workers -> the median run (by trials/s) of that kind, with all runs' trials/s in "all"."""
    by = {}
    for r in rows:
        if r["kind"] == kind:
            by.setdefault(r["r"]["workers"], []).append(r["r"])
    out = {}
    for w, runs in by.items():
        runs.sort(key=lambda x: x["trials_per_s"])
        m = dict(runs[(len(runs) - 1) // 2])
        m["all"] = [x["trials_per_s"] for x in runs]
        out[w] = m
    return out

hpo = median_runs("hpo")
opt = median_runs("optuna")
tpe = list(median_runs("optuna-tpe").values())
e = os.environ
print("# Distributed throughput: hpo vs Optuna")
print()
print(f"{e['BENCH_DATE']} · `uname -m` {e['BENCH_ARCH']} · `nproc` {e['BENCH_NPROC']} · "
      f"PostgreSQL {e['PG_VERSION']} (private, fsync on, loopback) · Optuna {e['OPTUNA_VERSION']}")
print()
print(f"Compared: the same workload — 4 float params x0..x3 in [-5, 5], 5 intermediate reports, "
      f"objective = sum of squares — run by hpo-server (--threads 4; `bench_client` threads doing "
      f"ask → 5 reports → finish over HTTP keep-alive; {e['HPO_TRIALS']} trials, random sampler) and "
      f"by Optuna (processes running `study.optimize` on one RDBStorage study in another database "
      f"of the same PostgreSQL; {e['OPTUNA_TRIALS']} trials, RandomSampler + MedianPruner defaults). "
      f"Median of {e['HPO_REPEATS']} hpo run(s) and {e['OPTUNA_REPEATS']} Optuna run(s) per row, "
      f"each on a fresh study. Generated by `bash tests/bench/throughput.sh`.")
print()
print("| workers | hpo trials/s | Optuna trials/s | ratio (hpo/Optuna) | hpo ask p50/p99 ms |")
print("|---|---|---|---|---|")
for w in sorted(hpo):
    h = hpo[w]
    o = opt.get(w)
    ot = f"{o['trials_per_s']:.1f}" if o else "— (not run)"
    ratio = f"{h['trials_per_s'] / o['trials_per_s']:.1f}×" if o and o["trials_per_s"] else "—"
    print(f"| {w} | {h['trials_per_s']:.1f} | {ot} | {ratio} | "
          f"{h['ask_p50_ms']:.2f} / {h['ask_p99_ms']:.2f} |")
print()
notes = []
notes.append("hpo has no pruners yet (only `none`), so every hpo trial makes all 5 reports; "
             "Optuna's MedianPruner prunes some trials early (pruned per run: "
             + ", ".join(f"{w} workers {opt[w]['pruned']}/{opt[w]['trials']}" for w in sorted(opt))
             + "), which makes Optuna's trials cheaper than hpo's.")
if tpe:
    t = tpe[0]
    notes.append(f"Optuna with its default TPESampler + MedianPruner (the anchor's configuration), "
                 f"1 worker: {t['trials_per_s']:.1f} trials/s ({t['trials']} trials, "
                 f"{t['pruned']} pruned); anchor on the reference 2-core machine: 13.3 trials/s "
                 f"(1 worker), 7.3 trials/s (4 workers).")
hreq = ", ".join(f"{w}: {hpo[w]['requests_per_s']:.0f}" for w in sorted(hpo))
notes.append(f"hpo HTTP requests/s by workers (median run) — {hreq}. Optuna talks SQL, so it has no "
             f"request rate or ask latency here.")
def spread(d):
    return "; ".join(f"{w}: " + ", ".join(f"{x:.1f}" for x in d[w]["all"]) for w in sorted(d))
notes.append(f"Every run's trials/s by workers — hpo {spread(hpo)}; Optuna {spread(opt)}.")
notes.append("Optuna's clock starts after every worker process has imported Optuna and loaded the "
             "study; hpo's client starts its threads at once. Both count finished trials "
             "(complete or pruned).")
for n in notes:
    print(f"- {n}")
EOF
cp "$TMP/RESULTS.md" "$BENCH/RESULTS.md"
cat "$TMP/RESULTS.md"
log "wrote $BENCH/RESULTS.md"

#!/usr/bin/env bash
# core_latency.sh: one client's latency over keep-alive HTTP (TPE ask and report at 300 trials, 10 params) and the PostgreSQL statements each request costs, next to Optuna 3.1's in-process TPE ask.
#
#   bash tests/bench/core_latency.sh
#
# Builds hpo (BENCH_BUILD, default build-bench/) if needed and starts a private PostgreSQL with
# pg_stat_statements loaded (shared_preload_libraries, a restart; without it, statements are
# counted from the log with log_statement = all for the hpo database), and hpo-server
# (default --threads) on free loopback ports (bench_lib.sh). A study with 10 float params x0..x9 in
# [-5, 5] and the TPE sampler (`{"type":"tpe"}`, no pruner) is filled through the API to FILL
# completed trials (tests/bench/bench_tpe_http fill). Then, over one keep-alive connection
# (tests/bench/bench_probe asks), 10 untimed and ASKS timed rounds of ask → REPORTS reports →
# finish `fail` (so the study keeps FILL completed trials): p50/p99 of ask and of report
# (targets: ask p50 ≤ 0.8 ms, report p50 ≤ 0.4 ms). Then COUNT_ROUNDS rounds, one request at a
# time, reading PostgreSQL's statement counter between requests: statements (each a round trip
# unless pipelined; BEGIN and COMMIT included) and commits per ask, report and finish (median).
# Side by side: Optuna's in-process TPE ask on an in-memory study with the same FILL trials
# (tests/bench/optuna_tpe_cost.py: study.ask + 10 suggest_float, median of OPTUNA_REPS), as in
# tpe_cost.sh. Prints a markdown table and writes the section `core_latency` of
# tests/bench/RESULTS.md. Everything it started is stopped on exit.
#
# Environment: FILL (default 300), ASKS (300), REPORTS (5), COUNT_ROUNDS (10), OPTUNA_REPS (50),
# BENCH_BUILD. Run as root on Debian 12.
set -euo pipefail

BL_NAME=core_latency
# shellcheck source=tests/bench/bench_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

FILL=${FILL:-300}
ASKS=${ASKS:-300}
REPORTS=${REPORTS:-5}
COUNT_ROUNDS=${COUNT_ROUNDS:-10}
OPTUNA_REPS=${OPTUNA_REPS:-50}

bl_need_optuna pg
bl_build server/hpo-server tests/bench/bench_probe tests/bench/bench_tpe_http
PROBE=$BUILD/tests/bench/bench_probe
HTTP=$BUILD/tests/bench/bench_tpe_http
LOAD_START=$(bl_loadavg)

bl_start_pg
# pg_stat_statements needs a restart with it preloaded; the log is the fallback.
STMT_SRC=log
PG_PORT=${PG_CONN##*port=}
PG_PORT=${PG_PORT%% *}
if psql "$PG_CONN" -qX -c "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" >&2 \
    && "$ROOT/deploy/pg.sh" stop "$TMP/pg" >&2 \
    && PG_CONN=$("$ROOT/deploy/pg.sh" start "$TMP/pg" "$PG_PORT") \
    && psql "$PG_CONN" -qX -c 'CREATE EXTENSION pg_stat_statements' >&2; then
    STMT_SRC=pg_stat_statements
else
    bl_log "pg_stat_statements is not available: counting statements in the log (log_statement = all on hpo)"
    "$ROOT/deploy/pg.sh" status "$TMP/pg" 2>/dev/null || PG_CONN=$("$ROOT/deploy/pg.sh" start "$TMP/pg" "$PG_PORT")
    psql "$PG_CONN" -qX -c "ALTER SYSTEM RESET shared_preload_libraries" \
        -c "ALTER DATABASE hpo SET log_statement = 'all'" >&2
fi
bl_start_server

"$HTTP" create --server "$URL" --study lat --problem sphere10 --sampler '{"type":"tpe"}' >&2 \
    || bl_die "creating the study failed"
bl_log "filling the study with $FILL completed trials (TPE)"
bl_child "$TMP/fill.json" "$HTTP" fill --server "$URL" --study lat --count "$FILL" --workers 4 \
    || bl_die "fill failed"

bl_log "timing $ASKS rounds of ask, $REPORTS reports, finish fail"
bl_child "$TMP/lat.json" "$PROBE" asks --server "$URL" --study lat --count "$ASKS" --warmup 10 \
    --reports "$REPORTS" --finish fail || { tail -n 20 "$TMP/server.log" >&2; bl_die "the asks failed"; }
cat "$TMP/lat.json" >&2

bl_log "counting PostgreSQL statements per request ($STMT_SRC), $COUNT_ROUNDS rounds"
"$PY" - "$URL" "$STMT_SRC" "$PG_CONN" "$TMP/pg/log" "$COUNT_ROUNDS" >"$TMP/count.json" <<'PYEOF' || bl_die "counting failed"
import http.client, json, os, re, statistics, sys, time, urllib.parse
import psycopg2
url, src, conninfo, logpath, rounds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
u = urllib.parse.urlparse(url)
c = http.client.HTTPConnection(u.hostname, u.port)
h = {"Authorization": "Bearer " + os.environ["HPO_TOKEN"], "Content-Type": "application/json"}
db = psycopg2.connect(conninfo)
db.autocommit = True
cur = db.cursor()
stmt_re = re.compile(r"LOG:  (statement|execute [^:]*): (.*)")

def counters():
    """(statements, commits) in the hpo database so far."""
    if src == "pg_stat_statements":
        cur.execute("SELECT coalesce(sum(calls), 0), coalesce(sum(calls) FILTER (WHERE query ILIKE 'commit%'), 0)"
                    " FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'hpo')")
        s, k = cur.fetchone()
        return int(s), int(k)
    time.sleep(0.05)  # the log is written as statements run; let it land
    s = k = 0
    for line in open(logpath, errors="replace"):
        m = stmt_re.search(line)
        if m:
            s += 1
            k += m.group(2).strip().upper().startswith("COMMIT")
    return s, k

def call(path, body):
    c.request("POST", path, json.dumps(body), h)
    r = c.getresponse()
    data = r.read()
    if r.status not in (200, 201):
        sys.exit(f"{path}: {r.status} {data[:300]!r}")
    return json.loads(data)

out = {"ask": [], "report": [], "finish": []}
base = "/api/v1/studies/lat/trials"
for _ in range(rounds):
    before = counters()
    t = call(base, {"worker": "count"})
    after = counters()
    out["ask"].append((after[0] - before[0], after[1] - before[1]))
    before = after
    call(f"{base}/{t['number']}/reports", {"step": 0, "value": 1.0})
    after = counters()
    out["report"].append((after[0] - before[0], after[1] - before[1]))
    before = after
    call(f"{base}/{t['number']}/finish", {"state": "fail"})
    after = counters()
    out["finish"].append((after[0] - before[0], after[1] - before[1]))
# The counter's own queries are in another database (pg_stat_statements) or not logged (log).
res = {}
for k, v in out.items():
    res[k] = {"statements": statistics.median(x[0] for x in v), "commits": statistics.median(x[1] for x in v),
              "statements_min": min(x[0] for x in v), "statements_max": max(x[0] for x in v)}
print(json.dumps(res))
PYEOF
cat "$TMP/count.json" >&2

bl_log "Optuna in-memory TPE ask at $FILL trials, $OPTUNA_REPS asks"
bl_child "$TMP/optuna.jsonl" "$PY" "$BENCH/optuna_tpe_cost.py" --sizes "$FILL" --reps "$OPTUNA_REPS" \
    || bl_die "optuna_tpe_cost failed"
cat "$TMP/optuna.jsonl" >&2

BENCH_MACHINE="$(bl_machine) · load average (1 min) $LOAD_START at the start, $(bl_loadavg) at the end"
export BENCH_MACHINE FILL ASKS REPORTS COUNT_ROUNDS OPTUNA_REPS STMT_SRC OPTUNA_VERSION
"$PY" - "$TMP/lat.json" "$TMP/count.json" "$TMP/optuna.jsonl" "$TMP/fill.json" >"$TMP/section.md" <<'PYEOF'
import json, os, sys
lat = json.load(open(sys.argv[1]))
cnt = json.load(open(sys.argv[2]))
opt = {r["multivariate"]: r for r in (json.loads(l) for l in open(sys.argv[3]) if l.strip())}
e = os.environ
def v(x, t):
    return "met" if x <= t else "MISSED"
def stm(k):
    c = cnt[k]
    rng = f" ({c['statements_min']}–{c['statements_max']})" if c["statements_min"] != c["statements_max"] else ""
    return f"{c['statements']:g}{rng} | {c['commits']:g}"
print("## Server core: one client's latency")
print()
print(f"{e['BENCH_MACHINE']} · PostgreSQL {e['PG_VERSION']} (private, fsync on, loopback) · hpo-server "
      f"default --threads · Optuna {e['OPTUNA_VERSION']}. Generated by `bash tests/bench/core_latency.sh`.")
print()
print(f"A study with 10 float params in [-5, 5], TPE (`{{\"type\":\"tpe\"}}`, no pruner), {e['FILL']} completed "
      f"trials; one client over one keep-alive connection: 10 untimed and {lat['asks']} timed rounds of "
      f"ask → {e['REPORTS']} reports → finish `fail` (the study keeps {e['FILL']} completed trials). "
      f"PostgreSQL statements per request: {e['STMT_SRC']}, median of {e['COUNT_ROUNDS']} requests sent one at "
      f"a time (BEGIN and COMMIT count; each statement is a round trip unless pipelined). hpo "
      f"sends a request's writes as one pipelined batch that PostgreSQL runs as an implicit "
      f"transaction, committed at the pipeline's sync: one round trip, no BEGIN or COMMIT "
      f"statement.")
print()
print("| request | p50 ms | p99 ms | target (p50) | statements | COMMIT statements |")
print("|---|---|---|---|---|---|")
print(f"| ask (TPE, {e['FILL']} trials) | {lat['ask_p50_ms']:.3f} | {lat['ask_p99_ms']:.3f} | ≤ 0.8 ms: {v(lat['ask_p50_ms'], 0.8)} | {stm('ask')} |")
print(f"| report | {lat['report_p50_ms']:.3f} | {lat['report_p99_ms']:.3f} | ≤ 0.4 ms: {v(lat['report_p50_ms'], 0.4)} | {stm('report')} |")
print(f"| finish (`fail`) | {lat['finish_p50_ms']:.3f} | {lat['finish_p99_ms']:.3f} | — | {stm('finish')} |")
for m, label in ((False, "univariate"), (True, "multivariate")):
    o = opt.get(m)
    if o:
        print(f"| Optuna in-process ask, TPE {label} (study.ask + 10 suggest_float, in-memory) | "
              f"{o['median_ms']:.3f} (median) | max {o['max_ms']:.3f} | — | — | — |")
print()
o = opt.get(False)
if o:
    print(f"- hpo's whole HTTP ask (TPE, PostgreSQL insert and commit, JSON, loopback) against Optuna's "
          f"in-process univariate TPE ask (no storage, no network): {o['median_ms'] / lat['ask_p50_ms']:.1f}× "
          f"(Optuna median / hpo p50), Optuna over {o['calls']} asks after one warm-up.")
PYEOF
cat "$TMP/section.md"
bl_write_section core_latency "$TMP/section.md"

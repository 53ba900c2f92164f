#!/usr/bin/env bash
# core_scale.sh: the server core with a large study: memory, start-to-first-ask time and request latencies at 100,000 trials, and memory with many idle studies before and after eviction.
#
#   bash tests/bench/core_scale.sh
#
# Builds hpo (BENCH_BUILD, default build-bench/) if needed, starts a private PostgreSQL and
# hpo-server (default --threads) on free loopback ports (bench_lib.sh). Through the API: the study
# `scale` (4 float params x0..x3 in [-5, 5], TPE sampler, median pruner) with one complete trial
# (ask, one report, finish), and IDLE_STUDIES studies `idle-N` (same space, random sampler, no
# pruner). Then the server is stopped and the studies filled in PostgreSQL directly (bl_fill of
# bench_lib.sh: rows shaped like the API-made trial's): `scale` to SCALE_TRIALS complete trials
# with SCALE_IVS intermediate values each, every idle study to IDLE_TRIALS complete trials with
# IDLE_IVS intermediate values.
# Measured, the server started again (with the idle-eviction flag HPO_IDLE_FLAG when it accepts it):
#   - time from the server's start (exec) to the first answered ask on `scale` (the study loaded
#     then, or at start), and the server's RSS then (VmRSS, VmHWM from /proc/PID/status);
#   - p50/p99 of ask (TPE over SCALE_TRIALS trials; each trial then gets SCALE_IVS reports and is
#     finished `fail`, so the complete trials stay as they are), of report (those reports, on
#     running trials; the median pruner judges each against the complete trials at that step),
#     of GET /best, and of GET /trials?limit=100 (the first page and the page after N/2);
#   - idle studies: RSS before and after touching each once (GET /api/v1/studies/NAME, which loads
#     it), and after IDLE_WAIT seconds with no requests, when the server's idle eviction should have
#     dropped them.
# Targets printed met/MISSED: RSS ≤ 300 MB after the first ask, start to first ask ≤ 3 s, report
# and best p50 ≤ 1 ms, ask (TPE) p50 ≤ 20 ms. Prints a markdown table and writes it as the section
# `core_scale` of tests/bench/RESULTS.md. Everything it started is stopped on exit.
#
# Environment: SCALE_TRIALS (default 100000), SCALE_IVS (20), SCALE_ASKS (timed TPE asks, 50),
# SCALE_GETS (timed GETs of each kind, 200), IDLE_STUDIES (1000), IDLE_TRIALS (1000), IDLE_IVS (5),
# HPO_IDLE_FLAG (the server's idle-eviction flag, default "--study-idle-seconds 60", longer than the
# touching takes, so that every study is in memory at its end; not passed if
# the server refuses it), IDLE_WAIT (seconds to wait for eviction, default twice the flag's number
# + 5), BENCH_BUILD. HPO_MAX_TRIALS_PER_STUDY and HPO_MAX_STUDIES are raised to fit. Run as root
# on Debian 12.
set -euo pipefail

BL_NAME=core_scale
# shellcheck source=tests/bench/bench_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

SCALE_TRIALS=${SCALE_TRIALS:-100000}
SCALE_IVS=${SCALE_IVS:-20}
SCALE_ASKS=${SCALE_ASKS:-50}
SCALE_GETS=${SCALE_GETS:-200}
IDLE_STUDIES=${IDLE_STUDIES:-1000}
IDLE_TRIALS=${IDLE_TRIALS:-1000}
IDLE_IVS=${IDLE_IVS:-5}
HPO_IDLE_FLAG=${HPO_IDLE_FLAG:---study-idle-seconds 60}
read -r -a IDLE_ARGS <<<"$HPO_IDLE_FLAG"
idle_n=$(grep -oE '[0-9]+' <<<"$HPO_IDLE_FLAG" | tail -n1 || true)
IDLE_WAIT=${IDLE_WAIT:-$((2 * ${idle_n:-5} + 5))}
# The server's caps, raised so that the study and the probes fit.
export HPO_MAX_TRIALS_PER_STUDY=$((SCALE_TRIALS + SCALE_ASKS + 1000 > 100000 ? SCALE_TRIALS + SCALE_ASKS + 1000 : 100000))
export HPO_MAX_STUDIES=$((IDLE_STUDIES + 100 > 10000 ? IDLE_STUDIES + 100 : 10000))

bl_build server/hpo-server tests/bench/bench_probe
PROBE=$BUILD/tests/bench/bench_probe
SERVER=$BUILD/server/hpo-server
LOAD_START=$(bl_loadavg)
bl_log "size: $SCALE_TRIALS trials x $SCALE_IVS intermediate values; $IDLE_STUDIES idle studies x $IDLE_TRIALS trials"

bl_start_pg
bl_start_server

SPACE='"search_space":{"x0":{"type":"float","low":-5,"high":5},"x1":{"type":"float","low":-5,"high":5},"x2":{"type":"float","low":-5,"high":5},"x3":{"type":"float","low":-5,"high":5}}'
code=$(curl -sS "${CURL_AUTH[@]}" -o "$TMP/create.json" -w '%{http_code}' -X POST "$URL/api/v1/studies" \
    -H 'Content-Type: application/json' \
    -d "{\"name\":\"scale\",\"direction\":\"minimize\",\"sampler\":{\"type\":\"tpe\"},\"pruner\":{\"type\":\"median\"},$SPACE}")
[[ "$code" == 201 ]] || { cat "$TMP/create.json" >&2; bl_die "creating study scale answered $code"; }
# Trial 0 through the API: the template of every row the fill writes.
"$PROBE" asks --server "$URL" --study scale --count 1 --reports 1 --finish complete >/dev/null \
    || bl_die "the template trial failed"

bl_log "creating $IDLE_STUDIES idle studies through the API"
t0=$(date +%s.%N)
"$PY" - "$URL" "$IDLE_STUDIES" "$SPACE" <<'PYEOF' || bl_die "creating the idle studies failed"
import http.client, os, sys, urllib.parse
url, n, space = sys.argv[1], int(sys.argv[2]), sys.argv[3]
u = urllib.parse.urlparse(url)
c = http.client.HTTPConnection(u.hostname, u.port)
h = {"Authorization": "Bearer " + os.environ["HPO_TOKEN"], "Content-Type": "application/json"}
for i in range(n):
    body = '{"name":"idle-%05d","direction":"minimize","sampler":{"type":"random"},%s}' % (i, space)
    c.request("POST", "/api/v1/studies", body, h)
    r = c.getresponse()
    data = r.read()
    if r.status != 201:
        sys.exit(f"idle-{i:05d}: {r.status} {data[:300]!r}")
PYEOF
IDLE_CREATE_S=$(echo "$(date +%s.%N) - $t0" | bc)
bl_stop_server


bl_log "filling scale with $((SCALE_TRIALS - 1)) more trials in PostgreSQL"
t0=$(date +%s.%N)
bl_fill scale scale $((SCALE_TRIALS - 1)) "$SCALE_IVS"
SCALE_FILL_S=$(echo "$(date +%s.%N) - $t0" | bc)
bl_log "filling $IDLE_STUDIES idle studies with $IDLE_TRIALS trials each in PostgreSQL"
t0=$(date +%s.%N)
((IDLE_STUDIES > 0)) && bl_fill scale 'idle-%' "$IDLE_TRIALS" "$IDLE_IVS"
IDLE_FILL_S=$(echo "$(date +%s.%N) - $t0" | bc)
psql "$HPO_DB" -qX -c 'VACUUM ANALYZE' >&2
psql "$HPO_DB" -qAtX -c "SELECT 'rows: trials ' || (SELECT count(*) FROM trials) || ', params ' || (SELECT count(*) FROM trial_params) || ', intermediate values ' || (SELECT count(*) FROM trial_intermediate_values)" >&2

# Does the server take the idle-eviction flag? (Flags are read in order: a refused one fails
# before --help.)
EVICTION=no
if "$SERVER" "${IDLE_ARGS[@]}" --help >/dev/null 2>&1; then
    EVICTION=yes
    BL_SERVER_ARGS=("${IDLE_ARGS[@]}")
else
    bl_log "the server refuses '$HPO_IDLE_FLAG': idle eviction is not available, starting without it"
fi

rss() { # "VmRSS VmHWM" in MB of the server
    awk '/^VmRSS:/ {r = $2} /^VmHWM:/ {h = $2} END {printf "%.1f %.1f\n", r / 1024, h / 1024}' "/proc/$SERVER_PID/status"
}

# Start → first answered ask: the probe waits for the port (BL_LISTEN, chosen here) and asks at once.
port=$(bl_free_port)
BL_LISTEN=127.0.0.1:$port
"$PROBE" asks --server "http://127.0.0.1:$port" --study scale --count 1 --retry-connect 120 \
    >"$TMP/first.json" 2>"$TMP/first.err" &
probe_pid=$!
bl_start_server
wait "$probe_pid" || { cat "$TMP/first.err" >&2; tail -n 20 "$TMP/server.log" >&2; bl_die "the first ask failed"; }
FIRST_NS=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["first_answer_unix_ns"])' "$TMP/first.json")
FIRST_S=$(echo "scale=3; ($FIRST_NS - $BL_SERVER_T0) / 1000000000" | bc)
read -r RSS_FIRST HWM_FIRST <<<"$(rss)"
bl_log "first ask answered $FIRST_S s after the start; RSS $RSS_FIRST MB (peak $HWM_FIRST MB)"

bl_log "timing $SCALE_ASKS TPE asks with $SCALE_IVS reports each"
"$PROBE" asks --server "$URL" --study scale --count "$SCALE_ASKS" --warmup 2 --reports "$SCALE_IVS" \
    --finish fail >"$TMP/asks.json" || bl_die "the asks failed"
cat "$TMP/asks.json" >&2
"$PROBE" get --server "$URL" --path /api/v1/studies/scale/best --count "$SCALE_GETS" --warmup 3 \
    >"$TMP/best.json" || bl_die "GET best failed"
"$PROBE" get --server "$URL" --path "/api/v1/studies/scale/trials?limit=100" --count "$SCALE_GETS" \
    --warmup 3 >"$TMP/page0.json" || bl_die "GET trials failed"
"$PROBE" get --server "$URL" --path "/api/v1/studies/scale/trials?limit=100&after=$((SCALE_TRIALS / 2))" \
    --count "$SCALE_GETS" --warmup 3 >"$TMP/pagemid.json" || bl_die "GET trials failed"
cat "$TMP/best.json" "$TMP/page0.json" "$TMP/pagemid.json" >&2
read -r RSS_SCALE HWM_SCALE <<<"$(rss)"

read -r RSS_IDLE0 _ <<<"$(rss)"
bl_log "touching $IDLE_STUDIES idle studies"
t0=$(date +%s.%N)
"$PY" - "$URL" "$IDLE_STUDIES" <<'PYEOF' || bl_die "touching the idle studies failed"
import http.client, os, sys, urllib.parse
url, n = sys.argv[1], int(sys.argv[2])
u = urllib.parse.urlparse(url)
c = http.client.HTTPConnection(u.hostname, u.port)
h = {"Authorization": "Bearer " + os.environ["HPO_TOKEN"]}
for i in range(n):
    c.request("GET", "/api/v1/studies/idle-%05d" % i, headers=h)
    r = c.getresponse()
    data = r.read()
    if r.status != 200:
        sys.exit(f"idle-{i:05d}: {r.status} {data[:300]!r}")
PYEOF
TOUCH_S=$(echo "$(date +%s.%N) - $t0" | bc)
read -r RSS_TOUCHED HWM_TOUCHED <<<"$(rss)"
bl_log "RSS after touching: $RSS_TOUCHED MB; waiting $IDLE_WAIT s for idle eviction"
sleep "$IDLE_WAIT"
read -r RSS_EVICTED _ <<<"$(rss)"
bl_log "RSS after $IDLE_WAIT s idle: $RSS_EVICTED MB"

# --- report ------------------------------------------------------------------------------------
BENCH_MACHINE="$(bl_machine) · load average (1 min) $LOAD_START at the start, $(bl_loadavg) at the end"
export BENCH_MACHINE SCALE_TRIALS SCALE_IVS SCALE_ASKS SCALE_GETS IDLE_STUDIES IDLE_TRIALS IDLE_IVS \
    HPO_IDLE_FLAG IDLE_WAIT EVICTION FIRST_S RSS_FIRST HWM_FIRST RSS_SCALE HWM_SCALE RSS_IDLE0 \
    RSS_TOUCHED HWM_TOUCHED RSS_EVICTED TOUCH_S SCALE_FILL_S IDLE_FILL_S IDLE_CREATE_S
"$PY" - "$TMP/asks.json" "$TMP/best.json" "$TMP/page0.json" "$TMP/pagemid.json" >"$TMP/section.md" <<'PYEOF'
import json, os, sys
asks, best, page0, pagemid = (json.load(open(p)) for p in sys.argv[1:5])
e = os.environ
f = lambda k: float(e[k])
def verdict(v, target):
    return "met" if v <= target else "MISSED"
n = int(e["SCALE_TRIALS"])
print("## Server core at scale: one large study, many idle ones")
print()
print(f"{e['BENCH_MACHINE']} · PostgreSQL {e['PG_VERSION']} (private, loopback) · hpo-server "
      f"default --threads. Generated by `bash tests/bench/core_scale.sh`.")
print()
print(f"Study `scale`: {n:,} complete trials × {e['SCALE_IVS']} intermediate values, 4 float params, "
      f"TPE sampler, median pruner; filled in PostgreSQL directly (INSERT … SELECT, rows shaped like "
      f"an API-made trial's) in {f('SCALE_FILL_S'):.1f} s, then the server started. Ask = TPE over "
      f"those trials (each asked trial then gets {e['SCALE_IVS']} reports and is finished `fail`); "
      f"report = those reports on running trials; one keep-alive connection, {e['SCALE_ASKS']} asks, "
      f"{asks['reports']} reports, {e['SCALE_GETS']} GETs of each kind.")
print()
print("| measure | value | target |")
print("|---|---|---|")
print(f"| start → first answered ask | {f('FIRST_S'):.2f} s | ≤ 3 s: {verdict(f('FIRST_S'), 3)} |")
print(f"| RSS after the first ask (peak) | {f('RSS_FIRST'):.0f} MB ({f('HWM_FIRST'):.0f} MB) | ≤ 300 MB: {verdict(f('RSS_FIRST'), 300)} |")
print(f"| ask (TPE) p50 / p99 | {asks['ask_p50_ms']:.2f} / {asks['ask_p99_ms']:.2f} ms | ≤ 20 ms: {verdict(asks['ask_p50_ms'], 20)} |")
print(f"| report p50 / p99 | {asks['report_p50_ms']:.3f} / {asks['report_p99_ms']:.3f} ms | ≤ 1 ms: {verdict(asks['report_p50_ms'], 1)} |")
print(f"| GET /best p50 / p99 | {best['p50_ms']:.3f} / {best['p99_ms']:.3f} ms | ≤ 1 ms: {verdict(best['p50_ms'], 1)} |")
print(f"| GET /trials?limit=100, first page, p50 / p99 | {page0['p50_ms']:.2f} / {page0['p99_ms']:.2f} ms ({page0['bytes']:,} bytes) | — |")
print(f"| GET /trials?limit=100&after={n // 2}, p50 / p99 | {pagemid['p50_ms']:.2f} / {pagemid['p99_ms']:.2f} ms | — |")
print(f"| RSS after the timed requests (peak) | {f('RSS_SCALE'):.0f} MB ({f('HWM_SCALE'):.0f} MB) | — |")
ni, nt = int(e["IDLE_STUDIES"]), int(e["IDLE_TRIALS"])
print(f"| {ni:,} idle studies × {nt:,} trials: RSS after touching each once (peak) | "
      f"{f('RSS_TOUCHED'):.0f} MB ({f('HWM_TOUCHED'):.0f} MB), +{f('RSS_TOUCHED') - f('RSS_IDLE0'):.0f} MB | — |")
ev = e["EVICTION"] == "yes"
print(f"| RSS {e['IDLE_WAIT']} s later ({'`' + e['HPO_IDLE_FLAG'] + '`' if ev else 'eviction not available'}) | "
      f"{f('RSS_EVICTED'):.0f} MB | {'every study dropped, the large one too' if ev else '—'} |")
print()
notes = []
notes.append(f"Idle studies: {ni:,} created through the API ({f('IDLE_CREATE_S'):.1f} s), each filled in "
             f"PostgreSQL with {nt:,} complete trials × {e['IDLE_IVS']} intermediate values "
             f"({f('IDLE_FILL_S'):.1f} s); touched with `GET /api/v1/studies/NAME`, which loads a study "
             f"({f('TOUCH_S'):.1f} s for all, one connection).")
if not ev:
    notes.append(f"Eviction was not available: the server refused `{e['HPO_IDLE_FLAG']}` (HPO_IDLE_FLAG), "
                 f"so it ran without it; the last row is the RSS after {e['IDLE_WAIT']} s idle anyway.")
notes.append("Memory freed by a study's eviction returns to the system only if the allocator gives "
             "it back (glibc keeps freed heap unless trimmed), so RSS is the number a user sees.")
notes.append(f"Start → first ask: from the exec of hpo-server to the answer of an ask sent by a client "
             f"that retried its connection every 2 ms; it includes loading the study from PostgreSQL "
             f"(whenever the server does it) and one TPE sample over {n:,} trials.")
for x in notes:
    print(f"- {x}")
PYEOF
cat "$TMP/section.md"
bl_write_section core_scale "$TMP/section.md"

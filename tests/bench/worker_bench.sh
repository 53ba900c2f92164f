#!/usr/bin/env bash
# worker_bench.sh: what hpo-worker costs, measured on real processes (PostgreSQL + hpo-server + hpo-worker): idle memory, ask → start, report acknowledgement, reports/s.
#
#   bash tests/bench/worker_bench.sh
#
# Builds (BENCH_BUILD, default build-bench/) hpo-server, hpo-worker and the helpers worker_stamp
# and worker_probe (tests/bench/meson.build), starts a private PostgreSQL (deploy/pg.sh, fsync on)
# and hpo-server (--threads 4, artifacts in the temporary directory) on loopback (bench_lib.sh),
# then measures:
#   1. idle: RSS (VmRSS) and PSS (smaps_rollup) of `hpo-worker --parallel 4` on a grid study whose
#      only point is running (every ask answers 204), 2 s after it started; its CPU over the next
#      IDLE_S seconds; the server's RSS/PSS for reference;
#   2. ask → command start: ASK_TRIALS trials of `worker_stamp` (reads CLOCK_REALTIME first thing
#      in main) through `hpo-worker --parallel 1`, each compared with the trial's datetime_start
#      (the server's clock when it handled the ask; millisecond resolution, floored);
#   3. printed line → stored: `worker_probe ack` prints `hpo: step=k value=k`, then polls GET trial
#      every POLL_US µs over keep-alive until step k is there; ACK_STEPS lines;
#   4. reports/s: `worker_probe flood` prints FLOOD_N report lines at once and `hpo: value=1`; time
#      from the command's start to the trial's datetime_complete (all FLOOD_N values checked via
#      GET trial); the same N reports through the REST API by one keep-alive client
#      (`worker_probe rest`), one per request and BATCH per request; and, to show where the time
#      goes, the one-per-request runs again with PostgreSQL's synchronous_commit off, the CPU
#      seconds of hpo-worker, hpo-server and PostgreSQL per run, and pg_test_fsync's fdatasync rate.
# Prints a markdown table and writes it as the section `worker` of tests/bench/RESULTS.md.
#
# Environment: BENCH_BUILD, IDLE_S (10), ASK_TRIALS (200), ACK_STEPS (50), POLL_US (1000),
# FLOOD_N (20000), BATCH (100), SYNC_OFF=0 to skip the synchronous_commit=off runs,
# WORKER_BENCH_JSON=FILE to keep the raw figures (JSON) in FILE.
set -euo pipefail

BL_NAME=worker
# shellcheck source=tests/bench/bench_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

IDLE_S=${IDLE_S:-10}
ASK_TRIALS=${ASK_TRIALS:-200}
ACK_STEPS=${ACK_STEPS:-50}
POLL_US=${POLL_US:-1000}
FLOOD_N=${FLOOD_N:-20000}
BATCH=${BATCH:-100}
SYNC_OFF=${SYNC_OFF:-1}

LOAD0=$(cut -d' ' -f1 /proc/loadavg)
bl_build server/hpo-server worker/hpo-worker tests/bench/worker_stamp tests/bench/worker_probe
WORKER=$BUILD/worker/hpo-worker
STAMP=$BUILD/tests/bench/worker_stamp
PROBE=$BUILD/tests/bench/worker_probe
for f in "$WORKER" "$STAMP" "$PROBE"; do [[ -x "$f" ]] || bl_die "no $f after the build"; done
HZ=$(getconf CLK_TCK)

bl_start_pg
PG_DATA=$TMP/pg/data

# hpo-server as bl_start_server starts it, but with its artifacts (the worker uploads every
# trial's log) in the temporary directory rather than ./hpo-artifacts. The admin token is this
# script's and worker_probe rest's (HPO_TOKEN), the worker token the workers' (--token-file).
start_server() {
    local line
    bl_admin_token
    bl_token "$TMP/worker.token" worker --name bench-workers
    mkdir -p "$TMP/artifacts"
    bl_log "starting hpo-server"
    "$BUILD/server/hpo-server" --db "$HPO_DB" --listen 127.0.0.1:0 --threads 4 \
        --artifact-dir "$TMP/artifacts" >"$TMP/server.out" 2>"$TMP/server.log" &
    SERVER_PID=$!
    URL=""
    for _ in $(seq 300); do
        if line=$(grep -m1 '^listening on ' "$TMP/server.out" 2>/dev/null); then
            URL="http://${line#listening on }"
            break
        fi
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server.log" >&2; bl_die "hpo-server exited"; }
        sleep 0.1
    done
    [[ -n "$URL" ]] || { cat "$TMP/server.log" >&2; bl_die "hpo-server did not report listening"; }
    bl_log "hpo-server at $URL"
}
start_server
API=$URL/api/v1/studies

# POST $2 to $API$1; dies unless the status is one of $3 (e.g. "201" or "200|201"). Body in $TMP/api.json.
api_post() {
    local code
    code=$(curl -sS "${CURL_AUTH[@]}" -o "$TMP/api.json" -w '%{http_code}' -X POST "$API$1" \
        -H 'Content-Type: application/json' -d "$2")
    [[ "$code" =~ ^($3)$ ]] || { cat "$TMP/api.json" >&2; bl_die "POST $1 answered $code"; }
    echo "$code"
}

create_study() { # NAME MAX_TRIALS
    api_post "" "{\"name\":\"$1\",\"sampler\":{\"type\":\"random\",\"seed\":1},\"pruner\":{\"type\":\"none\"},\"max_trials\":$2,\"search_space\":{\"x\":{\"type\":\"float\",\"low\":0,\"high\":1}}}" 201 >/dev/null
}

# CPU ticks (user + system) of a process; of PostgreSQL: the postmaster and all its children.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
pg_ticks() {
    local pm sum=0 p
    pm=$(head -n1 "$PG_DATA/postmaster.pid")
    for p in "$pm" $(cat "/proc/$pm/task/$pm/children" 2>/dev/null); do
        sum=$((sum + $(cpu_ticks "$p")))
    done
    echo "$sum"
}
wal_bytes() { psql "$PG_CONN" -qAtX -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint"; }
kb_field() { awk -v k="$2:" '$1 == k {print $2}' "$1"; } # FILE FIELD: the kB number

# Runs hpo-worker ARGS... in its own process group until it exits, under /usr/bin/time: its user
# and system CPU seconds and max RSS (kB) go to $TMP/$1.time, its stderr to $TMP/$1.log.
run_worker() {
    local tag=$1
    shift
    bl_child "$TMP/$tag.out" /usr/bin/time -f '%U %S %M' -o "$TMP/$tag.time" \
        "$WORKER" --server "$URL" --token-file "$TMP/worker.token" --gpus none --log-level warn \
        --work-dir "$TMP/work-$tag" "$@" \
        2>"$TMP/$tag.log" || { cat "$TMP/$tag.log" >&2; bl_die "hpo-worker ($tag) failed"; }
}

R=$TMP/results.json
echo '{}' >"$R"
put() { # KEY JSON-VALUE: sets R[KEY]
    "$PY" - "$R" "$1" "$2" <<'PYEOF'
import json, sys
path, key, val = sys.argv[1:4]
d = json.load(open(path))
d[key] = json.loads(val)
json.dump(d, open(path, "w"))
PYEOF
}

# --- 1. idle memory ----------------------------------------------------------------------------
bl_log "idle: hpo-worker --parallel 4 on a grid study whose only point is running"
api_post "" '{"name":"idle","sampler":{"type":"grid"},"search_space":{"x":{"type":"categorical","choices":[0]}}}' 201 >/dev/null
api_post /idle/trials '{"worker":"holder"}' 201 >/dev/null
code=$(curl -sS "${CURL_AUTH[@]}" -D "$TMP/idle.hdr" -o /dev/null -w '%{http_code}' -X POST "$API/idle/trials" \
    -H 'Content-Type: application/json' -d '{}')
[[ "$code" == 204 ]] || bl_die "a second ask on the idle study answered $code, not 204"
RETRY_AFTER=$(awk -F': *' 'tolower($1) == "retry-after" {print $2 + 0}' "$TMP/idle.hdr")
setsid "$WORKER" --server "$URL" --token-file "$TMP/worker.token" --study idle --gpus none --parallel 4 --log-level warn \
    --work-dir "$TMP/work-idle" -- "$STAMP" "$TMP/idle.stamps" >"$TMP/idle.out" 2>"$TMP/idle.log" &
CHILD_PID=$!
WPID=$CHILD_PID
sleep 0.2
[[ "$(cat "/proc/$WPID/comm" 2>/dev/null)" == hpo-worker ]] || bl_die "pid $WPID is not the hpo-worker"
sleep 1.8
cp "/proc/$WPID/status" "$TMP/idle.status"
cp "/proc/$WPID/smaps_rollup" "$TMP/idle.smaps"
cp "/proc/$SERVER_PID/status" "$TMP/server-idle.status"
cp "/proc/$SERVER_PID/smaps_rollup" "$TMP/server-idle.smaps"
c0=$(cpu_ticks "$WPID")
s0=$(cpu_ticks "$SERVER_PID")
sleep "$IDLE_S"
c1=$(cpu_ticks "$WPID")
s1=$(cpu_ticks "$SERVER_PID")
[[ -s "$TMP/idle.stamps" ]] && bl_die "the idle worker started a command"
kill -TERM "$WPID"
for _ in $(seq 100); do kill -0 "$WPID" 2>/dev/null || break; sleep 0.05; done
kill -0 "$WPID" 2>/dev/null && bl_die "the idle worker did not exit on SIGTERM"
wait "$WPID" || bl_die "the idle worker exited $? on SIGTERM (expected 0)"
CHILD_PID=""
put idle "{\"rss_kb\":$(kb_field "$TMP/idle.status" VmRSS),\"hwm_kb\":$(kb_field "$TMP/idle.status" VmHWM),
  \"pss_kb\":$(kb_field "$TMP/idle.smaps" Pss),\"pss_anon_kb\":$(kb_field "$TMP/idle.smaps" Pss_Anon),
  \"threads\":$(kb_field "$TMP/idle.status" Threads),\"vsz_kb\":$(kb_field "$TMP/idle.status" VmSize),
  \"cpu_ms\":$(((c1 - c0) * 1000 / HZ)),\"server_cpu_ms\":$(((s1 - s0) * 1000 / HZ)),\"idle_s\":$IDLE_S,
  \"retry_after\":${RETRY_AFTER:-null},
  \"server_rss_kb\":$(kb_field "$TMP/server-idle.status" VmRSS),\"server_pss_kb\":$(kb_field "$TMP/server-idle.smaps" Pss),
  \"server_threads\":$(kb_field "$TMP/server-idle.status" Threads)}"

# --- 2. ask -> command start -------------------------------------------------------------------
bl_log "ask -> start: $ASK_TRIALS trials of worker_stamp, hpo-worker --parallel 1"
create_study ask "$ASK_TRIALS"
: >"$TMP/ask.stamps"
t0=$(date +%s.%N)
s0=$(cpu_ticks "$SERVER_PID")
g0=$(pg_ticks)
run_worker ask --study ask --parallel 1 -- "$STAMP" "$TMP/ask.stamps"
s1=$(cpu_ticks "$SERVER_PID")
g1=$(pg_ticks)
t1=$(date +%s.%N)
curl -sS "${CURL_AUTH[@]}" "$API/ask/trials?limit=1000" >"$TMP/ask.trials.json"
put ask "$("$PY" - "$TMP/ask.trials.json" "$TMP/ask.stamps" "$t0" "$t1" \
    "$(((s1 - s0) * 1000 / HZ))" "$(((g1 - g0) * 1000 / HZ))" "$TMP/ask.time" <<'PYEOF'
import calendar, json, sys, time
trials = json.load(open(sys.argv[1]))["trials"]
stamps = dict(l.split() for l in open(sys.argv[2]) if l.strip())
def epoch(s):  # "2025-01-31T12:00:00.123Z"
    main, frac = s.rstrip("Z").split(".")
    return calendar.timegm(time.strptime(main, "%Y-%m-%dT%H:%M:%S")) + int(frac) / 1000.0
d = sorted((float(stamps[str(t["number"])]) - epoch(t["datetime_start"])) * 1000.0
           for t in trials if str(t["number"]) in stamps)
cycle = sorted((epoch(t["datetime_complete"]) - float(stamps[str(t["number"])])) * 1000.0 for t in trials)
starts = sorted(float(v) for v in stamps.values())
states = [t["state"] for t in trials]
assert len(d) == len(trials) and all(s == "complete" for s in states), (len(d), len(trials), states)
def pct(a, p):
    return a[max(0, min(len(a) - 1, int(p / 100.0 * len(a) + 0.999999) - 1))]
print(json.dumps({"n": len(d), "p50_ms": pct(d, 50), "p95_ms": pct(d, 95), "min_ms": d[0], "max_ms": d[-1],
                  "trials_per_s": len(trials) / (float(sys.argv[4]) - float(sys.argv[3])),
                  "steady_per_s": (len(starts) - 1) / (starts[-1] - starts[0]),
                  "run_p50_ms": pct(cycle, 50), "run_min_ms": cycle[0], "run_max_ms": cycle[-1],
                  "run_ge50": sum(1 for c in cycle if c >= 50.0),
                  # CPU per trial: hpo-server, PostgreSQL (every backend), hpo-worker with its
                  # commands (user + system, /usr/bin/time)
                  "cpu_server_ms": float(sys.argv[5]) / len(trials),
                  "cpu_pg_ms": float(sys.argv[6]) / len(trials),
                  "cpu_worker_ms": sum(map(float, open(sys.argv[7]).read().split()[:2])) * 1000.0 / len(trials)}))
PYEOF
)"

# the floor under a slot: the same command started and reaped by a plain loop, no server
put spawn "$(HPO_TRIAL_NUMBER=0 "$PROBE" spawn "$ASK_TRIALS" "$STAMP" "$TMP/spawn.stamps")"

# --- 3. printed line -> stored -----------------------------------------------------------------
bl_log "line -> stored: $ACK_STEPS lines, polling every $POLL_US us"
create_study ack 1
: >"$TMP/ack.txt"
run_worker ack --study ack --parallel 1 --max-trials 1 -- "$PROBE" ack "$URL" ack "$ACK_STEPS" "$TMP/ack.txt" "$POLL_US"
put ack "$("$PY" - "$TMP/ack.txt" <<'PYEOF'
import json, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
d = sorted(float(r[1]) for r in rows)
g = sorted(float(r[3]) for r in rows)
polls = sorted(int(r[2]) for r in rows)
def pct(a, p):
    return a[max(0, min(len(a) - 1, int(p / 100.0 * len(a) + 0.999999) - 1))]
print(json.dumps({"n": len(d), "p50_ms": pct(d, 50), "p95_ms": pct(d, 95), "min_ms": d[0], "max_ms": d[-1],
                  "get_p50_ms": pct(g, 50), "polls_p50": pct(polls, 50)}))
PYEOF
)"

# --- 4. reports per second ---------------------------------------------------------------------
# The stored intermediate values of STUDY's trial N, and its state and datetimes, as JSON.
trial_check() { # STUDY N
    curl -sS "${CURL_AUTH[@]}" "$API/$1/trials/$2" | "$PY" -c '
import json, sys
t = json.load(sys.stdin)
steps = sorted(iv["step"] for iv in t["intermediate_values"])
print(json.dumps({"state": t["state"], "count": len(steps),
                  "contiguous": steps == list(range(len(steps))),
                  "start": t["datetime_start"], "complete": t["datetime_complete"]}))'
}

flood_worker() { # TAG [keep]: FLOOD_N reports through hpo-worker; sets R[TAG]. With keep the
    # command leaves its stdout as the worker passed it (see worker_probe.c) and nothing is checked.
    local tag=$1 keep=${2:-} s0 p0 s1 p1 l0 l1
    create_study "$tag" 1
    s0=$(cpu_ticks "$SERVER_PID"); p0=$(pg_ticks); l0=$(wal_bytes)
    bl_log "$tag: $FLOOD_N report lines through hpo-worker"
    run_worker "$tag" --study "$tag" --parallel 1 --max-trials 1 -- "$PROBE" flood "$FLOOD_N" "$TMP/$tag.stamp" $keep
    s1=$(cpu_ticks "$SERVER_PID"); p1=$(pg_ticks); l1=$(wal_bytes)
    put "$tag" "$("$PY" - "$TMP/$tag.stamp" "$TMP/$tag.time" "$(trial_check "$tag" 0)" "$FLOOD_N" \
        "$(((s1 - s0) * 1000 / HZ))" "$(((p1 - p0) * 1000 / HZ))" "$((l1 - l0))" "$keep" <<'PYEOF'
import calendar, json, sys, time
t0, t1, nonblock, lost = open(sys.argv[1]).read().split()
t0, t1 = float(t0), float(t1)
user, sys_, maxrss = open(sys.argv[2]).read().split()[-3:]
chk = json.loads(sys.argv[3])
n = int(sys.argv[4])
def epoch(s):
    main, frac = s.rstrip("Z").split(".")
    return calendar.timegm(time.strptime(main, "%Y-%m-%dT%H:%M:%S")) + int(frac) / 1000.0
keep = sys.argv[8] == "keep"
assert keep or (chk["state"] == "complete" and chk["count"] == n and chk["contiguous"]), chk
secs = epoch(chk["complete"]) - t0
print(json.dumps({"reports": n, "seconds": secs, "reports_per_s": n / secs, "print_s": t1 - t0,
                  "stdout_nonblock": nonblock == "1", "stdio_error": lost == "1", "check": chk,
                  "worker_cpu_s": float(user) + float(sys_), "worker_maxrss_kb": int(maxrss),
                  "server_cpu_s": int(sys.argv[5]) / 1000.0, "pg_cpu_s": int(sys.argv[6]) / 1000.0,
                  "wal_bytes": int(sys.argv[7])}))
PYEOF
)"
}

flood_rest() { # TAG BATCH: FLOOD_N reports by worker_probe rest; sets R[TAG]
    local tag=$1 batch=$2 s0 p0 s1 p1 l0 l1 out
    create_study "$tag" 1
    s0=$(cpu_ticks "$SERVER_PID"); p0=$(pg_ticks); l0=$(wal_bytes)
    bl_log "$tag: $FLOOD_N reports through the REST API, $batch per request"
    bl_child "$TMP/$tag.out" /usr/bin/time -f '%U %S %M' -o "$TMP/$tag.time" \
        "$PROBE" rest "$URL" "$tag" "$FLOOD_N" "$batch" || bl_die "worker_probe rest failed"
    s1=$(cpu_ticks "$SERVER_PID"); p1=$(pg_ticks); l1=$(wal_bytes)
    out=$(cat "$TMP/$tag.out")
    put "$tag" "$("$PY" - "$out" "$TMP/$tag.time" "$(trial_check "$tag" 0)" "$FLOOD_N" \
        "$(((s1 - s0) * 1000 / HZ))" "$(((p1 - p0) * 1000 / HZ))" "$((l1 - l0))" <<'PYEOF'
import json, sys
r = json.loads(sys.argv[1])
user, sys_, _ = open(sys.argv[2]).read().split()[-3:]
chk = json.loads(sys.argv[3])
assert chk["state"] == "complete" and chk["count"] == int(sys.argv[4]) and chk["contiguous"], chk
r.update({"client_cpu_s": float(user) + float(sys_), "server_cpu_s": int(sys.argv[5]) / 1000.0,
          "pg_cpu_s": int(sys.argv[6]) / 1000.0, "wal_bytes": int(sys.argv[7])})
print(json.dumps(r))
PYEOF
)"
}

set_sync() { # on|off: PostgreSQL's synchronous_commit, for every session (reload)
    psql "$PG_CONN" -qAtX -v ON_ERROR_STOP=1 -c "ALTER SYSTEM SET synchronous_commit = $1" \
        -c 'SELECT pg_reload_conf()' >/dev/null
    sleep 0.5
}

flood_worker flood
flood_worker flood-keep keep
flood_rest rest1 1
flood_rest "rest$BATCH" "$BATCH"
if [[ "$SYNC_OFF" == 1 ]]; then
    set_sync off
    flood_rest rest1-async 1
    flood_worker flood-async
    set_sync on
fi
cp "/proc/$SERVER_PID/status" "$TMP/server-end.status"
put server_end "{\"rss_kb\":$(kb_field "$TMP/server-end.status" VmRSS),\"hwm_kb\":$(kb_field "$TMP/server-end.status" VmHWM)}"

# The disk under the cluster: fdatasync (PostgreSQL's default wal_sync_method on Linux) per second.
PGBIN=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
if [[ -x "$PGBIN/pg_test_fsync" ]]; then
    bl_log "pg_test_fsync (2 s per test) in $TMP"
    "$PGBIN/pg_test_fsync" -s 2 -f "$TMP/fsync.test" >"$TMP/fsync.txt" 2>&1 || true
    fds=$(awk '/fdatasync/ && /ops\/sec/ {print $(NF-3); exit}' "$TMP/fsync.txt")
    [[ "$fds" =~ ^[0-9.]+$ ]] && put fdatasync_per_s "$fds"
fi

# --- report ------------------------------------------------------------------------------------
export BENCH_MACHINE PG_VERSION FLOOD_N BATCH POLL_US ACK_STEPS ASK_TRIALS
BENCH_MACHINE="$(bl_machine) · load average (1 min) $LOAD0 at the start, $(cut -d' ' -f1 /proc/loadavg) at the end"
"$PY" - "$R" >"$TMP/section.md" <<'PYEOF'
import json, os, sys
r = json.load(open(sys.argv[1]))
e = os.environ
i, a, k, sp = r["idle"], r["ask"], r["ack"], r["spawn"]
fw, r1, rb = r["flood"], r["rest1"], r[f"rest{e['BATCH']}"]
mib = lambda kb: f"{kb / 1024:.1f} MiB"
n = int(e["FLOOD_N"])
print("## hpo-worker: idle memory, start latency, report path")
print()
print(f"{e['BENCH_MACHINE']} · PostgreSQL {e['PG_VERSION']} (private, fsync on, loopback) · "
      f"hpo-server --threads 4. Generated by `bash tests/bench/worker_bench.sh`.")
print()
print("| measure | result |")
print("|---|---|")
print(f"| idle `hpo-worker --parallel 4` (study with no work: asks answer 204), 2 s after start | "
      f"RSS {mib(i['rss_kb'])}, PSS {mib(i['pss_kb'])} (anon {mib(i['pss_anon_kb'])}), "
      f"{i['threads']} threads, CPU {i['cpu_ms']} ms in {i['idle_s']} s |")
print(f"| hpo-server at that moment, for reference | RSS {mib(i['server_rss_kb'])}, "
      f"PSS {mib(i['server_pss_kb'])}, {i['server_threads']} threads |")
print(f"| ask → command start (trial's datetime_start → first instruction of the command), "
      f"{a['n']} trials | median {a['p50_ms']:.1f} ms, p95 {a['p95_ms']:.1f} ms "
      f"(min {a['min_ms']:.1f}, max {a['max_ms']:.1f}) |")
print(f"| trivial trials through one worker, --parallel 1 (ask → start → exit → finish; the log "
      f"uploads meanwhile), {a['n']} trials | **{a['steady_per_s']:.1f} trials/s** between the first "
      f"and the last command start ({a['trials_per_s']:.1f} /s with the worker's start and exit); "
      f"command start → datetime_complete median {a['run_p50_ms']:.1f} ms (min "
      f"{a['run_min_ms']:.1f}, max {a['run_max_ms']:.1f}) |")
print(f"| the same command started and reaped by a plain loop (posix_spawn + waitpid, no server): "
      f"the floor of one slot on this machine | {sp['per_run_ms']:.2f} ms a run (at most "
      f"{1000.0 / sp['per_run_ms']:.0f} /s); hpo-worker's own time per trial "
      f"{1000.0 / a['steady_per_s'] - sp['per_run_ms']:.2f} ms |")
print(f"| CPU per trivial trial (2 cores) | hpo-server {a['cpu_server_ms']:.2f} ms, PostgreSQL "
      f"{a['cpu_pg_ms']:.2f} ms, hpo-worker with the command {a['cpu_worker_ms']:.2f} ms |")
print(f"| printed `hpo: step=k` line → visible in GET trial, {k['n']} lines | median "
      f"{k['p50_ms']:.2f} ms, p95 {k['p95_ms']:.2f} ms (min {k['min_ms']:.2f}, max {k['max_ms']:.2f}) |")
print(f"| reports/s through one hpo-worker ({int(e['FLOOD_N']):,} lines, command start → trial complete) | "
      f"**{fw['reports_per_s']:.0f}/s** ({fw['seconds']:.1f} s; the command printed them in "
      f"{fw['print_s'] * 1000:.0f} ms) |")
print(f"| reports/s through the REST API, one keep-alive client, 1 report per request | "
      f"**{r1['reports_per_s']:.0f}/s** (request p50 {r1['req_p50_ms']:.2f} ms, p99 {r1['req_p99_ms']:.2f} ms) |")
print(f"| the same, {rb['batch']} reports per request (`{{\"reports\": [...]}}`) | "
      f"**{rb['reports_per_s']:.0f}/s** (request p50 {rb['req_p50_ms']:.2f} ms) |")
if "rest1-async" in r:
    ra, fa = r["rest1-async"], r["flood-async"]
    print(f"| 1 report per request, PostgreSQL synchronous_commit = off (diagnosis only) | "
          f"REST {ra['reports_per_s']:.0f}/s (request p50 {ra['req_p50_ms']:.2f} ms); "
          f"hpo-worker {fa['reports_per_s']:.0f}/s |")
print()
notes = []
fk = r["flood-keep"]
if fw["stdout_nonblock"]:
    notes.append(f"**Bug (hpo-worker):** the command's stdout and stderr come as a non-blocking pipe "
                 f"(worker/hpo-worker/wk_proc.c: `wk_pipe` sets O_NONBLOCK on both ends and "
                 f"`wk_proc_spawn` dup2s the write end onto fds 1 and 2; the flag belongs to the "
                 f"shared open file description). A command that writes faster than the worker "
                 f"reads gets EAGAIN, and stdio (C, Python) drops the buffered output without "
                 f"stopping. In this run the same {n:,}-line flood with stdout left as passed ended "
                 f"`{fk['check']['state']}` with {fk['check']['count']:,} of {n:,} values stored "
                 f"(stdio error seen by the command: {'yes' if fk['stdio_error'] else 'no'}). The "
                 f"README's back-pressure (\"the command blocks rather than a report being lost\") "
                 f"cannot work this way. Fix: O_NONBLOCK on the read end only. The measured runs "
                 f"above clear O_NONBLOCK in the command (`worker_probe`) first.")
notes.append(f"Idle: the worker asks once per free-slot round and waits the server's Retry-After "
             f"({i['retry_after']} s) after a 204; in {i['idle_s']} s idle the server used "
             f"{i['server_cpu_ms']} ms CPU. Memory read from /proc/PID/status (VmRSS; VmHWM "
             f"{mib(i['hwm_kb'])}, VmSize {mib(i['vsz_kb'])}) and /proc/PID/smaps_rollup (Pss).")
notes.append(f"Ask → start: `worker_stamp` reads CLOCK_REALTIME first thing in main and is linked "
             f"against libc only; datetime_start is the server's wall clock when it handled the ask, "
             f"stored in milliseconds (floored, so the figures read up to 1 ms high). It covers the "
             f"rest of the ask on the server (its PostgreSQL commit), the answer, and the worker's "
             f"trial set-up (directories, params file, environment, posix_spawn, exec).")
notes.append(f"Line → stored: `worker_probe ack` writes the line to the pipe and then polls GET "
             f"trial every {e['POLL_US']} µs over keep-alive (one GET takes {k['get_p50_ms']:.2f} ms, "
             f"median {k['polls_p50']} polls per line), so the figure is the worker's pipe read → "
             f"report POST → server → PostgreSQL commit → the next GET, with up to one poll "
             f"interval + one GET of slack.")
us = lambda secs: f"{secs / n * 1e6:.0f} µs"
notes.append(f"Trivial trials: the command exits at once; {a['run_ge50']} of {a['n']} took "
             f"50 ms or more from command start to complete (median {a['run_p50_ms']:.0f} ms). The runner "
             f"(worker/hpo-worker/wk_run.c, `supervise`) sleeps in `poll` on the command's output, "
             f"its wake pipe and the command's pidfd (`pidfd_open`; a SIGCHLD handler writing to "
             f"the wake pipe where pidfds are refused), so it learns of the exit the moment the "
             f"command becomes reapable (it looked every 50 ms once, which capped one slot at about "
             f"1 / (ask + 50 ms + finish) trivial trials/s). A trial's critical path is the ask, "
             f"the command's directory and start, the command itself, the files of "
             f"HPO_ARTIFACT_DIR (none here) and the finish: the first heartbeat comes a period "
             f"after the ask, the log goes up after the finish on a thread of its own "
             f"(worker/hpo-worker/wk_tail.c) while the slot runs its next trial, and an upload "
             f"under 1 MiB does not wait for '100 Continue'. The target of 200 trivial trials/s "
             f"per slot means 5 ms a trial; on this machine starting and reaping the command "
             f"alone takes {sp['per_run_ms']:.2f} ms (the plain loop above).")
where = (f"Where a report's time goes: the worker's sender thread (wk_comm.c) sends what is "
         f"queued as one `POST …/reports` and waits for the answer before the next, so the "
         f"worker's rate follows how many values wait per request: on average {1000.0 / fw['reports_per_s']:.2f} "
         f"ms per report through the worker vs {1000.0 / r1['reports_per_s']:.2f} ms from a "
         f"direct client (its requests: p50 {r1['req_p50_ms']:.2f} ms, p99 {r1['req_p99_ms']:.2f} "
         f"ms, the tail being commits waiting on the disk). Each such request is, on the server (hpo_service.c `report_locked` → "
         f"`tx_reports`), one transaction of 4 PostgreSQL round trips (BEGIN, INSERT into "
         f"trial_intermediate_values, UPDATE trials SET heartbeat_at, COMMIT) and one WAL flush: "
         f"{r1['wal_bytes'] / n:.0f} WAL bytes per report")
if "rest1-async" in r:
    ra = r["rest1-async"]
    where += (f"; with synchronous_commit off the request falls from {r1['req_p50_ms']:.2f} to "
              f"{ra['req_p50_ms']:.2f} ms, so the commit's WAL flush is "
              f"{r1['req_p50_ms'] - ra['req_p50_ms']:.2f} ms of it")
if "fdatasync_per_s" in r:
    where += (f" (this disk: `pg_test_fsync` {r['fdatasync_per_s']:.0f} fdatasync/s, "
              f"{1000.0 / r['fdatasync_per_s']:.2f} ms each)")
where += (f". Batched, {rb['batch']} values per request cost {rb['req_p50_ms']:.2f} ms "
          f"({rb['req_p50_ms'] / rb['batch'] * 1000:.0f} µs per value, "
          f"{rb['wal_bytes'] / n:.0f} WAL bytes per value): one transaction, one INSERT for the "
          f"batch (`hpo_db_reports_insert`) and one flush per request. The worker batches what "
          f"is queued (up to 1,000 per request, worker/hpo-worker/wk_batch.c), cutting a batch "
          f"after every step at which the study's pruner may judge (none here: `pruner` none).")
notes.append(where)
notes.append(f"CPU per report — through hpo-worker: worker {us(fw['worker_cpu_s'])} (max RSS "
             f"{mib(fw['worker_maxrss_kb'])}), server {us(fw['server_cpu_s'])}, PostgreSQL "
             f"{us(fw['pg_cpu_s'])}; REST 1/request: client {us(r1['client_cpu_s'])}, server "
             f"{us(r1['server_cpu_s'])}, PostgreSQL {us(r1['pg_cpu_s'])}; REST {rb['batch']}/request: "
             f"server {us(rb['server_cpu_s'])}, PostgreSQL {us(rb['pg_cpu_s'])} (CPU of the "
             f"processes from /proc, over the whole run). hpo-server RSS after all runs "
             f"{mib(r['server_end']['rss_kb'])} (peak {mib(r['server_end']['hwm_kb'])}).")
for n in notes:
    print(f"- {n}")
PYEOF
bl_write_section worker "$TMP/section.md"
cat "$TMP/section.md"
cp "$R" "${WORKER_BENCH_JSON:-/dev/null}" 2>/dev/null || true

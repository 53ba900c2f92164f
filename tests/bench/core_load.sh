#!/usr/bin/env bash
# core_load.sh: the server core under load: trials/s, ask/report/finish p50/p99 and PostgreSQL commits at 1 to 64 clients, hpo-server vs Optuna 3.1 (RDBStorage), then TPE throughput against the study's size.
#
#   bash tests/bench/core_load.sh
#
# Builds hpo (BENCH_BUILD, default build-bench/) if needed, starts a private PostgreSQL (fsync on:
# `SHOW fsync` is printed and reported) and hpo-server (default --threads) on free loopback ports
# (bench_lib.sh). For each number of clients in CLIENTS (1, 4, 16, 64):
#   hpo: a fresh study (4 float params x0..x3 in [-5, 5], random sampler, median pruner,
#        max_trials = LOAD_TRIALS) driven by tests/bench/bench_client: that many threads, each over
#        one keep-alive connection, doing ask → 5 reports (until the pruner answers `prune`) →
#        finish (`complete`, or `pruned`). trials/s and the p50/p99 of ask, report and finish.
#   Optuna: the same workload in processes (tests/bench/optuna_throughput.py: study.optimize on one
#        RDBStorage study in a second database of the same PostgreSQL; RandomSampler +
#        MedianPruner), with fewer trials (OPTUNA_TRIALS; OPTUNA_TRIALS_16 and OPTUNA_TRIALS_64 at
#        16 and 64 processes): Optuna is an order of magnitude slower.
# Around each run PostgreSQL's counters are read (pg_stat_database xact_commit of the run's
# database, pg_stat_user_tables n_tup_ins + n_tup_upd, pg_stat_wal): commits/s, commits per trial
# and writes (rows inserted + updated) per commit, and WAL syncs. PostgreSQL publishes a backend's
# counters up to 10 s late while it is idle, so the "after" reading is taken once the run's
# connections are closed (hpo-server is stopped and started again between runs; Optuna's
# processes have exited), which flushes them.
# Then the same load with the TPE sampler (`{"type":"tpe"}`, median pruner) at 1 and 16 clients
# (TPE_CLIENTS): trials/s of each slice of TPE_SLICE consecutive finished trials, i.e. against
# the study's size. Prints the targets (≥ 1,000 trials/s and ask p99 ≤ 10 ms at 16 clients) as
# met or MISSED, a markdown table, and writes it as the section `core_load` of
# tests/bench/RESULTS.md. Everything it started is stopped on exit.
#
# Environment: LOAD_TRIALS (hpo trials per run, default 2000; the full size is 10000), CLIENTS
# ("1 4 16 64"), OPTUNA_TRIALS (200, at 1 and 4 processes), OPTUNA_TRIALS_16 (160),
# OPTUNA_TRIALS_64 (128), OPTUNA=0 to skip Optuna, TPE_TRIALS (LOAD_TRIALS), TPE_SLICE (500;
# 1000 at the full size), TPE_CLIENTS ("1 16"), BENCH_BUILD. Run as root on Debian 12.
set -euo pipefail

BL_NAME=core_load
# shellcheck source=tests/bench/bench_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

LOAD_TRIALS=${LOAD_TRIALS:-2000}
CLIENTS=${CLIENTS:-1 4 16 64}
OPTUNA=${OPTUNA:-1}
OPTUNA_TRIALS=${OPTUNA_TRIALS:-200}
OPTUNA_TRIALS_16=${OPTUNA_TRIALS_16:-160}
OPTUNA_TRIALS_64=${OPTUNA_TRIALS_64:-128}
TPE_TRIALS=${TPE_TRIALS:-$LOAD_TRIALS}
TPE_SLICE=${TPE_SLICE:-500}
TPE_CLIENTS=${TPE_CLIENTS:-1 16}

[[ "$OPTUNA" == 1 ]] && bl_need_optuna pg
bl_build server/hpo-server tests/bench/bench_client
CLIENT=$BUILD/tests/bench/bench_client

bl_start_pg
FSYNC=$(psql "$PG_CONN" -qAtX -c 'SHOW fsync')
SYNC_COMMIT=$(psql "$PG_CONN" -qAtX -c 'SHOW synchronous_commit')
bl_log "PostgreSQL fsync = $FSYNC, synchronous_commit = $SYNC_COMMIT"
LOAD_START=$(bl_loadavg)
bl_log "size: $LOAD_TRIALS hpo trials per run (LOAD_TRIALS; the full size is 10000), clients: $CLIENTS"
bl_start_server

create_study() { # NAME MAX_TRIALS SAMPLER
    local body code
    body=$(printf '{"name":"%s","direction":"minimize","sampler":{"type":"%s"},"pruner":{"type":"median"},"max_trials":%d,"search_space":{"x0":{"type":"float","low":-5,"high":5},"x1":{"type":"float","low":-5,"high":5},"x2":{"type":"float","low":-5,"high":5},"x3":{"type":"float","low":-5,"high":5}}}' "$1" "$3" "$2")
    code=$(curl -sS "${CURL_AUTH[@]}" -o "$TMP/create.json" -w '%{http_code}' -X POST "$URL/api/v1/studies" \
        -H 'Content-Type: application/json' -d "$body")
    [[ "$code" == 201 ]] || { cat "$TMP/create.json" >&2; bl_die "creating study $1 answered $code"; }
}

# PostgreSQL's counters for database $1 as one JSON object.
pg_snap() {
    psql "${PG_CONN/dbname=postgres/dbname=$1}" -qAtX -c "
        SELECT json_build_object(
          'commits', d.xact_commit, 'rollbacks', d.xact_rollback,
          'ins', (SELECT coalesce(sum(n_tup_ins), 0) FROM pg_stat_user_tables),
          'upd', (SELECT coalesce(sum(n_tup_upd), 0) FROM pg_stat_user_tables),
          'wal', (SELECT to_json(w) FROM pg_stat_wal w))
        FROM pg_stat_database d WHERE d.datname = current_database()"
}
# Waits (up to 10 s) until no other connection to database $1 is open, so its backends have
# published their counters.
wait_closed() {
    local n
    for _ in $(seq 100); do
        n=$(psql "$PG_CONN" -qAtX -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$1' AND pid <> pg_backend_pid()")
        [[ "$n" == 0 ]] && return 0
        sleep 0.1
    done
    bl_log "warning: $n connection(s) to $1 still open; its counters may be incomplete"
}

RESULTS=$TMP/results.jsonl
: >"$RESULTS"
record() { # KIND CLIENT_JSON BEFORE AFTER
    echo "$2" >&2
    echo "{\"kind\":\"$1\",\"r\":$2,\"before\":$3,\"after\":$4}" >>"$RESULTS"
}

# A warm-up (not reported): the server's connections and the first study's code paths.
create_study warmup 40 random
"$CLIENT" --server "$URL" --study warmup --workers 4 --trials 40 >/dev/null

RUN=0
run_hpo() { # KIND CLIENTS TRIALS SAMPLER [bench_client args...]
    RUN=$((RUN + 1))
    local kind=$1 c=$2 n=$3 sampler=$4 name="$1-c$2-r$RUN" before after
    shift 4
    create_study "$name" "$n" "$sampler"
    before=$(pg_snap hpo)
    bl_log "hpo $kind: $c clients, $n trials"
    bl_child "$TMP/child.out" "$CLIENT" --server "$URL" --study "$name" --workers "$c" --trials "$n" \
        --reports 5 "$@" || { tail -n 20 "$TMP/server.log" >&2; bl_die "bench_client failed ($c clients)"; }
    bl_stop_server
    wait_closed hpo
    after=$(pg_snap hpo)
    record "$kind" "$(cat "$TMP/child.out")" "$before" "$after"
    bl_start_server
}

run_optuna() { # CLIENTS TRIALS
    local before after
    before=$(pg_snap optuna)
    bl_log "Optuna: $1 processes, $2 trials"
    bl_child "$TMP/child.out" "$PY" "$BENCH/optuna_throughput.py" --storage "$OPTUNA_URL" \
        --study "optuna-c$1-$RANDOM" --workers "$1" --trials "$2" --sampler random \
        || bl_die "optuna_throughput failed ($1 processes)"
    wait_closed optuna
    after=$(pg_snap optuna)
    record optuna "$(cat "$TMP/child.out")" "$before" "$after"
}

for c in $CLIENTS; do
    run_hpo hpo "$c" "$LOAD_TRIALS" random
    if [[ "$OPTUNA" == 1 ]]; then
        n=$OPTUNA_TRIALS
        ((c >= 16)) && n=$OPTUNA_TRIALS_16
        ((c >= 64)) && n=$OPTUNA_TRIALS_64
        run_optuna "$c" "$n"
    fi
done
for c in $TPE_CLIENTS; do
    run_hpo tpe "$c" "$TPE_TRIALS" tpe --slice "$TPE_SLICE"
done

# --- report ------------------------------------------------------------------------------------
BENCH_MACHINE="$(bl_machine) · load average (1 min) $LOAD_START at the start, $(bl_loadavg) at the end"
export BENCH_MACHINE FSYNC SYNC_COMMIT LOAD_TRIALS TPE_TRIALS TPE_SLICE OPTUNA_VERSION
"$PY" - "$RESULTS" >"$TMP/section.md" <<'PYEOF'
import json, os, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
e = os.environ

def delta(r):
    b, a = r["before"], r["after"]
    d = {k: a[k] - b[k] for k in ("commits", "rollbacks", "ins", "upd")}
    bw, aw = b.get("wal") or {}, a.get("wal") or {}
    for k in ("wal_records", "wal_write", "wal_sync"):
        d[k] = aw[k] - bw[k] if k in aw and k in bw else None
    return d

def pg_cells(r):
    d, x = delta(r), r["r"]
    secs = x["seconds"] or 1e-9
    c = d["commits"]
    wpc = (d["ins"] + d["upd"]) / c if c else 0.0
    syncs = f"{d['wal_sync'] / secs:.0f}" if d["wal_sync"] is not None else "—"
    return [f"{c / secs:.0f}", f"{c / max(x['trials'], 1):.2f}", f"{wpc:.2f}", syncs]

def lat(x, k):
    return f"{x[k + '_p50_ms']:.2f} / {x[k + '_p99_ms']:.2f}"

hpo = {r["r"]["workers"]: r for r in rows if r["kind"] == "hpo"}
opt = {r["r"]["workers"]: r for r in rows if r["kind"] == "optuna"}
tpe = {r["r"]["workers"]: r for r in rows if r["kind"] == "tpe"}

print("## Server core under load: hpo vs Optuna")
print()
print(f"{e['BENCH_MACHINE']} · PostgreSQL {e['PG_VERSION']} (private, loopback, `fsync` = "
      f"{e['FSYNC']}, `synchronous_commit` = {e['SYNC_COMMIT']}) · hpo-server, default --threads"
      + (f" · Optuna {e['OPTUNA_VERSION']}" if opt else "") + ". Generated by `bash tests/bench/core_load.sh`.")
print()
print(f"Each row: a fresh study, 4 float params in [-5, 5], 5 reports per trial, median pruner "
      f"(a trial answered `prune` is finished `pruned`), random sampler. hpo: {e['LOAD_TRIALS']} "
      f"trials per run (`bench_client`: one thread and keep-alive connection per client: ask → "
      f"reports → finish). Optuna: RDBStorage on the same PostgreSQL, one process per client, "
      f"RandomSampler + MedianPruner, fewer trials (the Optuna trials column). PostgreSQL columns: "
      f"commits of the run's database per second and per finished trial, writes (rows inserted + "
      f"updated, pg_stat_user_tables) per commit, WAL syncs per second (pg_stat_wal, whole cluster).")
print()
print("| clients | hpo trials/s | ask p50 / p99 ms | report p50 / p99 ms | finish p50 / p99 ms | "
      "hpo commits/s | commits/trial | writes/commit | WAL syncs/s | Optuna trials | Optuna trials/s | "
      "Optuna commits/s | commits/trial | writes/commit | hpo/Optuna |")
print("|" + "---|" * 15)
for c in sorted(hpo):
    h = hpo[c]["r"]
    cells = [str(c), f"{h['trials_per_s']:.1f}", lat(h, "ask"), lat(h, "report"), lat(h, "finish")]
    cells += pg_cells(hpo[c])
    o = opt.get(c)
    if o:
        ox = o["r"]
        oc = pg_cells(o)
        cells += [str(ox["trials"]), f"{ox['trials_per_s']:.1f}", oc[0], oc[1], oc[2],
                  f"{h['trials_per_s'] / ox['trials_per_s']:.1f}×" if ox["trials_per_s"] else "—"]
    else:
        cells += ["—"] * 6
    print("| " + " | ".join(cells) + " |")
print()

if tpe:
    slice_n = int(e["TPE_SLICE"])
    print(f"TPE (`{{\"type\":\"tpe\"}}`, median pruner, otherwise the same load; {e['TPE_TRIALS']} "
          f"trials per run): trials/s of each slice of {slice_n} consecutive finished trials, so "
          f"against the study's size.")
    print()
    nsl = max(len(tpe[c]["r"].get("slices", [])) for c in tpe)
    heads = [f"{k * slice_n:,}–{(k + 1) * slice_n:,}" for k in range(nsl)]
    print("| clients | trials/s overall | ask p50 / p99 ms | " + " | ".join(heads) + " |")
    print("|" + "---|" * (3 + nsl))
    for c in sorted(tpe):
        t = tpe[c]["r"]
        sl = [f"{v:.1f}" for v in t.get("slices", [])]
        sl += ["—"] * (nsl - len(sl))
        print("| " + " | ".join([str(c), f"{t['trials_per_s']:.1f}", lat(t, "ask")] + sl) + " |")
    print()

notes = []
h16 = hpo.get(16)
if h16:
    x = h16["r"]
    notes.append(f"Targets at 16 clients: ≥ 1,000 trials/s — {x['trials_per_s']:.1f} "
                 f"({'met' if x['trials_per_s'] >= 1000 else 'MISSED'}); ask p99 ≤ 10 ms — "
                 f"{x['ask_p99_ms']:.2f} ms ({'met' if x['ask_p99_ms'] <= 10 else 'MISSED'}).")
notes.append("Pruned / finished per run — hpo: " + ", ".join(
    f"{c} clients {hpo[c]['r']['pruned']}/{hpo[c]['r']['trials']}" for c in sorted(hpo))
    + (("; Optuna: " + ", ".join(f"{c} processes {opt[c]['r']['pruned']}/{opt[c]['r']['trials']}"
                                 for c in sorted(opt))) if opt else "") + ".")
if opt:
    notes.append("Optuna runs fewer trials than hpo (it is an order of magnitude slower; 16 and 64 "
                 "processes get OPTUNA_TRIALS_16 / OPTUNA_TRIALS_64, a few trials each); its clock "
                 "starts once every process has imported Optuna and loaded the study. The "
                 "hpo/Optuna ratio compares trials/s.")
notes.append("Commits count every transaction of the run's database, reads included (hpo's token "
             "checks, Optuna's queries); writes/commit above 1 is what group commit is for. "
             "Stats were read after the run's connections closed (PostgreSQL publishes an idle "
             "backend's counters up to 10 s late).")
for n in notes:
    print(f"- {n}")
PYEOF
cat "$TMP/section.md"
bl_write_section core_load "$TMP/section.md"

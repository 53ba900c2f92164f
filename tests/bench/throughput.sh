#!/usr/bin/env bash
# throughput.sh: distributed-throughput benchmark, hpo-server vs Optuna 3.1 (RDBStorage) in one run, both with the median pruner.
#
#   bash tests/bench/throughput.sh
#
# Builds hpo (BENCH_BUILD, default build-bench/) if needed, starts a private PostgreSQL
# (deploy/pg.sh) in a temporary directory on a free port, and hpo-server (--threads 4) on 127.0.0.1
# with a free port (bench_lib.sh). Then, for 1, 4 and 16 workers, runs the same workload through
# hpo (tests/bench/bench_client: threads doing ask, up to 5 reports, finish over HTTP keep-alive;
# random sampler, median pruner with its defaults, a pruned trial is finished `pruned`) and through
# Optuna (tests/bench/optuna_throughput.py: processes running study.optimize on one RDBStorage
# study in a second database of the same PostgreSQL; RandomSampler + MedianPruner defaults).
# Prints a markdown table and writes it as the section `throughput` of tests/bench/RESULTS.md
# (bench_lib.sh's section writer: every other section is kept). Everything it started is stopped
# on exit, whatever happened.
#
# Environment: HPO_TRIALS (default 200), OPTUNA_TRIALS (100), HPO_REPEATS (3) and OPTUNA_REPEATS (1)
# runs per configuration (the median run by trials/s is reported; a 200-trial hpo run lasts about a
# second, so one run is at the mercy of anything else on the machine), OPTUNA16=1 to also run
# Optuna with 16 processes (slow on small machines), OPTUNA_TPE=0 to skip the 1-worker TPE run,
# BENCH_BUILD (the build directory). Must run as root on Debian 12 (or as a user who can run
# deploy/pg.sh).
set -euo pipefail

BL_NAME=throughput
# shellcheck source=tests/bench/bench_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

HPO_TRIALS=${HPO_TRIALS:-200}
OPTUNA_TRIALS=${OPTUNA_TRIALS:-100}
HPO_REPEATS=${HPO_REPEATS:-3}
OPTUNA_REPEATS=${OPTUNA_REPEATS:-1}
OPTUNA16=${OPTUNA16:-0}
OPTUNA_TPE=${OPTUNA_TPE:-1}

log() { bl_log "$@"; }
die() { bl_die "$@"; }

# --- prerequisites and build -------------------------------------------------------------------
bl_need_optuna pg
bl_build server/hpo-server tests/bench/bench_client
CLIENT=$BUILD/tests/bench/bench_client
[[ -x "$CLIENT" ]] || die "no $CLIENT after the build"

# --- PostgreSQL and hpo-server -----------------------------------------------------------------
bl_start_pg
bl_start_server

create_study() { # NAME MAX_TRIALS
    local body code
    body=$(printf '{"name":"%s","direction":"minimize","sampler":{"type":"random"},"pruner":{"type":"median"},"max_trials":%d,"search_space":{"x0":{"type":"float","low":-5,"high":5},"x1":{"type":"float","low":-5,"high":5},"x2":{"type":"float","low":-5,"high":5},"x3":{"type":"float","low":-5,"high":5}}}' "$1" "$2")
    code=$(curl -sS "${CURL_AUTH[@]}" -o "$TMP/create.json" -w '%{http_code}' -X POST "$URL/api/v1/studies" \
        -H 'Content-Type: application/json' -d "$body")
    [[ "$code" == 201 ]] || { cat "$TMP/create.json" >&2; die "creating study $1 answered $code"; }
}

# The study's finished trials as JSON: {"pruned":P,"complete":C,"reports":R}, R the number of
# intermediate values stored over all its trials.
study_counts() { # NAME
    "$PY" - "$URL" "$1" <<'PYEOF'
import json, os, sys, urllib.request
url, name = sys.argv[1:3]
auth = {"Authorization": "Bearer " + os.environ["HPO_TOKEN"]}  # bl_admin_token's
get = lambda u: json.load(urllib.request.urlopen(urllib.request.Request(u, headers=auth)))
s = get(f"{url}/api/v1/studies/{name}")
reports, after = 0, None
while True:
    q = f"{url}/api/v1/studies/{name}/trials?limit=1000" + (f"&after={after}" if after is not None else "")
    page = get(q)
    reports += sum(len(t["intermediate_values"]) for t in page["trials"])
    after = page.get("next_after")
    if after is None or not page["trials"]:
        break
c = s["counts"]
print(json.dumps({"pruned": c.get("pruned", 0), "complete": c.get("complete", 0), "reports": reports}))
PYEOF
}

run_hpo() { # WORKERS REPEAT
    local name=bench-w$1-r$2
    create_study "$name" "$HPO_TRIALS"
    bl_child "$TMP/child.out" "$CLIENT" --server "$URL" --study "$name" --workers "$1" --trials "$HPO_TRIALS" \
        || { tail -n 20 "$TMP/server.log" >&2; die "bench_client failed ($1 workers)"; }
    # bench_client's line plus the study's pruned count and stored reports.
    "$PY" -c 'import json,sys; a=json.loads(sys.argv[1]); a.update(json.loads(sys.argv[2])); print(json.dumps(a))' \
        "$(cat "$TMP/child.out")" "$(study_counts "$name")" >"$TMP/child.json"
}

run_optuna() { # WORKERS SAMPLER REPEAT
    bl_child "$TMP/child.out" "$PY" "$BENCH/optuna_throughput.py" --storage "$OPTUNA_URL" --study "optuna-$2-w$1-r$3" \
        --workers "$1" --trials "$OPTUNA_TRIALS" --sampler "$2" || die "optuna_throughput failed ($1 workers, $2)"
    cp "$TMP/child.out" "$TMP/child.json"
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
        record hpo "$(cat "$TMP/child.json")"
    done
    if [[ $w -ne 16 || "$OPTUNA16" == 1 ]]; then
        for ((i = 1; i <= OPTUNA_REPEATS; i++)); do
            log "Optuna random, $w workers, $OPTUNA_TRIALS trials (run $i/$OPTUNA_REPEATS)"
            run_optuna "$w" random "$i"
            record optuna "$(cat "$TMP/child.json")"
        done
    fi
done
if [[ "$OPTUNA_TPE" == 1 ]]; then
    log "Optuna TPE, 1 worker, $OPTUNA_TRIALS trials"
    run_optuna 1 tpe 1
    record optuna-tpe "$(cat "$TMP/child.json")"
fi

# --- report ------------------------------------------------------------------------------------
export OPTUNA_VERSION HPO_TRIALS OPTUNA_TRIALS HPO_REPEATS OPTUNA_REPEATS BENCH_MACHINE
BENCH_MACHINE=$(bl_machine)
"$PY" - "$RESULTS" >"$TMP/section.md" <<'PYEOF'
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
print("## Distributed throughput: hpo vs Optuna")
print()
print(f"{e['BENCH_MACHINE']} · PostgreSQL {e['PG_VERSION']} (private, fsync on, loopback) · "
      f"Optuna {e['OPTUNA_VERSION']}. Generated by `bash tests/bench/throughput.sh`.")
print()
print(f"Compared: the same workload — 4 float params x0..x3 in [-5, 5], up to 5 intermediate "
      f"reports (value · (1 + 0.1 · steps left)), objective = sum of squares, the median pruner "
      f"with its defaults on both sides (5 startup trials, no warm-up steps) — run by hpo-server "
      f"(--threads 4; random sampler, `\"pruner\": {{\"type\": \"median\"}}`; `bench_client` "
      f"threads doing ask → reports until `prune` or 5 → finish `complete` or `pruned` over HTTP "
      f"keep-alive; {e['HPO_TRIALS']} trials) and by Optuna (processes running `study.optimize` on "
      f"one RDBStorage study in another database of the same PostgreSQL, `should_prune()` after "
      f"each report; {e['OPTUNA_TRIALS']} trials, RandomSampler + MedianPruner defaults). Median "
      f"of {e['HPO_REPEATS']} hpo run(s) and {e['OPTUNA_REPEATS']} Optuna run(s) per row, each on "
      f"a fresh study; pruned = trials finished `pruned` in that run.")
print()
print("| workers | hpo trials/s | hpo pruned | Optuna trials/s | Optuna pruned | ratio (hpo/Optuna) | hpo ask p50/p99 ms |")
print("|---|---|---|---|---|---|---|")
for w in sorted(hpo):
    h = hpo[w]
    o = opt.get(w)
    ot = f"{o['trials_per_s']:.1f}" if o else "— (not run)"
    op = f"{o['pruned']}/{o['trials']}" if o else "—"
    ratio = f"{h['trials_per_s'] / o['trials_per_s']:.1f}×" if o and o["trials_per_s"] else "—"
    print(f"| {w} | {h['trials_per_s']:.1f} | {h['pruned']}/{h['trials']} | {ot} | {op} | {ratio} | "
          f"{h['ask_p50_ms']:.2f} / {h['ask_p99_ms']:.2f} |")
print()
notes = []
notes.append("Both sides prune: hpo's median pruner answers `prune` to a report and the client "
             "finishes the trial `pruned` (its last intermediate value); Optuna raises "
             "`TrialPruned` after `should_prune()`. hpo intermediate values stored per trial "
             "(median run): " + ", ".join(f"{w} workers {hpo[w]['reports'] / max(hpo[w]['trials'], 1):.2f}"
                                          for w in sorted(hpo)) + " of at most 5.")
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
PYEOF

# RESULTS.md from before the section writer began with this benchmark's table unmarked (a
# "# Distributed throughput" heading up to the first marked section): mark it, so that the new
# section replaces it in place instead of being appended after a stale copy.
if [[ -f "$BENCH/RESULTS.md" ]] && ! grep -q '^<!-- begin throughput -->$' "$BENCH/RESULTS.md"; then
    "$PY" - "$BENCH/RESULTS.md" <<'PYEOF'
import os, sys
path = sys.argv[1]
old = open(path).read()
if old.startswith("# Distributed throughput: hpo vs Optuna"):
    cut = old.find("\n<!-- ")
    cut = len(old) if cut < 0 else cut + 1
    new = "<!-- begin throughput -->\n" + old[:cut].rstrip("\n") + "\n<!-- end throughput -->\n\n" + old[cut:]
    open(path + ".tmp", "w").write(new)
    os.replace(path + ".tmp", path)
PYEOF
fi
bl_write_section throughput "$TMP/section.md"
cat "$TMP/section.md"

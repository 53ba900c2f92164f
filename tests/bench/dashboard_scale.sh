#!/usr/bin/env bash
# dashboard_scale.sh: the dashboard of a study of 100,000 trials × 20 intermediate values: the server's time for the study page's data, the incremental update and its push, bytes sent, and the page in headless Chromium; Optuna 3.1's get_all_trials on the same trials as the anchor.
#
#   bash tests/bench/dashboard_scale.sh
#
# Builds hpo (BENCH_BUILD, default build-bench/) if needed, starts a private PostgreSQL and
# hpo-server (default --threads) on free loopback ports (bench_lib.sh). Through the API: the study
# `dash` (4 float params x0..x3 in [-5, 5], TPE sampler, median pruner) with one complete trial;
# then, the server stopped, bl_fill writes DASH_TRIALS − 1 more complete trials with DASH_IVS
# intermediate values each in PostgreSQL. The same trials are copied into Optuna's schema (the
# study `dash` made by optuna_all_trials.py, rows copied with psql \copy), so both sides read the
# same numbers.
# Measured, the server started again:
#   - GET .../columns (the study's plot data: every trial, params, values, times and
#     intermediate values): the first answer after the start (it loads the study from
#     PostgreSQL), then p50/max of DASH_GETS more, and bytes; the same with the curves of the last
#     500 trials only (?intermediate=500, what the study page loads); GET .../importance (fanova,
#     ped_anova) once each, and p50 of .../edf;
#   - the incremental update and its push (dashboard_updates.py, DASH_UPDATES rounds): one report,
#     then GET .../columns?since=<version>; and a waiting long poll answered by a report;
#   - the page (dashboard_page.mjs: node, puppeteer-core and Debian's chromium, as the browser
#     test installs them; DASH_BROWSER=0 leaves it out): first plot and every plot drawn from the
#     navigation's start, a new trial on the live page, a click that redraws, the longest task;
#   - the anchor: Optuna's storage.get_all_trials(study_id) on RDBStorage, the same PostgreSQL
#     (optuna-dashboard reads a study this way on each poll; it is not packaged in Debian or npm,
#     so Optuna's own read stands for it), first and median of OPTUNA_REPEAT.
# Targets printed met/MISSED: study page data ≤ 1 s, incremental update ≤ 10 ms, a change on the
# live page ≤ 1 s. Prints a markdown table and writes it as the section `dashboard_scale` of
# tests/bench/RESULTS.md. Everything it started is stopped on exit.
#
# Environment: DASH_TRIALS (100000), DASH_IVS (20), DASH_GETS (5), DASH_UPDATES (50),
# OPTUNA_REPEAT (1), DASH_BROWSER (1), HPO_CHROMIUM (/usr/bin/chromium), BENCH_BUILD. Run as root
# on Debian 12.
set -euo pipefail

BL_NAME=dashboard_scale
# shellcheck source=tests/bench/bench_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

DASH_TRIALS=${DASH_TRIALS:-100000}
DASH_IVS=${DASH_IVS:-20}
DASH_GETS=${DASH_GETS:-5}
DASH_UPDATES=${DASH_UPDATES:-50}
OPTUNA_REPEAT=${OPTUNA_REPEAT:-1}
DASH_BROWSER=${DASH_BROWSER:-1}
HPO_CHROMIUM=${HPO_CHROMIUM:-/usr/bin/chromium}
export HPO_MAX_TRIALS_PER_STUDY=$((DASH_TRIALS + DASH_UPDATES + 1000 > 100000 ? DASH_TRIALS + DASH_UPDATES + 1000 : 100000))

if [[ "$DASH_BROWSER" == 1 ]]; then
    [[ -x "$HPO_CHROMIUM" ]] || bl_die "no chromium at $HPO_CHROMIUM (bash deploy/install-deps.sh --tests), or DASH_BROWSER=0"
    [[ -d "$ROOT/tests/e2e/browser/node_modules/puppeteer-core" ]] \
        || bl_die "no puppeteer-core in tests/e2e/browser (npm ci there, as deploy/install-deps.sh --tests does), or DASH_BROWSER=0"
fi
bl_need_optuna pg
bl_build server/hpo-server tests/bench/bench_probe
PROBE=$BUILD/tests/bench/bench_probe
LOAD_START=$(bl_loadavg)
bl_log "size: $DASH_TRIALS trials x $DASH_IVS intermediate values"

bl_start_pg
OPTUNA_DB=${HPO_DB/dbname=hpo/dbname=optuna}
bl_start_server
SPACE='"search_space":{"x0":{"type":"float","low":-5,"high":5},"x1":{"type":"float","low":-5,"high":5},"x2":{"type":"float","low":-5,"high":5},"x3":{"type":"float","low":-5,"high":5}}'
code=$(curl -sS "${CURL_AUTH[@]}" -o "$TMP/create.json" -w '%{http_code}' -X POST "$URL/api/v1/studies" \
    -H 'Content-Type: application/json' \
    -d "{\"name\":\"dash\",\"direction\":\"minimize\",\"sampler\":{\"type\":\"tpe\"},\"pruner\":{\"type\":\"median\"},$SPACE}")
[[ "$code" == 201 ]] || { cat "$TMP/create.json" >&2; bl_die "creating study dash answered $code"; }
"$PROBE" asks --server "$URL" --study dash --count 1 --reports 1 --finish complete >/dev/null \
    || bl_die "the template trial failed"
bl_stop_server

bl_log "filling dash with $((DASH_TRIALS - 1)) more trials in PostgreSQL"
bl_fill dash dash $((DASH_TRIALS - 1)) "$DASH_IVS"

bl_log "copying the trials into Optuna's schema"
"$PY" "$BENCH/optuna_all_trials.py" make "$OPTUNA_URL" dash || bl_die "creating the Optuna study failed"
psql "$OPTUNA_DB" -qX -v ON_ERROR_STOP=1 >&2 <<'SQL'
CREATE UNLOGGED TABLE bench_t (number int, value float8);
CREATE UNLOGGED TABLE bench_p (number int, name text, value float8);
CREATE UNLOGGED TABLE bench_i (number int, step int, value float8);
SQL
copy() { # copy TABLE SELECT: hpo's rows of the study dash, trials after the template, to Optuna's
    psql "$HPO_DB" -qX -v ON_ERROR_STOP=1 -c "\\copy ($2) TO STDOUT" \
        | psql "$OPTUNA_DB" -qX -v ON_ERROR_STOP=1 -c "\\copy $1 FROM STDIN" >&2
}
FROM="FROM trials t JOIN studies s ON s.id = t.study_id"
WHERE="WHERE s.name = 'dash' AND t.number >= 1"
copy bench_t "SELECT t.number, v.value $FROM JOIN trial_values v ON v.trial_id = t.id $WHERE"
copy bench_p "SELECT t.number, p.name, p.value $FROM JOIN trial_params p ON p.trial_id = t.id $WHERE"
copy bench_i "SELECT t.number, i.step, i.value $FROM JOIN trial_intermediate_values i ON i.trial_id = t.id $WHERE"
psql "$OPTUNA_DB" -qX -v ON_ERROR_STOP=1 >&2 <<'SQL'
BEGIN;
CREATE TEMP TABLE sid AS SELECT study_id FROM studies WHERE study_name = 'dash';
CREATE TEMP TABLE tpl AS
  SELECT p.param_name, p.distribution_json FROM trial_params p JOIN trials t USING (trial_id)
  WHERE t.study_id = (SELECT study_id FROM sid) AND t.number = 0;
INSERT INTO trials (number, study_id, state, datetime_start, datetime_complete)
  SELECT b.number, (SELECT study_id FROM sid), 'COMPLETE', now(), now() FROM bench_t b ORDER BY b.number;
CREATE TEMP TABLE ids AS
  SELECT trial_id, number FROM trials WHERE study_id = (SELECT study_id FROM sid) AND number >= 1;
INSERT INTO trial_values (trial_id, objective, value, value_type)
  SELECT ids.trial_id, 0, b.value, 'FINITE' FROM bench_t b JOIN ids USING (number);
INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json)
  SELECT ids.trial_id, b.name, b.value, tpl.distribution_json
  FROM bench_p b JOIN ids USING (number) JOIN tpl ON tpl.param_name = b.name;
INSERT INTO trial_intermediate_values (trial_id, step, intermediate_value, intermediate_value_type)
  SELECT ids.trial_id, b.step, b.value, 'FINITE' FROM bench_i b JOIN ids USING (number);
DROP TABLE bench_t, bench_p, bench_i;
COMMIT;
SQL
psql "$HPO_DB" -qX -c 'VACUUM ANALYZE' >&2
psql "$OPTUNA_DB" -qX -c 'VACUUM ANALYZE' >&2

bl_start_server
bl_token "$TMP/read.token" read --name dashboard
COLS=/api/v1/studies/dash/columns
bl_log "timing GET $COLS"
curl -sS "${CURL_AUTH[@]}" -o "$TMP/columns.json" -w '%{http_code} %{time_total} %{size_download}\n' \
    "$URL$COLS" >"$TMP/first.txt"
read -r code FIRST_S FIRST_BYTES <"$TMP/first.txt"
[[ "$code" == 200 ]] || bl_die "GET $COLS answered $code"
"$PY" - "$TMP/columns.json" "$DASH_TRIALS" "$DASH_IVS" <<'PYEOF' || bl_die "the columns do not hold the study"
import json, sys
r = json.load(open(sys.argv[1]))
n, ivs = int(sys.argv[2]), int(sys.argv[3])
t = r["trials"]
assert r["full"] and len(t["number"]) == n, (len(t["number"]), n)
assert sum(len(i["values"]) for i in t["intermediate"]) == (n - 1) * ivs + 1
assert all(len(t["params"][f"x{k}"]) == n for k in range(4))
PYEOF
"$PROBE" get --server "$URL" --path "$COLS" --count "$DASH_GETS" --warmup 1 >"$TMP/cols.json" \
    || bl_die "GET columns failed"
"$PROBE" get --server "$URL" --path "$COLS?intermediate=500" --count "$DASH_GETS" --warmup 1 \
    >"$TMP/cols_page.json" || bl_die "GET columns?intermediate=500 failed"
"$PROBE" get --server "$URL" --path /api/v1/studies/dash/edf --count "$DASH_GETS" --warmup 1 \
    >"$TMP/edf.json" || bl_die "GET edf failed"
for ev in fanova ped_anova; do
    curl -sS "${CURL_AUTH[@]}" -o "$TMP/imp-$ev.json" -w '%{http_code} %{time_total}\n' \
        "$URL/api/v1/studies/dash/importance?evaluator=$ev" >"$TMP/imp-$ev.txt"
    read -r code _ <"$TMP/imp-$ev.txt"
    [[ "$code" == 200 ]] || { cat "$TMP/imp-$ev.json" >&2; bl_die "GET importance ($ev) answered $code"; }
done
cat "$TMP/cols.json" "$TMP/cols_page.json" "$TMP/edf.json" "$TMP/imp-fanova.txt" "$TMP/imp-ped_anova.txt" >&2

bl_log "timing $DASH_UPDATES incremental updates and pushes"
"$PY" "$BENCH/dashboard_updates.py" "$URL" dash "$DASH_UPDATES" >"$TMP/updates.json" \
    || bl_die "dashboard_updates.py failed"
cat "$TMP/updates.json" >&2

if [[ "$DASH_BROWSER" == 1 ]]; then
    bl_log "the study page in headless Chromium"
    HPO_URL=$URL HPO_STUDY=dash HPO_READ_TOKEN=$(head -n1 "$TMP/read.token") HPO_ADMIN_TOKEN=$HPO_TOKEN \
        HPO_CHROMIUM=$HPO_CHROMIUM node "$BENCH/dashboard_page.mjs" >"$TMP/page.json" \
        || bl_die "dashboard_page.mjs failed"
    cat "$TMP/page.json" >&2
else
    echo null >"$TMP/page.json"
fi
RSS_MB=$(awk '/^VmRSS:/ {printf "%.0f", $2 / 1024}' "/proc/$SERVER_PID/status")
bl_stop_server

bl_log "Optuna: get_all_trials x $OPTUNA_REPEAT"
"$PY" "$BENCH/optuna_all_trials.py" time "$OPTUNA_URL" dash "$OPTUNA_REPEAT" >"$TMP/optuna.json" \
    || bl_die "optuna_all_trials.py failed"
cat "$TMP/optuna.json" >&2

# --- report ------------------------------------------------------------------------------------
BENCH_MACHINE="$(bl_machine) · load average (1 min) $LOAD_START at the start, $(bl_loadavg) at the end"
export BENCH_MACHINE DASH_TRIALS DASH_IVS DASH_GETS FIRST_S FIRST_BYTES RSS_MB
"$PY" - "$TMP"/{cols,cols_page,edf,updates,page,optuna}.json "$TMP"/imp-{fanova,ped_anova}.txt \
    >"$TMP/section.md" <<'PYEOF'
import json, os, sys
cols, pagecols, edf, upd, page, opt = (json.load(open(p)) for p in sys.argv[1:7])
imp = {ev: float(open(p).read().split()[1]) for ev, p in zip(("fanova", "ped_anova"), sys.argv[7:9])}
e = os.environ
n, ivs = int(e["DASH_TRIALS"]), int(e["DASH_IVS"])
verdict = lambda v, target: "met" if v <= target else "MISSED"
mb = lambda b: f"{b / 1e6:.1f} MB"
print("## Dashboard at scale: the study page of 100,000 trials")
print()
print(f"{e['BENCH_MACHINE']} · PostgreSQL {e['PG_VERSION']} (private, loopback) · hpo-server "
      f"default --threads · Optuna {opt['optuna']}. Generated by `bash tests/bench/dashboard_scale.sh`.")
print()
print(f"Study `dash`: {n:,} complete trials × {ivs} intermediate values, 4 float params (filled in "
      f"PostgreSQL, the same rows copied into Optuna's schema). Times are a client's on loopback "
      f"(request sent → last byte read), so they hold the server's work and the transfer.")
print()
print("| measure | hpo | Optuna 3.1 (anchor) | ratio | target |")
print("|---|---|---|---|---|")
ratio = opt["median_s"] / (cols["p50_ms"] / 1000)
print(f"| study page data: every trial with intermediate values, p50 of {e['DASH_GETS']} "
      f"(`GET …/columns`; Optuna: `get_all_trials`, median of {opt['repeat']}) | "
      f"{cols['p50_ms']:.0f} ms (max {cols['max_ms']:.0f}) | {opt['median_s']:.2f} s | "
      f"{ratio:.0f}× faster | ≤ 1 s: {verdict(cols['p50_ms'], 1000)} |")
print(f"| first read after the start (hpo loads the study from PostgreSQL; Optuna: first call) | "
      f"{float(e['FIRST_S']):.2f} s | {opt['first_s']:.2f} s | "
      f"{opt['first_s'] / float(e['FIRST_S']):.0f}× faster | — |")
print(f"| bytes of the study page data | {mb(cols['bytes'])} | — | — | — |")
print(f"| what the page loads: every trial, the curves of the last 500 (`?intermediate=500`), p50 | "
      f"{pagecols['p50_ms']:.0f} ms, {mb(pagecols['bytes'])} | — | — | — |")
print(f"| incremental update after one report (`?since=`), p50 / p99 of {upd['count']} | "
      f"{upd['inc_p50_ms']:.2f} / {upd['inc_p99_ms']:.2f} ms, {upd['inc_bytes']:,} bytes | "
      f"(rereads the study: {opt['median_s']:.2f} s) | — | ≤ 10 ms: {verdict(upd['inc_p50_ms'], 10)} |")
print(f"| report → answer of a waiting long poll, p50 / max | {upd['push_p50_ms']:.2f} / "
      f"{upd['push_max_ms']:.2f} ms | (polls every 2–10 s) | — | — |")
print(f"| `GET …/edf`, p50 | {edf['p50_ms']:.0f} ms | — | — | — |")
print(f"| `GET …/importance`: fANOVA / PED-ANOVA, once | {imp['fanova']:.2f} / {imp['ped_anova']:.2f} s "
      f"| — | — | — |")
if page:
    print(f"| browser: navigation → first plot drawn | {page['first_plot_s']:.1f} s | — | — | — |")
    print(f"| browser: reload (cache warm) → first plot drawn | {page['reload_first_plot_s']:.1f} s | — | — | — |")
    print(f"| browser: navigation → all {page['plots']} plots drawn (each scrolled into view) | "
          f"{page['all_plots_s']:.1f} s | — | — | — |")
    print(f"| browser: a new trial shows on the live page | {page['live_s']:.2f} s | — | — | "
          f"≤ 1 s: {verdict(page['live_s'], 1)} |")
    print(f"| browser: click (log scale) → history redrawn | {page['click_s']:.2f} s | — | — | — |")
    print(f"| browser: longest main-thread task; JS heap | {page['longest_task_ms']:.0f} ms; "
          f"{page['heap_mb']:.0f} MB | — | — | — |")
print(f"| hpo-server RSS at the end | {e['RSS_MB']} MB | — | — | — |")
print()
print(f"- The anchor: optuna-dashboard reads a study with `get_all_trials` on every poll of its study "
      f"page (every 2–10 s) and then serialises every trial; it is not packaged in Debian or npm, so "
      f"Optuna's read alone stands for it here (a lower bound of its time). Optuna read "
      f"{opt['trials']:,} trials, {opt['params']:,} params, {opt['intermediate']:,} intermediate values.")
print("- hpo answers from the study's committed snapshot in memory; the incremental answer carries "
      "only the trials changed since the version the page holds, and a waiting long poll is answered "
      "on the commit.")
if page:
    print(f"- Browser: headless Chromium, a fresh profile (Plotly's script fetched too), software "
          f"rendering; the history plot draws {page['history_points']:,} of the points (the best and an even spread); "
          f"{len(page['errors'])} console errors.")
PYEOF
cat "$TMP/section.md"
bl_write_section dashboard_scale "$TMP/section.md"

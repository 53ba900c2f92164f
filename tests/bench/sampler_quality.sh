#!/usr/bin/env bash
# sampler_quality.sh: hpo's samplers vs Optuna 3.1's in one run (issue 15 item 7): ten problems, 30 seeds x 100 trials, sequential and with 8 parallel workers, Mann-Whitney tests, duplicates, and the sampling cost per ask.
#
#   bash tests/bench/sampler_quality.sh
#   SEEDS=3 TRIALS=20 PROBLEMS=branin,zdt1,binhkorn HPO_SAMPLERS=tpe,random NO_RESULTS=1 bash tests/bench/sampler_quality.sh
#
# Problems (bench_problems.h / bench_problems.py, checked equal first with `bench_problems.py check`):
# Branin, Hartmann6, Rosenbrock-5D, Styblinski-Tang-8D, Ackley-5D, Levy-10D, the mixed HPO-like
# space, the seed's digits experiment (seed_objective.py), and with two objectives ZDT1 (6 variables,
# reference (1.1, 11)) and Binh-Korn with its two constraints (reference (140, 50)), those scored by
# the hypervolume of their complete feasible trials.
# hpo: a private PostgreSQL (deploy/pg.sh) and hpo-server (auth on, its defaults) on free loopback
# ports; for each problem, sampler type X of HPO_SAMPLERS and seed s, a study with sampler
# {"type": X, "seed": s} and max_trials TRIALS, run to the end by tests/bench/bench_tpe_http optimize
# with 1 client (sequential) and with WORKERS client threads sleeping EVAL_MS per evaluation; the
# digits problem through hpo_client (optuna_sampler_quality.py --hpo). A type the server refuses
# for a problem (unknown, or not for several objectives) is skipped and the table says so.
# Optuna (tests/bench/optuna_sampler_quality.py): in-memory studies, study.optimize with n_jobs 1
# and WORKERS (the same EVAL_MS sleep), TPE (the default), multivariate TPE, random and QMC for one
# objective, NSGA-II (the default), MOTPE and random for two; runs spread over OPTUNA_PROCS processes.
# Cost: tests/bench/bench_sampler_cost (hpo_sampling_fill in-process for each type of
# HPO_COST_SAMPLERS; a type the build refuses is reported as such) and optuna_tpe_cost.py (ask +
# suggest for Optuna's samplers), at 100 and 1,000 complete trials, 1 and 2 objectives.
# The report (sampler_quality_report.py): median (IQR) per problem, mode and sampler, one-sided
# Mann-Whitney tests of HPO_SAMPLERS' first type against Optuna's default and Optuna's best sampler,
# the targets met/missed, duplicates, the cost table; printed and written as the section
# "sampler_quality" of tests/bench/RESULTS.md.
#
# Environment: SEEDS (30), TRIALS (100), WORKERS (8), EVAL_MS (10), PROBLEMS (branin,hartmann6,
# rosenbrock5,styblinski8,ackley5,levy10,mixed,digits,zdt1,binhkorn; rosenbrock5w also exists),
# HPO_SAMPLERS (auto; the first is "hpo's default" in the tests), OPTUNA_PROCS (nproc, at least 2),
# DIGITS_SEEDS (10: a digits run trains 100 networks for 20 epochs), HPO_DIGITS_SAMPLERS (the
# first of HPO_SAMPLERS: hpo's default; digits is the slow problem), HPO_COST_SAMPLERS
# (tpe,random,grid,qmc,nsga2,cmaes,gp,auto), COST_CALLS (20), OPTUNA_COST_REPS (5),
# NO_RESULTS=1 to leave RESULTS.md alone, RAW_OUT=DIR to keep the JSON lines, BENCH_BUILD
# (build-bench). Run as root on Debian 12 (or as a user who can run deploy/pg.sh).
set -euo pipefail
BL_NAME=sampler_quality
source "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

SEEDS=${SEEDS:-30}
TRIALS=${TRIALS:-100}
WORKERS=${WORKERS:-8}
EVAL_MS=${EVAL_MS:-10}
PROBLEMS=${PROBLEMS:-branin,hartmann6,rosenbrock5,styblinski8,ackley5,levy10,mixed,digits,zdt1,binhkorn}
HPO_SAMPLERS=${HPO_SAMPLERS:-auto}
NPROC=$(nproc)
OPTUNA_PROCS=${OPTUNA_PROCS:-$((NPROC > 2 ? NPROC : 2))}
DIGITS_SEEDS=${DIGITS_SEEDS:-10}
HPO_DIGITS_SAMPLERS=${HPO_DIGITS_SAMPLERS:-${HPO_SAMPLERS%%,*}}
HPO_COST_SAMPLERS=${HPO_COST_SAMPLERS:-tpe,random,grid,qmc,nsga2,cmaes,gp,auto}
COST_CALLS=${COST_CALLS:-20}
OPTUNA_COST_REPS=${OPTUNA_COST_REPS:-5}
NO_RESULTS=${NO_RESULTS:-0}
export SEEDS TRIALS WORKERS EVAL_MS HPO_SAMPLERS OPTUNA_PROCS DIGITS_SEEDS HPO_COST_SAMPLERS \
    COST_CALLS OPTUNA_COST_REPS
BENCH_MACHINE=$(bl_machine) # before OMP_NUM_THREADS, which nproc obeys
LOAD_START=$(bl_loadavg)
T_START=$(date +%s)
# One BLAS thread per process (the digits training): the runs are spread over processes already.
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONDONTWRITEBYTECODE=1

bl_need_optuna
bl_build server/hpo-server tests/bench/bench_tpe_http tests/bench/bench_sampler_cost
HTTP=$BUILD/tests/bench/bench_tpe_http
"$PY" "$BENCH/bench_problems.py" check "$HTTP" || bl_die "bench_problems.h and bench_problems.py differ"
bl_start_pg
bl_start_server

RESULTS=$TMP/runs.jsonl
: >"$RESULTS"
FUNCS=$(tr ',' '\n' <<<"$PROBLEMS" | grep -vx -e digits -e '' | paste -sd, -) || true
declare -A REFUSED=()

# hpo_run PROBLEM SAMPLER SEED MODE: one study through hpo-server, its line into $RESULTS.
hpo_run() {
    local p=$1 x=$2 s=$3 mode=$4 workers=1 eval_ms=0 study="$2-$1-$4-s$3" rc=0
    [[ -z "${REFUSED[$p/$x]:-}" ]] || return 0
    if [[ "$mode" == par ]]; then workers=$WORKERS eval_ms=$EVAL_MS; fi
    "$HTTP" create --server "$URL" --study "$study" --problem "$p" --max-trials "$TRIALS" \
        --sampler "{\"type\":\"$x\",\"seed\":$s}" >"$TMP/create.out" || rc=$?
    if ((rc == 3)); then # the server's error answer on stdout
        REFUSED[$p/$x]=1
        "$PY" -c 'import json, sys
print(json.dumps({"side": "hpo", "problem": sys.argv[1], "sampler": sys.argv[2],
                  "refused": json.load(sys.stdin)["error"]["message"]}))' "$p" "$x" <"$TMP/create.out" >>"$RESULTS"
        bl_log "hpo-server refuses sampler $x on $p: skipped"
        return 0
    fi
    ((rc == 0)) || bl_die "creating $study failed"
    bl_child "$TMP/run.json" "$HTTP" optimize --server "$URL" --study "$study" --problem "$p" \
        --workers "$workers" --eval-ms "$eval_ms" || { tail -n 20 "$TMP/server.log" >&2; bl_die "$study failed"; }
    echo "{\"side\":\"hpo\",\"problem\":\"$p\",\"sampler\":\"$x\",\"seed\":$s,\"mode\":\"$mode\",\"r\":$(cat "$TMP/run.json")}" \
        >>"$RESULTS"
}

t0=$(date +%s)
for p in ${FUNCS//,/ }; do
    bl_log "hpo: $p, samplers $HPO_SAMPLERS, $SEEDS seeds x $TRIALS trials, 1 and $WORKERS clients"
    for ((s = 0; s < SEEDS; s++)); do
        for x in ${HPO_SAMPLERS//,/ }; do
            hpo_run "$p" "$x" "$s" seq
            hpo_run "$p" "$x" "$s" par
        done
    done
done
t1=$(date +%s)
if [[ ",$PROBLEMS," == *,digits,* ]]; then
    bl_log "hpo: digits through hpo_client, samplers $HPO_DIGITS_SAMPLERS, $DIGITS_SEEDS seeds, $OPTUNA_PROCS processes"
    bl_child "$TMP/digits.jsonl" "$PY" "$BENCH/optuna_sampler_quality.py" --hpo "$URL" \
        --samplers "$HPO_DIGITS_SAMPLERS" --problems digits --digits-seeds "$DIGITS_SEEDS" --trials "$TRIALS" \
        --workers "$WORKERS" --procs "$OPTUNA_PROCS" || { tail -n 20 "$TMP/server.log" >&2; bl_die "hpo digits runs failed"; }
    cat "$TMP/digits.jsonl" >>"$RESULTS"
fi
t2=$(date +%s)
bl_log "Optuna: $PROBLEMS, $SEEDS seeds ($DIGITS_SEEDS for digits) x $TRIALS trials, $OPTUNA_PROCS processes"
bl_child "$TMP/optuna.jsonl" "$PY" "$BENCH/optuna_sampler_quality.py" --problems "$PROBLEMS" \
    --seeds "$SEEDS" --digits-seeds "$DIGITS_SEEDS" --trials "$TRIALS" --workers "$WORKERS" \
    --eval-ms "$EVAL_MS" --procs "$OPTUNA_PROCS" || bl_die "Optuna runs failed"
cat "$TMP/optuna.jsonl" >>"$RESULTS"
t3=$(date +%s)
bl_log "cost: hpo $HPO_COST_SAMPLERS and Optuna's samplers at 100 and 1,000 trials"
bl_child "$TMP/cost_hpo.jsonl" "$BUILD/tests/bench/bench_sampler_cost" --samplers "$HPO_COST_SAMPLERS" \
    --sizes 100,1000 --objectives 1,2 --calls "$COST_CALLS" || bl_die "bench_sampler_cost failed"
bl_child "$TMP/cost_optuna.jsonl" "$PY" "$BENCH/optuna_tpe_cost.py" --sizes 100,1000 \
    --samplers tpe,tpe-multi,random,qmc,nsga2 --objectives 1,2 --reps "$OPTUNA_COST_REPS" \
    || bl_die "optuna_tpe_cost.py failed"
t4=$(date +%s)

HPO_S=$((t1 - t0)) HPO_DIGITS_S=$((t2 - t1)) OPTUNA_S=$((t3 - t2)) COST_S=$((t4 - t3))
TOTAL_S=$((t4 - T_START)) LOAD_END=$(bl_loadavg)
export HPO_S HPO_DIGITS_S OPTUNA_S COST_S TOTAL_S LOAD_START LOAD_END BENCH_MACHINE
if [[ -n "${RAW_OUT:-}" ]]; then
    mkdir -p "$RAW_OUT"
    cp "$RESULTS" "$TMP/cost_hpo.jsonl" "$TMP/cost_optuna.jsonl" "$RAW_OUT/"
    bl_log "raw JSON lines in $RAW_OUT"
fi
PYTHONPATH=$BENCH "$PY" "$BENCH/sampler_quality_report.py" "$RESULTS" "$TMP/cost_hpo.jsonl" \
    "$TMP/cost_optuna.jsonl" >"$TMP/section.md" || bl_die "the report failed"
cat "$TMP/section.md"
if [[ "$NO_RESULTS" == 1 ]]; then
    bl_log "NO_RESULTS=1: RESULTS.md left as it was"
else
    bl_write_section sampler_quality "$TMP/section.md"
fi

#!/usr/bin/env bash
# tests/chaos.sh: the full chaos run (tests/e2e/test_chaos.py): a study of 200 trials run by 4
# real hpo-workers while the harness kills workers 12 times, preempts them (SIGTERM with
# --requeue-on-exit) 3 times, kills and restarts hpo-server 3 times and restarts PostgreSQL twice,
# then checks that nothing acknowledged was lost (see the test's header). The fault schedule comes
# from a seed: printed, and given again as CHAOS_SEED=N it replays the run.
#
#   bash tests/chaos.sh [RUNS]      RUNS runs (default 1), each with its own seed
#
# Builds into build-chaos/ (BUILD to choose) if needed. Root on Debian 12 (PostgreSQL runs as the
# postgres user). Any CHAOS_* variable of the test overrides the full run's.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
BUILD=${BUILD:-$ROOT/build-chaos}
RUNS=${1:-1}
[[ -f "$BUILD/build.ninja" ]] || meson setup "$BUILD" "$ROOT" >&2
ninja -C "$BUILD" server/hpo-server worker/hpo-worker >&2
export HPO_SERVER_BIN=$BUILD/server/hpo-server HPO_WORKER_BIN=$BUILD/worker/hpo-worker
export CHAOS_TRIALS=${CHAOS_TRIALS:-200} CHAOS_WORKER_KILLS=${CHAOS_WORKER_KILLS:-12}
export CHAOS_PREEMPTS=${CHAOS_PREEMPTS:-3} CHAOS_SERVER_KILLS=${CHAOS_SERVER_KILLS:-3}
export CHAOS_PG_RESTARTS=${CHAOS_PG_RESTARTS:-2} CHAOS_KEEP=${CHAOS_KEEP:-1}
failed=0
for ((i = 1; i <= RUNS; i++)); do
    echo "chaos.sh: run $i of $RUNS" >&2
    /usr/bin/python3 "$ROOT/tests/e2e/test_chaos.py" || failed=$((failed + 1))
    unset CHAOS_SEED # the next run draws its own (a seed given applies to the first run)
done
echo "chaos.sh: $((RUNS - failed)) of $RUNS runs passed" >&2
((failed == 0))

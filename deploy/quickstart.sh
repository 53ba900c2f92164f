#!/usr/bin/env bash
# quickstart.sh: hpo in one command: builds hpo-server and hpo-worker, starts a private PostgreSQL
# and the server, and runs the seed article's PyTorch experiment (digits, TPE, median pruner) with
# hpo-worker processes running worker/examples/seed_pytorch/train.py. Stopped at the end unless --keep.
# Auth is on: an admin token (this script's API calls), a worker token (the workers, study "seed"
# only) and a read token (the dashboard, study "seed" only) are made with `hpo-server token
# create` into 0600 files in the run directory. The dashboard's URL (with the read token) is
# printed once the study exists; at the end, run from a terminal, the script waits for Enter
# before stopping so the dashboard can be looked at (not when standard input is not a terminal).
#   bash deploy/quickstart.sh [--keep] [--port PORT] [--trials N] [--epochs N] [--workers N]
#   (defaults: port 8080 or the next free one, 40 trials, 20 epochs, 2 workers)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)

keep=0
port=8080
trials=40
epochs=20
workers=2
while [[ $# -gt 0 ]]; do
    case "$1" in
    --keep) keep=1 ;;
    --port) port=${2:?--port needs a value}; shift ;;
    --trials) trials=${2:?--trials needs a value}; shift ;;
    --epochs) epochs=${2:?--epochs needs a value}; shift ;;
    --workers) workers=${2:?--workers needs a value}; shift ;;
    -h | --help)
        sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
        exit 0 ;;
    *) echo "quickstart.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
for v in port trials epochs workers; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "quickstart.sh: --$v must be a positive integer" >&2; exit 2; }
done

t_start=$(date +%s.%N)
if [[ -t 1 ]]; then
    say() { printf '\033[1m== %s\033[0m\n' "$*"; }
else
    say() { printf '== %s\n' "$*"; }
fi
die() { echo "quickstart.sh: $*" >&2; exit 1; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

say "dependencies"
bash deploy/install-deps.sh jq
py=/usr/bin/python3
[[ -x $py ]] || py=$(command -v python3) || die "no python3"
"$py" -c 'import torch, sklearn.datasets' 2>/dev/null \
    || die "$py cannot import torch and sklearn (apt-get install python3-torch python3-sklearn)"

say "build (build-quick)"
quiet() { # runs a command, showing its output only when it fails
    local out
    out=$("$@" 2>&1) || { printf '%s\n' "$out" >&2; die "failed: $*"; }
}
if [[ -f build-quick/meson-private/coredata.dat ]]; then
    quiet meson setup --reconfigure build-quick -Dtests=false -Dwerror=false
else
    rm -rf build-quick
    quiet meson setup build-quick -Dtests=false -Dwerror=false
fi
quiet ninja -C build-quick server/hpo-server worker/hpo-worker
server_bin=$repo/build-quick/server/hpo-server
worker_bin=$repo/build-quick/worker/hpo-worker
train=$repo/worker/examples/seed_pytorch/train.py

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
    local p=$1
    while ! port_free "$p"; do p=$((p + 1)); done
    echo "$p"
}

run=$(mktemp -d /tmp/hpo-quickstart.XXXXXX)
chmod 0755 "$run" # PostgreSQL runs as the postgres user in $run/pg
server_pid=""
worker_pids=()
finished=0
cleanup() {
    local rc=$?
    if [[ $finished -eq 1 && $keep -eq 1 ]]; then
        exit "$rc"
    fi
    # hpo-worker: a first SIGTERM drains (lets the running trials finish), a second stops them now
    local p
    for p in "${worker_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    sleep 0.2
    for p in "${worker_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${worker_pids[@]}"; do
        for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
    done
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$server_pid" 2>/dev/null || true
    fi
    if [[ $rc -ne 0 && -f "$run/server.log" ]]; then
        echo "--- last lines of the server log ($run/server.log):" >&2
        tail -n 20 "$run/server.log" >&2 || true
    fi
    bash "$repo/deploy/pg.sh" stop "$run/pg" 2>/dev/null || true
    if [[ $rc -eq 0 ]]; then
        rm -rf "$run/pg" # the database is gone; the models stay (and their logs)
        echo "models, worker and server logs kept in $run (rm -rf $run to remove them)"
    else
        echo "quickstart.sh: failed; logs kept in $run" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "PostgreSQL"
pg_port=$(free_port 55440)
db=$(bash deploy/pg.sh start "$run/pg" "$pg_port")
echo "$db"

say "tokens"
# Each token goes from hpo-server's stdout to a 0600 file, never onto a command line (ps shows
# those); curl reads the admin one as a header file (-H @FILE), hpo-worker the worker one
# (--token-file).
make_token() { # make_token FILE SCOPE [ARGS...]
    local file=$1 out
    shift
    out=$("$server_bin" token create --db "$db" --scope "$@") || die "hpo-server token create --scope $1 failed"
    (umask 077 && printf '%s\n' "${out%%$'\n'*}" >"$file")
}
make_token "$run/admin.token" admin --name quickstart-admin
make_token "$run/worker.token" worker --study seed --name quickstart-workers
make_token "$run/read.token" read --study seed --name quickstart-dashboard
(umask 077 && printf 'Authorization: Bearer %s\n' "$(head -n1 "$run/admin.token")" >"$run/admin.header")
echo "admin token in $run/admin.token, worker token (study seed only) in $run/worker.token,"
echo "read token for the dashboard (study seed only) in $run/read.token"

say "hpo-server"
port=$(free_port "$port")
base=http://127.0.0.1:$port
artifacts=$run/artifacts
"$server_bin" --db "$db" --listen "127.0.0.1:$port" --artifact-dir "$artifacts" \
    >"$run/server.log" 2>&1 &
server_pid=$!
for i in $(seq 100); do
    curl -fsS "$base/healthz" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || die "hpo-server exited at start"
    [[ $i -lt 100 ]] || die "hpo-server did not answer /healthz"
    sleep 0.1
done
echo "listening on $base (pid $server_pid, log $run/server.log, artifacts $artifacts)"

# api METHOD PATH [BODY]: prints the body, then a last line with the HTTP status.
api() {
    local args=(-sS -H "@$run/admin.header" -X "$1" -w '\n%{http_code}' "$base$2")
    [[ $# -lt 3 ]] || args+=(-H 'Content-Type: application/json' --data-binary "$3")
    curl "${args[@]}"
}
# Splits the output of api into $body and $status.
split() {
    status=${1##*$'\n'}
    body=${1%$'\n'*}
}

say "study \"seed\": maximize the digits validation accuracy, $trials trials x $epochs epochs"
echo "model_name in {mlp, mlp_wide, cnn}, optimizer in {SGD, Adam}, lr log-uniform in [1e-4, 1e-2];"
echo "TPE (seed 0, as train.py and optuna_baseline.py use), median pruner (n_startup_trials 2, n_warmup_steps 5, interval_steps 3)"
split "$(api POST /api/v1/studies "$(cat <<EOF
{"name": "seed", "direction": "maximize",
 "sampler": {"type": "tpe", "seed": 0},
 "pruner": {"type": "median", "n_startup_trials": 2, "n_warmup_steps": 5, "interval_steps": 3},
 "search_space": {
   "model_name": {"type": "categorical", "choices": ["mlp", "mlp_wide", "cnn"]},
   "optimizer":  {"type": "categorical", "choices": ["SGD", "Adam"]},
   "lr":         {"type": "float", "low": 0.0001, "high": 0.01, "log": true}},
 "max_trials": $trials, "heartbeat_grace": 60}
EOF
)")"
[[ $status == 201 ]] || die "creating the study answered $status: $body"
# the page keeps the token from the URL's fragment (never sent to the server) in the browser
dashboard="$base/#/studies/seed?token=$(head -n1 "$run/read.token")"
echo "Dashboard (live while the study runs): $dashboard"

say "$workers x hpo-worker --parallel 1 -- $(basename "$py") worker/examples/seed_pytorch/train.py --epochs $epochs"
t_study=$(date +%s.%N)
for ((w = 1; w <= workers; w++)); do
    OMP_NUM_THREADS=1 PYTHONPATH="$repo/worker/python" \
        "$worker_bin" --server "$base" --token-file "$run/worker.token" --study seed \
        --parallel 1 --gpus none \
        --worker-id "quickstart-w$w" --work-dir "$run/work-w$w" -- \
        "$py" "$train" --epochs "$epochs" >"$run/worker-w$w.log" 2>&1 &
    worker_pids+=($!)
    echo "worker w$w: pid $!, log $run/worker-w$w.log"
done

# Progress from GET /api/v1/studies/seed every few seconds, until every worker has exited
# (each exits 0 once the server answers study_complete).
progress() {
    split "$(api GET /api/v1/studies/seed)"
    [[ $status == 200 ]] || { echo "  (GET /api/v1/studies/seed answered $status)"; return; }
    printf '[%5.0fs] %s\n' "$(elapsed "$t_study")" "$(jq -r --argjson n "$trials" '
        .counts as $c
        | "finished \($c.complete + $c.pruned + $c.fail)/\($n) (complete \($c.complete)"
          + ", pruned \($c.pruned), fail \($c.fail)), running \($c.running), best accuracy "
          + (if .best_trial then
               "\(.best_trial.value * 10000 | round / 10000) (trial \(.best_trial.number):"
               + " \(.best_trial.params.model_name) \(.best_trial.params.optimizer)"
               + " lr \(.best_trial.params.lr * 1e6 | round / 1e6))"
             else "-" end)' <<<"$body")"
}
while true; do
    alive=0
    for p in "${worker_pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [[ $alive -eq 1 ]] || break
    progress
    for _ in $(seq 30); do # 3 s, leaving early when the workers are done
        alive=0
        for p in "${worker_pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [[ $alive -eq 1 ]] || break
        sleep 0.1
    done
done
for ((w = 1; w <= workers; w++)); do
    if ! wait "${worker_pids[w - 1]}"; then
        tail -n 20 "$run/worker-w$w.log" >&2
        die "worker w$w failed (log $run/worker-w$w.log)"
    fi
done
worker_pids=()
study_wall=$(elapsed "$t_study")
progress

say "result"
split "$(api GET /api/v1/studies/seed/best)"
[[ $status == 200 ]] || die "best answered $status: $body"
best=$body
number=$(jq -r .number <<<"$best")
split "$(api GET "/api/v1/studies/seed/trials?limit=1000")"
[[ $status == 200 ]] || die "listing the trials answered $status: $body"
trained=$(jq '[.trials[].intermediate_values | length] | add // 0' <<<"$body")
model=""
for f in "$artifacts"/*/"$number"/model.pt; do [[ -f $f ]] && model=$f; done
echo "Best accuracy:   $(jq -r .value <<<"$best")  (trial $number)"
echo "Best parameters: $(jq -c .params <<<"$best")"
echo "Epochs trained:  $trained of $((trials * epochs)) ($trials trials x $epochs epochs; a pruned trial stops early)"
echo "Best model:      ${model:-(no model.pt found under $artifacts)}"
echo "                 $base/api/v1/studies/seed/trials/$number/artifacts/model.pt"
echo "                 (every trial's model: $artifacts/<study id>/<trial>/model.pt, and its log next to it)"
echo "Study wall time: ${study_wall} s ($workers workers); total with build: $(elapsed "$t_start") s"
echo "Dashboard:       $dashboard"

finished=1
if [[ $keep -eq 1 ]]; then
    say "kept running"
    cat <<EOF
hpo-server: $base   (pid $server_pid, log $run/server.log)
PostgreSQL: $db
Tokens:     $run/admin.token (admin), $run/worker.token (worker, study seed only);
            $run/admin.header is the admin one as a curl header file
Try:  curl -s -H @$run/admin.header $base/api/v1/studies/seed | jq '{counts, best_trial: .best_trial | {number, value, params}}'
      curl -s -H @$run/admin.header -o model.pt $base/api/v1/studies/seed/trials/$number/artifacts/model.pt
      export HPO_SERVER=$base HPO_TOKEN_FILE=$run/admin.token   # for hpo, hpo-worker and hpo_client
      PYTHONPATH=$repo/worker/python $worker_bin --server $base --token-file $run/worker.token --study seed --gpus none -- $py $train   # one more worker
Stop: kill $server_pid; bash $repo/deploy/pg.sh stop $run/pg; rm -rf $run
EOF
else
    if [[ -t 0 ]]; then # a person at a terminal: leave the dashboard up until they are done
        say "the dashboard stays up at $dashboard"
        read -r -p "Press Enter (or Ctrl-C) to stop the server and PostgreSQL. " _ || true
    fi
    say "stopping"
fi

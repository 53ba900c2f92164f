#!/usr/bin/env bash
# quickstart.sh: hpo in one command: builds the server, starts a private PostgreSQL and hpo-server,
# and runs a TPE search for the minimum of the Branin function with two shell workers that
# speak the HTTP API with curl. Everything is stopped at the end unless --keep is given.
#   bash deploy/quickstart.sh [--keep] [--port PORT] [--trials N]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)

keep=0
port=8080
trials=60
while [[ $# -gt 0 ]]; do
    case "$1" in
    --keep) keep=1 ;;
    --port) port=${2:?--port needs a value}; shift ;;
    --trials) trials=${2:?--trials needs a value}; shift ;;
    -h | --help)
        sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'
        exit 0 ;;
    *) echo "quickstart.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done

if [[ -t 1 ]]; then
    say() { printf '\033[1m== %s\033[0m\n' "$*"; }
else
    say() { printf '== %s\n' "$*"; }
fi
die() { echo "quickstart.sh: $*" >&2; exit 1; }

say "dependencies"
bash deploy/install-deps.sh jq

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
quiet ninja -C build-quick server/hpo-server
server_bin=$repo/build-quick/server/hpo-server

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
    local p=$1
    while ! port_free "$p"; do p=$((p + 1)); done
    echo "$p"
}

run=$(mktemp -d /tmp/hpo-quickstart.XXXXXX)
chmod 0755 "$run" # PostgreSQL runs as the postgres user in $run/pg
server_pid=""
finished=0
cleanup() {
    local rc=$?
    if [[ $finished -eq 1 && $keep -eq 1 ]]; then
        exit "$rc"
    fi
    jobs -p | while read -r p; do [[ "$p" == "$server_pid" ]] || kill "$p" 2>/dev/null || true; done
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
        rm -rf "$run"
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

say "hpo-server"
port=$(free_port "$port")
base=http://127.0.0.1:$port
"$server_bin" --db "$db" --listen "127.0.0.1:$port" >"$run/server.log" 2>&1 &
server_pid=$!
for i in $(seq 100); do
    curl -fsS "$base/healthz" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || die "hpo-server exited at start"
    [[ $i -lt 100 ]] || die "hpo-server did not answer /healthz"
    sleep 0.1
done
echo "listening on $base (pid $server_pid, log $run/server.log)"

# api METHOD PATH [BODY]: prints the body, then a last line with the HTTP status.
api() {
    local args=(-sS -X "$1" -w '\n%{http_code}' "$base$2")
    [[ $# -lt 3 ]] || args+=(-H 'Content-Type: application/json' --data-binary "$3")
    curl "${args[@]}"
}
# Splits the output of api into $body and $status.
split() {
    status=${1##*$'\n'}
    body=${1%$'\n'*}
}

say "study \"quickstart\": minimize Branin(x, y), x in [-5, 10], y in [0, 15], $trials trials"
split "$(api POST /api/v1/studies "$(cat <<EOF
{"name": "quickstart", "direction": "minimize",
 "sampler": {"type": "tpe", "seed": 7},
 "search_space": {"x": {"type": "float", "low": -5, "high": 10},
                  "y": {"type": "float", "low": 0, "high": 15}},
 "max_trials": $trials, "load_if_exists": true}
EOF
)")"
[[ $status == 201 || $status == 200 ]] || die "creating the study answered $status: $body"

# Branin: its minimum, 0.397887, is reached at (-pi, 12.275), (pi, 2.275) and (9.42478, 2.475).
branin() {
    awk -v x="$1" -v y="$2" 'BEGIN {
        pi = atan2(0, -1); b = 5.1 / (4 * pi * pi); c = 5 / pi; t = 1 / (8 * pi)
        u = y - b * x * x + c * x - 6
        printf "%.10g\n", u * u + 10 * (1 - t) * cos(x) + 10 }'
}

# One worker: ask, "train" for a few steps reporting intermediate values, finish; until the
# study is complete (409 study_complete).
worker() {
    local me=$1 status body number x y value v step
    while true; do
        split "$(api POST /api/v1/studies/quickstart/trials "{\"worker\": \"$me\"}")"
        if [[ $status == 409 ]]; then
            [[ $(jq -r .error.code <<<"$body") == study_complete ]] || die "$me: ask answered $body"
            echo "[$me] study complete, stopping"
            return 0
        fi
        [[ $status == 201 || $status == 200 ]] || die "$me: ask answered $status: $body"
        number=$(jq -r .number <<<"$body")
        x=$(jq -r .params.x <<<"$body")
        y=$(jq -r .params.y <<<"$body")
        value=$(branin "$x" "$y")
        for step in 0 1 2; do
            # a "training curve" that comes down to the final value
            v=$(awk -v f="$value" -v s="$step" 'BEGIN { printf "%.10g\n", f + 20 / (s + 1) }')
            split "$(api POST "/api/v1/studies/quickstart/trials/$number/reports" \
                "{\"step\": $step, \"value\": $v}")"
            [[ $status == 200 ]] || die "$me: report answered $status: $body"
        done
        split "$(api POST "/api/v1/studies/quickstart/trials/$number/finish" \
            "{\"state\": \"complete\", \"value\": $value}")"
        [[ $status == 200 ]] || die "$me: finish answered $status: $body"
        split "$(api GET /api/v1/studies/quickstart)"
        printf '[%s] trial %3d  x=%8.4f y=%8.4f  value=%9.4f   | finished %s/%s, best %s\n' \
            "$me" "$number" "$x" "$y" "$value" \
            "$(jq -r .counts.complete <<<"$body")" "$trials" \
            "$(jq -r '.best_trial.value // "-"' <<<"$body")"
    done
}

say "two workers"
worker w1 &
w1=$!
worker w2 &
w2=$!
wait "$w1" || die "worker w1 failed"
wait "$w2" || die "worker w2 failed"

say "best trial (GET /api/v1/studies/quickstart/best)"
split "$(api GET /api/v1/studies/quickstart/best)"
[[ $status == 200 ]] || die "best answered $status: $body"
jq '{number, value, params, worker, intermediate_values}' <<<"$body"
echo "(the true minimum of Branin is 0.397887; TPE over $trials trials, two workers asking at once)"

finished=1
if [[ $keep -eq 1 ]]; then
    say "kept running"
    cat <<EOF
hpo-server: $base   (pid $server_pid, log $run/server.log)
PostgreSQL: $db
Try:  curl -s $base/api/v1/studies | jq
Stop: kill $server_pid; bash $repo/deploy/pg.sh stop $run/pg; rm -rf $run
EOF
else
    say "stopping"
fi

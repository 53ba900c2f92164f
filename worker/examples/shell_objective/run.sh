#!/usr/bin/env bash
# run.sh: a study driven with curl only (sed and awk for the JSON and the math; no jq): create the
# study, then ask, compute a toy objective with awk, report a few steps, finish, until 409.
#   bash run.sh [--server URL] [--study NAME] [--trials N] [--steps S]
#   (defaults: $HPO_SERVER or http://127.0.0.1:8080, shell-example, 20 trials, 3 steps)
# Several copies may run on the same study at once: the server hands each its own trials.
# The token comes from HPO_TOKEN or HPO_TOKEN_FILE (creating the study needs an admin token), the
# CA of an https server from HPO_CACERT.
set -euo pipefail

server=${HPO_SERVER:-http://127.0.0.1:8080}
study=shell-example
trials=20
steps=3
while [[ $# -gt 0 ]]; do
    case "$1" in
    --server) server=${2:?--server needs a value}; shift ;;
    --study) study=${2:?--study needs a value}; shift ;;
    --trials) trials=${2:?--trials needs a value}; shift ;;
    --steps) steps=${2:?--steps needs a value}; shift ;;
    -h | --help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
[[ $trials =~ ^[0-9]+$ && $steps =~ ^[0-9]+$ && $steps -ge 1 ]] || { echo "run.sh: bad --trials/--steps" >&2; exit 2; }
[[ $study =~ ^[A-Za-z0-9._-]+$ ]] || { echo "run.sh: the study name must be letters, digits, . _ -" >&2; exit 2; }

base=${server%/}/api/v1/studies
me="shell-$(hostname)-$$"
die() { echo "run.sh: $*" >&2; exit 1; }

token=${HPO_TOKEN:-}
if [[ -n ${HPO_TOKEN_FILE:-} ]]; then
    [[ -z $token ]] || die "HPO_TOKEN and HPO_TOKEN_FILE are both set: set one of them"
    [[ -r $HPO_TOKEN_FILE ]] || die "cannot read the token file $HPO_TOKEN_FILE"
    IFS= read -r token <"$HPO_TOKEN_FILE" || true
    token=${token#"${token%%[![:space:]]*}"} # the first line, white space around it stripped
    token=${token%"${token##*[![:space:]]}"}
    [[ -n $token ]] || die "the token file $HPO_TOKEN_FILE has no token on its first line"
fi
tls=()
[[ -z ${HPO_CACERT:-} ]] || tls=(--cacert "$HPO_CACERT")

# call METHOD URL [BODY]: sets $body (the answer) and $status (the HTTP code). The token goes to
# curl on its standard input (-H @-), never on its command line, which ps shows.
call() {
    local out args=(-sS "${tls[@]}" -X "$1" -w '\n%{http_code}' "$2")
    [[ $# -lt 3 ]] || args+=(-H 'Content-Type: application/json' --data-binary "$3")
    [[ -z $token ]] || args+=(-H @-)
    out=$(curl "${args[@]}" <<<"Authorization: Bearer $token") || die "curl $1 $2 failed"
    status=${out##*$'\n'}
    body=${out%$'\n'*}
}

# first KEY [TEXT]: the number or string value of the first (leftmost) "KEY": in TEXT ($body
# by default); flat values only, or the first element of an array ("values": [V]).
first() {
    printf '%s' "${2-$body}" | tr -d '\n' | awk -v k="$1" '{
        if (match($0, "\"" k "\"[ \t]*:[ \t]*\"?[^]\",}]*")) {
            s = substr($0, RSTART, RLENGTH)
            sub(/^"[^"]*"[ \t]*:[ \t]*"?\[?/, "", s)
            print s
        } }'
}
# param NAME: the value of NAME inside the "params" object of $body.
param() {
    local obj
    obj=$(printf '%s' "$body" | tr -d '\n' | awk '{
        if (match($0, /"params"[ \t]*:[ \t]*\{[^}]*\}/)) print substr($0, RSTART, RLENGTH) }')
    first "$1" "$obj"
}

# The study: minimize a shifted quadratic over a declared space; the median pruner stops trials
# whose curve lies above the median of the completed ones.
call POST "$base" "{\"name\": \"$study\", \"direction\": \"minimize\", \"load_if_exists\": true,
  \"sampler\": {\"type\": \"tpe\", \"seed\": 3},
  \"pruner\": {\"type\": \"median\", \"n_startup_trials\": 3, \"n_warmup_steps\": 1},
  \"search_space\": {\"x\": {\"type\": \"float\", \"low\": -5, \"high\": 5},
                     \"y\": {\"type\": \"float\", \"low\": -5, \"high\": 5}},
  \"max_trials\": $trials}"
[[ $status == 201 || $status == 200 ]] || die "create study: $status $body"

# The toy objective: (x - 1)^2 + 2 (y + 2)^2 + 0.5, minimum 0.5 at (1, -2).
toy() { awk -v x="$1" -v y="$2" 'BEGIN { printf "%.10g\n", (x - 1)^2 + 2 * (y + 2)^2 + 0.5 }'; }
# Its "training curve": comes down to the final value.
curve() { awk -v f="$1" -v s="$2" 'BEGIN { printf "%.10g\n", f + 3 / (s + 1) }'; }

done_complete=0 done_pruned=0
while true; do
    call POST "$base/$study/trials" "{\"worker\": \"$me\"}"
    if [[ $status == 409 ]]; then
        [[ $(first code) == study_complete ]] || die "ask: $status $body"
        break
    fi
    if [[ $status == 204 ]]; then # trials of other workers still run
        sleep 1
        continue
    fi
    [[ $status == 201 || $status == 200 ]] || die "ask: $status $body"
    number=$(first number)
    x=$(param x)
    y=$(param y)
    [[ -n $number && -n $x && -n $y ]] || die "could not read the trial from: $body"
    value=$(toy "$x" "$y")
    state=complete
    for ((s = 0; s < steps; s++)); do
        v=$(curve "$value" "$s")
        call POST "$base/$study/trials/$number/reports" "{\"step\": $s, \"value\": $v}"
        [[ $status == 200 ]] || die "report: $status $body"
        if [[ $(first action) == prune ]]; then
            state=pruned
            break
        fi
    done
    if [[ $state == pruned ]]; then
        call POST "$base/$study/trials/$number/finish" '{"state": "pruned"}'
        done_pruned=$((done_pruned + 1))
    else
        call POST "$base/$study/trials/$number/finish" "{\"state\": \"complete\", \"value\": $value}"
        done_complete=$((done_complete + 1))
    fi
    [[ $status == 200 ]] || die "finish: $status $body"
    printf 'trial %3s  x=%9.5f y=%9.5f  %-8s %s\n' "$number" "$x" "$y" "$state" \
        "$([[ $state == pruned ]] && echo "$v" || echo "$value")"
done

call GET "$base/$study/best"
[[ $status == 200 ]] || die "best: $status $body"
echo "study $study complete ($done_complete complete, $done_pruned pruned by this process);" \
    "best trial $(first number): value $(first values), x=$(param x) y=$(param y)"

#!/usr/bin/env bash
# submit.sh: creates an hpo study (or checks that the one of that name has the same config) and
# submits a Slurm job array of workers for it (hpo-worker.sbatch, one hpo-worker per array task).
# Prints the array's job id on stdout (everything else goes to stderr).
#
#   bash deploy/slurm/submit.sh --server URL --study NAME --config STUDY.json \
#       --admin-token-file ADMIN.token --worker-token-file WORKER.token --tasks N \
#       [--gpus-per-task G] [--gpus-per-trial K] [--cpus-per-task C] [--time LIMIT] \
#       [--cacert CA.pem] [--worker-bin PATH] [--output PATTERN] [--sbatch-arg ARG]... \
#       [--create-only] -- COMMAND [ARG...]
#
# --config: the study as POST /api/v1/studies takes it (proto/openapi.yaml, StudyCreate: direction,
#   sampler, pruner, search_space, max_trials, heartbeat_grace, retry...), without its name, which
#   --study gives. When a study of that name exists, every key the file gives must have the same
#   value in it (options the file leaves out are not compared): then it is used as it is, else
#   submit.sh stops, naming the keys that differ.
# --admin-token-file: a token allowed to create the study (admin scope); used here only, by curl
#   as a header file. --worker-token-file: the token the workers use (hpo token create --scope
#   worker --study NAME); the jobs read it, so it must be readable by the job's user on the
#   compute nodes (a shared file system). Neither appears on a command line.
# --tasks N: the array 0..N-1; --gpus-per-task G: --gres=gpu:G for each (0, the default: no GPU
#   request, the worker runs --cpus-per-task trials at once); --gpus-per-trial K: each trial's
#   share of the task's GPUs. --time: the array tasks' time limit (sbatch --time); 120 s before it
#   the worker hands its running trials back. --sbatch-arg: one more sbatch option (repeat it),
#   e.g. --sbatch-arg=--partition=gpu. --create-only: the study only, no jobs.
# HPO_SERVER and HPO_CACERT are the defaults of --server and --cacert.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
die() {
    echo "submit.sh: $*" >&2
    exit 1
}
usage() {
    echo "submit.sh: $*" >&2
    echo "usage: submit.sh --server URL --study NAME --config FILE --admin-token-file FILE --worker-token-file FILE --tasks N [options] -- COMMAND [ARG...] (see the top of $here/submit.sh)" >&2
    exit 2
}

server=${HPO_SERVER:-}
cacert=${HPO_CACERT:-}
study="" config="" admin_token="" worker_token="" tasks="" gpus_per_task=0 gpus_per_trial=1
cpus_per_task="" time_limit="" worker_bin="" output="" create_only=0
sbatch_extra=()
while [[ $# -gt 0 ]]; do
    opt=$1
    val=""
    if [[ $opt == --*=* ]]; then
        val=${opt#*=}
        opt=${opt%%=*}
    fi
    case $opt in
    --create-only) create_only=1; shift; continue ;;
    --) shift; break ;;
    -h | --help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --server | --study | --config | --admin-token-file | --worker-token-file | --tasks | \
        --gpus-per-task | --gpus-per-trial | --cpus-per-task | --time | --cacert | --worker-bin | \
        --output | --sbatch-arg)
        if [[ ${1} != *=* ]]; then
            [[ $# -ge 2 ]] || usage "$opt needs a value"
            val=$2
            shift
        fi
        shift ;;
    *) usage "unknown argument $1" ;;
    esac
    case $opt in
    --server) server=$val ;;
    --study) study=$val ;;
    --config) config=$val ;;
    --admin-token-file) admin_token=$val ;;
    --worker-token-file) worker_token=$val ;;
    --tasks) tasks=$val ;;
    --gpus-per-task) gpus_per_task=$val ;;
    --gpus-per-trial) gpus_per_trial=$val ;;
    --cpus-per-task) cpus_per_task=$val ;;
    --time) time_limit=$val ;;
    --cacert) cacert=$val ;;
    --worker-bin) worker_bin=$val ;;
    --output) output=$val ;;
    --sbatch-arg) sbatch_extra+=("$val") ;;
    esac
done
command_args=("$@")

# ---- checks, before anything is created or submitted
[[ -n $server ]] || usage "--server (or HPO_SERVER) is required"
[[ $server =~ ^https?://[^/]+/?$ ]] || usage "--server must be http(s)://HOST[:PORT]: $server"
server=${server%/}
[[ -n $study ]] || usage "--study is required"
[[ $study =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || usage "--study: letters, digits, . _ - only: $study"
[[ -n $config ]] || usage "--config is required (the study as JSON, see proto/openapi.yaml StudyCreate)"
[[ -r $config ]] || usage "--config $config cannot be read"
[[ -n $admin_token ]] || usage "--admin-token-file is required"
[[ -r $admin_token ]] || usage "--admin-token-file $admin_token cannot be read"
[[ -z $cacert || -r $cacert ]] || usage "--cacert $cacert cannot be read"
for tool in curl jq; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is required (apt-get install $tool)"
done
if ((!create_only)); then
    [[ -n $worker_token ]] || usage "--worker-token-file is required"
    [[ -r $worker_token ]] || usage "--worker-token-file $worker_token cannot be read"
    [[ -n $tasks ]] || usage "--tasks is required"
    [[ $tasks =~ ^[1-9][0-9]*$ ]] || usage "--tasks must be a positive integer: $tasks"
    [[ $gpus_per_task =~ ^(0|[1-9][0-9]*)$ ]] || usage "--gpus-per-task must be an integer >= 0: $gpus_per_task"
    [[ $gpus_per_trial =~ ^[1-9][0-9]*$ ]] || usage "--gpus-per-trial must be a positive integer: $gpus_per_trial"
    ((gpus_per_task == 0 || gpus_per_trial <= gpus_per_task)) \
        || usage "--gpus-per-trial $gpus_per_trial is more than --gpus-per-task $gpus_per_task"
    [[ -z $cpus_per_task || $cpus_per_task =~ ^[1-9][0-9]*$ ]] \
        || usage "--cpus-per-task must be a positive integer: $cpus_per_task"
    [[ ${#command_args[@]} -gt 0 ]] || usage "no training command after --"
    if [[ -n $worker_bin ]]; then
        [[ -x $worker_bin ]] || usage "--worker-bin $worker_bin is not an executable file"
        worker_bin=$(cd "$(dirname "$worker_bin")" && pwd)/$(basename "$worker_bin")
    fi
    command -v sbatch >/dev/null 2>&1 || die "sbatch not found (run this on a Slurm submit host)"
    # the jobs read it, maybe from another directory: an absolute path
    worker_token=$(cd "$(dirname "$worker_token")" && pwd)/$(basename "$worker_token")
    [[ -z $cacert ]] || cacert=$(cd "$(dirname "$cacert")" && pwd)/$(basename "$cacert")
fi
body=$(jq -c --arg name "$study" '
    if type != "object" then error("the config must be a JSON object") else . end
    | if has("name") and .name != $name then error("the config names study \(.name), not \($name)") else . end
    | del(.load_if_exists) + {name: $name}' "$config" 2>&1) \
    || die "--config $config: ${body#jq: error (at *): }"

# ---- the study
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(umask 077 && printf 'Authorization: Bearer %s\n' "$(head -n1 "$admin_token" | tr -d '[:space:]')" >"$tmp/auth")
curl_args=(-sS --max-time 30 -H "@$tmp/auth")
[[ -z $cacert ]] || curl_args+=(--cacert "$cacert")

# api METHOD PATH [BODY]: the answer's body into $tmp/body, its HTTP status on stdout.
api() {
    local args=("${curl_args[@]}" -X "$1" -o "$tmp/body" -w '%{http_code}' "$server$2")
    [[ $# -lt 3 ]] || args+=(-H 'Content-Type: application/json' --data-binary "$3")
    curl "${args[@]}" || die "cannot reach $server (curl exit $?)"
}
error_of() { jq -r '"\(.error.code): \(.error.message)"' "$tmp/body" 2>/dev/null || head -c 300 "$tmp/body"; }

status=$(api POST /api/v1/studies "$(jq -c '. + {load_if_exists: true}' <<<"$body")") || exit 1
case $status in
201) echo "submit.sh: created study $study" >&2 ;;
200)
    # it existed: every key the config gives must match (numbers by value; objects key by key, so
    # the options the server spells out and the config leaves out are not compared)
    differ=$(jq -r --argjson want "$body" '
        def same($a; $b):
            if ($a | type) == "object" then
                ($b | type) == "object" and all($a | keys[]; . as $k | ($b | has($k)) and same($a[$k]; $b[$k]))
            elif ($a | type) == "array" then
                ($b | type) == "array" and ($a | length) == ($b | length)
                and all(range($a | length); . as $i | same($a[$i]; $b[$i]))
            else $a == $b end;
        . as $have | [$want | keys[] | select(. as $k | same($want[$k]; $have[$k]) | not)] | join(", ")' \
        "$tmp/body") || die "unreadable answer from $server: $(head -c 300 "$tmp/body")"
    [[ -z $differ ]] \
        || die "study $study exists with another config ($differ differ): pick another --study name or delete it (hpo study delete $study --yes)"
    echo "submit.sh: study $study exists with the same config" >&2 ;;
401 | 403) die "the server refused the admin token ($status): $(error_of)" ;;
*) die "creating study $study answered $status: $(error_of)" ;;
esac
((create_only)) && exit 0

# ---- the job array
sbatch_args=(--parsable --array="0-$((tasks - 1))" --job-name="hpo-$study")
((gpus_per_task == 0)) || sbatch_args+=(--gres="gpu:$gpus_per_task")
[[ -z $cpus_per_task ]] || sbatch_args+=(--cpus-per-task="$cpus_per_task")
[[ -z $time_limit ]] || sbatch_args+=(--time="$time_limit")
[[ -z $output ]] || sbatch_args+=(--output="$output")
sbatch_args+=("${sbatch_extra[@]}")

# What the job needs goes through the environment (sbatch exports the submitting one); never a
# token itself (Slurm keeps the job's environment in its state files): its file's name.
unset HPO_TOKEN
export HPO_SERVER=$server HPO_STUDY=$study HPO_TOKEN_FILE=$worker_token HPO_GPUS_PER_TRIAL=$gpus_per_trial
if [[ -n $cacert ]]; then export HPO_CACERT=$cacert; else unset HPO_CACERT; fi
[[ -z $worker_bin ]] || export HPO_WORKER_BIN=$worker_bin
out=$(sbatch "${sbatch_args[@]}" "$here/hpo-worker.sbatch" -- "${command_args[@]}") \
    || die "sbatch failed: $out"
job=${out%%;*}
[[ $job =~ ^[0-9]+$ ]] || die "sbatch printed no job id: $out"
echo "submit.sh: submitted job array $job (tasks 0-$((tasks - 1))); watch it with squeue -j $job, stop a task with scancel ${job}_TASK" >&2
echo "$job"

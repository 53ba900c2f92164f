#!/usr/bin/env bash
# container_run.sh: deploy/container's images built and run for real with Debian 12's podman
# (4.3.1, crun, overlay storage); meson test container_run (suite deploy), or by hand:
#
#   bash tests/deploy/container_run.sh
#
# About 115 s the first time on 2 cores (debootstrap and the images' apt-get steps download from
# the Debian mirror), about 10 s again with the caches (the layers of unchanged sources reused).
#
# 1. Base image: `debootstrap --variant=minbase bookworm` into HPO_PODMAN_ROOTFS_CACHE (default
#    /var/cache/hpo-test/podman/rootfs-bookworm; kept, so later runs skip it), `podman import`ed
#    as localhost/debian:12 and tagged localhost/debian:12-slim, the names the Containerfiles'
#    FROM lines use. No registry is contacted: builds and runs are --pull=never and the build
#    args name the local images.
# 2. In a private mount namespace (unshare -m --propagation private) with /sys/fs/cgroup/unified
#    unmounted there only (crun refuses cgroup v1 with an empty cgroup2 hierarchy beside it) and
#    a private /dev/shm (podman's lock segment): podman builds hpo-server:VERSION and
#    hpo-worker:VERSION from the repository root, with --network host (no CNI) and RLIMIT_NOFILE
#    and RLIMIT_NPROC lowered to 4096 (podman would raise them, which needs CAP_SYS_RESOURCE).
# 3. A PostgreSQL on the host (deploy/pg.sh, loopback); every container runs with --network host
#    --read-only --user 10001:10001 --cgroups=disabled: `hpo-server token create` (admin, and a
#    worker token for the study) into a bind-mounted tokens directory; the server on a free
#    loopback port until /healthz answers; the study "quadratic" (minimize (x - 2)^2, random
#    sampler, 8 trials) created with curl and the admin token; two worker containers
#    (--worker-id ct-w1, ct-w2; one runs awk, the other python3 importing hpo_client) until the
#    study completes. Asserted: 8 complete trials and nothing else, trials from both workers,
#    both workers exited 0, and `podman stop` ends the server with exit status 0 (SIGTERM drain).
# 4. On any exit: the containers, the PostgreSQL and the temporary directory are removed.
#
# Podman's storage is its own: HPO_PODMAN_STORAGE (default /var/cache/hpo-test/podman/storage),
# with its run root on a tmpfs mounted in the namespace, so the machine's podman storage
# (/var/lib/containers) and /run are not touched, and the layers (the apt-get steps above all)
# are reused by the next run. HPO_PODMAN_CLEAN=1 removes the rootfs and the storage at the end.
# HPO_DEBIAN_MIRROR (default http://deb.debian.org/debian) is debootstrap's mirror, and the
# images' apt source. Needs root, podman, debootstrap, unshare (util-linux), curl, python3 and
# PostgreSQL's server binaries (deploy/pg.sh), all in `deploy/install-deps.sh --tests`; a missing
# one fails the test (it installs nothing). The machine is otherwise left as it was: every mount
# is in the namespace (tmpfs over /run/crun, /var/lib/containers and /var/tmp too, where podman
# and crun would write by default), and the containers, PostgreSQL and the temporary directory
# are gone at the end.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
self=$root/tests/deploy/container_run.sh
cache=/var/cache/hpo-test/podman
rootfs=${HPO_PODMAN_ROOTFS_CACHE:-$cache/rootfs-bookworm}
storage=${HPO_PODMAN_STORAGE:-$cache/storage}
runroot=$storage.run # a tmpfs in the namespace: podman's run state lasts one run
mirror=${HPO_DEBIAN_MIRROR:-http://deb.debian.org/debian}
clean=${HPO_PODMAN_CLEAN:-0}
py=/usr/bin/python3
study=quadratic
trials=8
ulimits=(--ulimit nofile=4096:4096 --ulimit nproc=4096:4096)

fail() { echo "container_run.sh: FAIL: $*" >&2; exit 1; }
say() { printf '== [%4ss] %s\n' "$SECONDS" "$*"; }

# --- outside the namespace: preconditions, then the same script again in a private one ---------

preconditions() {
    [[ $(id -u) -eq 0 ]] || fail "must run as root (podman's root storage, unshare -m, debootstrap)"
    local c
    for c in podman debootstrap unshare mountpoint curl runuser flock; do
        command -v "$c" >/dev/null ||
            fail "$c is missing (bash deploy/install-deps.sh --tests installs it)"
    done
    [[ -x $py ]] || fail "$py is missing (apt-get install python3)"
    compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null || command -v pg_ctl >/dev/null ||
        fail "PostgreSQL's server binaries are missing (apt-get install postgresql)"
    [[ $clean == 0 || $clean == 1 ]] || fail "HPO_PODMAN_CLEAN must be 0 or 1, not $clean"
}

if [[ ${_HPO_CONTAINER_RUN_NS:-} != 1 ]]; then
    preconditions
    mkdir -p "$(dirname "$storage")"
    export _HPO_CONTAINER_RUN_NS=1
    exec unshare --mount --propagation private -- bash "$self" "$@"
fi

# --- inside the namespace ------------------------------------------------------------------------

version=$(sed -n "s/^ *version : '\([^']*\)',*$/\1/p" "$root/meson.build" | head -n1)
[[ -n $version ]] || fail "no project version in $root/meson.build"
server_image=localhost/hpo-server:$version
worker_image=localhost/hpo-worker:$version
names=(hpo-ct-tokens hpo-ct-server hpo-ct-w1 hpo-ct-w2)
tmp=""
pg_started=0

pm_flags=(--root "$storage" --runroot "$runroot/storage" --tmpdir "$runroot/libpod"
          --storage-driver overlay --cgroup-manager cgroupfs --events-backend file)
pm() { TMPDIR=$tmp/podman-tmp podman "${pm_flags[@]}" "$@"; }

# Prints a container's last log lines (on failure).
show_log() {
    pm container exists "$1" 2>/dev/null || return 0
    echo "--- last lines of container $1:" >&2
    pm logs "$1" 2>&1 | tail -n 25 >&2 || true
}

teardown() {
    local rc=$? n
    trap - EXIT
    set +e
    if [[ $rc -ne 0 ]]; then
        for n in "${names[@]}"; do show_log "$n"; done
    fi
    for n in "${names[@]}"; do
        pm container exists "$n" 2>/dev/null && pm rm -f -t 0 "$n" >/dev/null
    done
    if ((pg_started)); then
        bash "$root/deploy/pg.sh" stop "$tmp/pg" 2>/dev/null
    fi
    [[ -n $tmp ]] && rm -rf "$tmp"
    if [[ $clean == 1 ]]; then
        say "HPO_PODMAN_CLEAN=1: removing $storage and $rootfs"
        pm rmi -a -f >/dev/null 2>&1
        umount "$runroot" 2>/dev/null
        rm -rf "$storage" "$rootfs" "$runroot" "$storage.lock"
    fi
    if [[ $rc -eq 0 ]]; then
        say "container_run.sh: ok ($SECONDS s)"
    else
        echo "container_run.sh: failed (exit $rc) after $SECONDS s" >&2
    fi
    exit "$rc"
}

# The namespace's own view: no cgroup2 hierarchy beside cgroup v1 (crun: "cgroups in hybrid mode
# not supported"), a private /dev/shm for podman's lock segment, podman's run root on a tmpfs.
namespace_setup() {
    if mountpoint -q /sys/fs/cgroup/unified; then
        umount /sys/fs/cgroup/unified || fail "umount /sys/fs/cgroup/unified in the namespace"
    fi
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm || fail "a tmpfs on /dev/shm"
    mkdir -p "$runroot" "$storage"
    mount -t tmpfs -o mode=0700 tmpfs "$runroot" || fail "a tmpfs on $runroot"
    # What podman and crun would still write to the machine's defaults, on tmpfs here: crun's
    # state (/run/crun), containers/image's blob info cache (/var/lib/containers/cache, which
    # also hides the machine's own podman storage) and stray temporary files (/var/tmp)
    local d
    for d in /run/crun /var/lib/containers /var/tmp; do
        mkdir -p "$d" || fail "mkdir $d"
        mount -t tmpfs -o mode=0700 tmpfs "$d" || fail "a tmpfs on $d"
    done
    chmod 1777 /var/tmp
}

base_images() {
    if [[ -x $rootfs/bin/sh && -f $rootfs/etc/debian_version ]]; then
        say "base rootfs: $rootfs (cached)"
    else
        say "debootstrap --variant=minbase bookworm $rootfs ($mirror)"
        rm -rf "$rootfs.partial"
        debootstrap --variant=minbase bookworm "$rootfs.partial" "$mirror" \
            >"$tmp/debootstrap.log" 2>&1 ||
            { tail -n 20 "$tmp/debootstrap.log" >&2; fail "debootstrap (log above)"; }
        rm -f "$rootfs.partial"/var/cache/apt/archives/*.deb
        rm -rf "$rootfs"
        mv "$rootfs.partial" "$rootfs"
        pm rmi -f localhost/debian:12 localhost/debian:12-slim >/dev/null 2>&1 || true
    fi
    if pm image exists localhost/debian:12; then
        say "localhost/debian:12 (in the storage already)"
    else
        say "podman import $rootfs localhost/debian:12"
        tar -C "$rootfs" -c . | pm import - localhost/debian:12 >/dev/null ||
            fail "podman import of $rootfs"
    fi
    pm tag localhost/debian:12 localhost/debian:12-slim || fail "podman tag localhost/debian:12-slim"
}

build() { # build IMAGE CONTAINERFILE BUILD-ARG...
    local image=$1 file=$2 log
    shift 2
    log=$tmp/build-$(basename "$file" .Containerfile).log
    say "podman build -f $file -t $image"
    (cd "$root" && pm build --pull=never --network host "${ulimits[@]}" --layers \
        --build-arg BUILD_IMAGE=localhost/debian:12 "$@" -f "$file" -t "$image" .) \
        >"$log" 2>&1 || { tail -n 30 "$log" >&2; fail "podman build of $image (log above)"; }
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
    local p=$1
    while ! port_free "$p"; do p=$((p + 1)); done
    echo "$p"
}

# run NAME IMAGE ARGS...: a detached container as the k8s manifests run them
run() {
    local name=$1
    shift
    pm run -d --name "$name" --pull=never --network host --read-only --user 10001:10001 \
        --cgroups=disabled "${ulimits[@]}" "$@" >/dev/null || fail "podman run $name"
}

# exit_code NAME TIMEOUT: waits for the container to stop; prints its exit status
exit_code() {
    TMPDIR=$tmp/podman-tmp timeout "$2" podman "${pm_flags[@]}" wait "$1" ||
        fail "container $1 did not stop within $2 s"
}

# api METHOD PATH [BODY]: prints the body; fails unless the status is 2xx
api() {
    local args=(-sS -f -H "@$tmp/admin.header" -X "$1" "$base$2")
    [[ $# -lt 3 ]] || args+=(-H 'Content-Type: application/json' --data-binary "$3")
    curl "${args[@]}" || fail "$1 $2"
}

# The Kubernetes workers' preStop hook (deploy/k8s/base/worker-job.yaml, its very command) run in
# a worker container mid-trial: the worker hands its trial back and exits 0 before the hook ends.
prestop_drain() {
    local hook
    hook=$("$py" - "$root/deploy/k8s/base/worker-job.yaml" <<'EOF'
import sys, yaml
job = next(d for d in yaml.safe_load_all(open(sys.argv[1])) if d)
c = next(c for c in job["spec"]["template"]["spec"]["containers"] if c["name"] == "hpo-worker")
print(c["lifecycle"]["preStop"]["exec"]["command"][-1])
EOF
) || fail "no preStop command in deploy/k8s/base/worker-job.yaml"
    say "the k8s workers' preStop hook mid-trial: $hook"
    api POST /api/v1/studies '{"name": "drain", "direction": "minimize",
        "search_space": {"x": {"type": "float", "low": 0, "high": 1}}, "max_trials": 1,
        "retry": {"max_retries": 1, "on": ["preempted"]}}' >/dev/null
    run hpo-ct-w3 -e HPO_SERVER="$base" -e HPO_TOKEN_FILE=/var/lib/hpo/tokens/drain.token \
        -v "$tmp/tokens:/var/lib/hpo/tokens:ro" "$worker_image" --study drain --gpus none \
        --worker-id ct-w3 --requeue-on-exit --grace-ms 5000 -- \
        sh -c 'sleep 300; echo "hpo: value=1"'
    local i
    for ((i = 0; ; i++)); do
        api GET /api/v1/studies/drain/trials/0 2>/dev/null | grep -q '"state":"running"' && break
        ((i < 150)) || fail "the drain study's trial did not start within 30 s"
        sleep 0.2
    done
    # the hook ends when hpo-worker (PID 1) has exited, which stops the container and the exec
    TMPDIR=$tmp/podman-tmp timeout 60 podman "${pm_flags[@]}" exec hpo-ct-w3 /bin/sh -c "$hook" \
        >/dev/null 2>&1 || true
    local code
    code=$(exit_code hpo-ct-w3 30)
    [[ $code == 0 ]] || fail "the worker exited $code after its preStop hook (expected 0)"
    api GET /api/v1/studies/drain/trials/0 >"$tmp/drained.json"
    "$py" - "$tmp/drained.json" <<'EOF' || fail "the drained trial (above)"
import json, sys
t = json.load(open(sys.argv[1]))
print(f"   trial 0: {t['state']}, preempted {t.get('preempted')}, retried_by {t.get('retried_by')}")
sys.exit(0 if t["state"] == "fail" and t.get("preempted") and t.get("retried_by") is not None
         else 1)
EOF
}

main() {
    exec 9>"$storage.lock"
    flock -n 9 || fail "another container_run.sh holds $storage.lock"
    tmp=$(mktemp -d /tmp/hpo-container-run.XXXXXX)
    chmod 0755 "$tmp" # PostgreSQL runs as the postgres user in $tmp/pg
    mkdir -m 0700 "$tmp/podman-tmp" # podman's TMPDIR (builds), not /var/tmp
    trap teardown EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    namespace_setup
    say "podman $(podman --version | awk '{print $3}'), storage $storage, hpo $version"
    # A run killed before its teardown may have left containers in the storage
    pm rm -f -a -t 0 >/dev/null 2>&1 || true

    base_images
    build "$server_image" deploy/container/server.Containerfile \
        --build-arg RUNTIME_IMAGE=localhost/debian:12-slim
    build "$worker_image" deploy/container/worker.Containerfile \
        --build-arg BASE_IMAGE=localhost/debian:12

    say "PostgreSQL (deploy/pg.sh, host loopback)"
    local pg_port
    pg_port=$(free_port 55470)
    pg_started=1
    bash "$root/deploy/pg.sh" start "$tmp/pg" "$pg_port" >/dev/null 2>"$tmp/pg.err" ||
        { cat "$tmp/pg.err" >&2; fail "deploy/pg.sh start"; }
    local db="host=127.0.0.1 port=$pg_port user=postgres dbname=postgres"

    say "hpo-server token create (admin; worker for study $study) in $server_image"
    install -d -o 10001 -g 10001 -m 0700 "$tmp/tokens"
    install -d -o 10001 -g 10001 -m 0750 "$tmp/artifacts"
    run hpo-ct-tokens -e HPO_DB="$db" -v "$tmp/tokens:/var/lib/hpo/tokens" \
        --entrypoint /bin/sh "$server_image" -c \
        "cd /var/lib/hpo/tokens && umask 077 &&
         hpo-server token create --scope admin --name ct-admin >admin.token &&
         hpo-server token create --scope worker --study $study --name ct-workers >worker.token &&
         hpo-server token create --scope worker --study drain --name ct-drain >drain.token"
    [[ $(exit_code hpo-ct-tokens 60) == 0 ]] || fail "hpo-server token create exited non-zero"
    [[ -s $tmp/tokens/admin.token && -s $tmp/tokens/worker.token ]] ||
        fail "the tokens were not written to the tokens volume"
    (umask 077 && printf 'Authorization: Bearer %s\n' "$(head -n1 "$tmp/tokens/admin.token")" \
        >"$tmp/admin.header")

    local port i
    port=$(free_port 18480)
    base=http://127.0.0.1:$port
    say "hpo-server in $server_image on $base"
    run hpo-ct-server -e HPO_DB="$db" -e HPO_LISTEN="127.0.0.1:$port" -e HPO_THREADS=8 \
        -e HPO_LOG_LEVEL=info -v "$tmp/artifacts:/var/lib/hpo/artifacts" \
        -v "$tmp/tokens:/var/lib/hpo/tokens:ro" "$server_image"
    for ((i = 0; ; i++)); do
        [[ $(curl -sS "$base/healthz" 2>/dev/null) == *ok* ]] && break
        [[ $(pm inspect -f '{{.State.Running}}' hpo-ct-server) == true ]] ||
            fail "the server container exited at start"
        ((i < 150)) || fail "$base/healthz did not answer ok within 30 s"
        sleep 0.2
    done

    say "study $study: minimize (x - 2)^2, random sampler, $trials trials"
    api POST /api/v1/studies "{\"name\": \"$study\", \"direction\": \"minimize\",
        \"sampler\": {\"type\": \"random\", \"seed\": 7},
        \"search_space\": {\"x\": {\"type\": \"float\", \"low\": -10, \"high\": 10}},
        \"max_trials\": $trials}" >/dev/null

    say "two workers in $worker_image (awk; python3 with hpo_client)"
    local wopts=(-e HPO_SERVER="$base" -e HPO_TOKEN_FILE=/var/lib/hpo/tokens/worker.token
                 -v "$tmp/tokens:/var/lib/hpo/tokens:ro" "$worker_image"
                 --study "$study" --gpus none)
    # each trial takes a second, so that both workers get some of the 8
    # shellcheck disable=SC2016 # $HPO_PARAM_X is the container's
    run hpo-ct-w1 "${wopts[@]}" --worker-id ct-w1 -- sh -c \
        'sleep 1; awk -v x="$HPO_PARAM_X" '\''BEGIN { printf "hpo: value=%.17g\n", (x - 2) ^ 2 }'\'
    run hpo-ct-w2 "${wopts[@]}" --worker-id ct-w2 -- python3 -c \
        'import os, time, hpo_client; time.sleep(1); x = float(os.environ["HPO_PARAM_X"]); print("hpo: value=%r" % ((x - 2) ** 2))'
    local w code
    for w in hpo-ct-w1 hpo-ct-w2; do
        code=$(exit_code "$w" 120)
        [[ $code == 0 ]] || fail "worker container $w exited $code"
    done

    say "checks"
    api GET "/api/v1/studies/$study/trials?limit=100" >"$tmp/trials.json"
    "$py" - "$tmp/trials.json" "$trials" <<'EOF' || fail "the study's trials (above)"
import json, sys
trials = json.load(open(sys.argv[1]))["trials"]
want = int(sys.argv[2])
states = sorted(t["state"] for t in trials)
workers = sorted({t.get("worker") for t in trials})
print(f"   {len(trials)} trials, states {states}, workers {workers}")
ok = states == ["complete"] * want and workers == ["ct-w1", "ct-w2"]
value = lambda t: t["value"] if "value" in t else t["values"][0]
ok = ok and all(abs(value(t) - (t["params"]["x"] - 2) ** 2) < 1e-9 for t in trials)
sys.exit(0 if ok else 1)
EOF

    prestop_drain

    say "podman stop hpo-ct-server (SIGTERM: drain, exit 0)"
    pm stop -t 30 hpo-ct-server >/dev/null || fail "podman stop hpo-ct-server"
    code=$(pm inspect -f '{{.State.ExitCode}}' hpo-ct-server)
    [[ $code == 0 ]] || fail "the server container exited $code on podman stop"
    pm logs hpo-ct-server 2>&1 | grep -q 'hpo-server stopped' ||
        fail "the server's log has no 'hpo-server stopped'"
}

main "$@"

#!/usr/bin/env bash
# systemd_run.sh: deploy/systemd's units run for real, under a real systemd as PID 1, from the
# Debian packages of deploy/debian/build-debs.sh. As root, from a build configured with
# --prefix=/usr (default: BUILD_DIR = build):
#
#   bash tests/deploy/systemd_run.sh [BUILD_DIR]
#
# About 75 s the first time on 2 cores (55 s of debootstrap), about 20 s again (the rootfs cached).
#
# 1. A Debian 12 rootfs with systemd and PostgreSQL: `debootstrap --variant=minbase
#    --include=systemd,systemd-sysv,dbus,postgresql,...` (from HPO_DEBIAN_MIRROR, default
#    http://deb.debian.org/debian) into HPO_SYSTEMD_ROOTFS_CACHE (default
#    /var/cache/hpo-test/systemd/rootfs-bookworm; kept, remade when the package list changes).
#    It is never written to: the container runs on an overlay with its upper layer on tmpfs.
# 2. `bash deploy/debian/build-debs.sh --build-dir BUILD_DIR` (after `ninja -C BUILD_DIR`).
# 3. `systemd-nspawn --boot --volatile=overlay` of the rootfs, sharing the host's network (the
#    host reaches the server on loopback), in a private mount namespace (nspawn's state in
#    /run/systemd on a tmpfs there) and in cgroups of its own (hpo-systemd-run.PID under the
#    machine's name=systemd and cgroup2 hierarchies, removed at the end). In it, with nsenter:
#    PostgreSQL on its Unix socket only, the role hpo with a password required (scram), the
#    database hpo; `dpkg -i` of hpo-server, hpo-worker and libhpoclient0; the password in
#    /etc/hpo/server.pgpass, HPO_LISTEN in /etc/hpo/server.env; the first admin token and two
#    worker tokens (hpo-server token create).
# 4. For real, with systemctl in the container:
#    - `systemctl start hpo-server`: its main process runs as the user hpo, /healthz answers ok
#      (so the database was reached with the password of the pgpass credential: the role hpo
#      cannot connect without it, which is checked), a study
#      "quadratic" (minimize (x - 2)^2, 6 trials) is created with the admin token;
#    - `systemctl start hpo-worker@test` (/etc/hpo/worker-test.env and worker-test.token, an awk
#      objective): runs as the dynamic user hpo-worker, completes the study (6 complete trials,
#      each value (x - 2)^2 of its x) and exits 0 (the unit ends inactive, Result=success);
#    - `systemctl start hpo-worker@x` on a study "drain" (retry on preempted) with a command that
#      sleeps, then `systemctl stop hpo-worker@x` mid-trial: the trial is handed back (failed,
#      preempted, a retry made) and the unit stops well within its TimeoutStopSec, status 0
#      (KillMode=mixed lets the worker stop its command itself; --requeue-on-exit);
#    - hpo-worker@x started again (it runs the retry) and, mid-trial, it and hpo-server stopped
#      in one transaction, as at shutdown (a target conflicting with both): the worker stops
#      first (its After=hpo-server.service) and hands its trial back to the server still up;
#      the server exits 0 (Result=success) within its TimeoutStopSec and its journal says
#      "hpo-server stopped". The server started again shows the retry failed, preempted; then
#      `systemctl stop hpo-server`, status 0.
# 5. On any exit (failure, Ctrl-C, meson's timeout): the container is powered off (killed if it
#    does not stop), its cgroups and the temporary directory removed; a failure prints the
#    units' journal and status. HPO_SYSTEMD_CLEAN=1 also removes the cached rootfs.
#
# Needs root, systemd-nspawn (Debian: systemd-container), debootstrap, nsenter and unshare
# (util-linux), flock, curl, python3, and what build-debs.sh needs (meson, dpkg-dev); a missing
# one fails the test (it installs nothing). Works where PID 1 is not systemd, with cgroup v1
# ("hybrid", as on this project's machines; a cgroup2-only host takes a branch not tried yet).
# The machine is left as it was: its mounts are untouched (all in the private namespace), nothing
# is written outside the cache, the temporary directory and the test's cgroups, which are removed.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
self=$root/tests/deploy/systemd_run.sh
cache=/var/cache/hpo-test/systemd
rootfs=${HPO_SYSTEMD_ROOTFS_CACHE:-$cache/rootfs-bookworm}
mirror=${HPO_DEBIAN_MIRROR:-http://deb.debian.org/debian}
clean=${HPO_SYSTEMD_CLEAN:-0}
build=${1:-build}
py=/usr/bin/python3
# the rootfs: systemd as init (with nss-systemd, which names dynamic users, as Debian's systemd
# recommends), PostgreSQL, the packages' dependencies (awk is mawk, in minbase), ps
include=systemd,systemd-sysv,libnss-systemd,dbus,postgresql,libjansson4,libmicrohttpd12,libcurl4,procps
study=quadratic
trials=6

fail() { echo "systemd_run.sh: FAIL: $*" >&2; exit 1; }
say() { printf '== [%4ss] %s\n' "$SECONDS" "$*"; }

# --- outside the namespace: preconditions, then the same script again in a private one ---------

if [[ ${_HPO_SYSTEMD_RUN_NS:-} != 1 ]]; then
    [[ $(id -u) -eq 0 ]] || fail "must run as root (systemd-nspawn, unshare -m, debootstrap)"
    for c in systemd-nspawn debootstrap unshare nsenter flock curl mountpoint ninja; do
        command -v "$c" >/dev/null || fail "$c is missing (Debian: apt-get install" \
            "systemd-container debootstrap util-linux curl ninja-build)"
    done
    [[ -x $py ]] || fail "$py is missing (apt-get install python3)"
    [[ $clean == 0 || $clean == 1 ]] || fail "HPO_SYSTEMD_CLEAN must be 0 or 1, not $clean"
    [[ -f $build/meson-info/intro-buildoptions.json ]] ||
        fail "$build is not a meson build directory (usage: systemd_run.sh [BUILD_DIR])"
    mkdir -p "$(dirname "$rootfs")"
    export _HPO_SYSTEMD_RUN_NS=1
    exec unshare --mount --propagation private -- bash "$self" "$(cd "$build" && pwd -P)"
fi

# --- inside the namespace ------------------------------------------------------------------------

tmp=""
nspawn_pid=""
leader=""
cgroups=() # the test's own cgroup directories, removed at the end
base=""

# ct CMD...: a command in the container (all its namespaces, its root), with a clean environment
ct() {
    timeout 120 nsenter --target "$leader" --mount --uts --ipc --net --pid --cgroup --root --wd \
        -- /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        LANG=C.UTF-8 SYSTEMD_PAGER=cat SYSTEMD_COLORS=0 "$@"
}

show_units() {
    local u
    [[ -n $leader ]] && kill -0 "$leader" 2>/dev/null || return 0
    for u in hpo-server hpo-worker@test hpo-worker@x; do
        echo "--- systemctl status $u; its journal's last lines:" >&2
        ct systemctl status --no-pager --lines=0 "$u" >&2 || true
        ct journalctl --no-pager -q -n 25 -u "$u" >&2 || true
    done
}

teardown() {
    local rc=$? i d pids
    trap - EXIT
    set +e
    ((rc == 0)) || show_units
    if [[ -n $nspawn_pid ]] && kill -0 "$nspawn_pid" 2>/dev/null; then
        kill -TERM "$nspawn_pid" # nspawn powers the container off (SIGRTMIN+4 to its systemd)
        for ((i = 0; i < 300; i++)); do
            kill -0 "$nspawn_pid" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$nspawn_pid" 2>/dev/null; then
            echo "systemd_run.sh: the container did not power off within 60 s; killing it" >&2
            tail -n 20 "$tmp/console.log" >&2
            kill -KILL "$nspawn_pid"
        fi
        wait "$nspawn_pid" 2>/dev/null
    fi
    # whatever is left in the test's cgroups (the container's PID 1 ends its PID namespace), then
    # the cgroups themselves (made by nspawn and the container's systemd under ours), deepest first
    for d in "${cgroups[@]}"; do
        echo $$ >"$(dirname "$d")/cgroup.procs"
    done
    for d in "${cgroups[@]}"; do
        [[ -d $d ]] || continue
        for ((i = 0; i < 50; i++)); do
            pids=$(find "$d" -name cgroup.procs -exec cat {} +)
            [[ -z $pids ]] && break
            # shellcheck disable=SC2086 # a list of process ids
            kill -KILL $pids 2>/dev/null
            sleep 0.2
        done
        find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
        [[ -d $d ]] && echo "systemd_run.sh: could not remove the cgroup $d" >&2
    done
    [[ -n $tmp ]] && rm -rf "$tmp"
    if [[ $clean == 1 ]]; then
        say "HPO_SYSTEMD_CLEAN=1: removing $rootfs"
        rm -rf "$rootfs" "$rootfs.partial"
    fi
    if [[ $rc -eq 0 ]]; then
        say "systemd_run.sh: ok ($SECONDS s)"
    else
        echo "systemd_run.sh: failed (exit $rc) after $SECONDS s" >&2
    fi
    exit "$rc"
}

rootfs_cached() {
    [[ -x $rootfs/lib/systemd/systemd && -f $rootfs/.hpo-include &&
        $(cat "$rootfs/.hpo-include") == "$include" ]]
}

make_rootfs() {
    if rootfs_cached; then
        say "rootfs: $rootfs (cached)"
        return
    fi
    say "debootstrap --variant=minbase --include=$include bookworm $rootfs ($mirror)"
    rm -rf "$rootfs.partial"
    debootstrap --variant=minbase --include="$include" bookworm "$rootfs.partial" "$mirror" \
        >"$tmp/debootstrap.log" 2>&1 ||
        { tail -n 20 "$tmp/debootstrap.log" >&2; fail "debootstrap (log above)"; }
    rm -f "$rootfs.partial"/var/cache/apt/archives/*.deb
    echo "$include" >"$rootfs.partial/.hpo-include"
    rm -rf "$rootfs"
    mv "$rootfs.partial" "$rootfs"
}

# Our own cgroup in each hierarchy systemd uses (name=systemd of cgroup v1, and cgroup2), so that
# what nspawn and the container's systemd make lies under it and is removed at the end.
own_cgroups() {
    local hs=() h d
    if mountpoint -q /sys/fs/cgroup/systemd; then # cgroup v1 (legacy or hybrid)
        hs+=(/sys/fs/cgroup/systemd)
        mountpoint -q /sys/fs/cgroup/unified && hs+=(/sys/fs/cgroup/unified)
    elif [[ $(stat -f -c %T /sys/fs/cgroup) == cgroup2fs ]]; then # cgroup v2 only
        hs+=(/sys/fs/cgroup)
    else
        fail "no name=systemd nor cgroup2 hierarchy under /sys/fs/cgroup"
    fi
    for h in "${hs[@]}"; do
        d=$h/hpo-systemd-run.$$
        mkdir "$d" || fail "mkdir $d"
        cgroups+=("$d")
        echo $$ >"$d/cgroup.procs" || fail "moving this shell into $d"
    done
}

main() {
    build=$1
    exec 9>"$cache.lock"
    flock -n 9 || fail "another systemd_run.sh holds $cache.lock"
    tmp=$(mktemp -d /tmp/hpo-systemd-run.XXXXXX)
    chmod 0755 "$tmp"
    trap teardown EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    # nspawn keeps its state under /run/systemd/nspawn: a tmpfs here, in the namespace only
    mkdir -p /run/systemd
    mount -t tmpfs -o mode=0755 tmpfs /run/systemd || fail "a tmpfs on /run/systemd"

    make_rootfs

    say "ninja -C $build; deploy/debian/build-debs.sh"
    ninja -C "$build" >"$tmp/ninja.log" 2>&1 || { tail -n 30 "$tmp/ninja.log" >&2; fail "ninja"; }
    mkdir -p "$tmp/share/debs"
    bash "$root/deploy/debian/build-debs.sh" --build-dir "$build" "$tmp/share/debs" \
        >"$tmp/debs.log" 2>&1 || { cat "$tmp/debs.log" >&2; fail "build-debs.sh"; }

    # what the container's test units run: the objective (awk) and a command that outlasts a stop
    cat >"$tmp/share/objective.sh" <<'EOF'
#!/bin/sh
sleep 1
exec awk -v x="$HPO_PARAM_X" 'BEGIN { printf "hpo: value=%.17g\n", (x - 2) ^ 2 }'
EOF
    cat >"$tmp/share/long.sh" <<'EOF'
#!/bin/sh
sleep 300
echo "hpo: value=1"
EOF
    chmod 0755 "$tmp/share/objective.sh" "$tmp/share/long.sh"

    local port
    port=41480
    while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
    base=http://127.0.0.1:$port

    own_cgroups
    say "systemd-nspawn --boot of $rootfs (volatile overlay, host network)"
    systemd-nspawn --quiet --directory="$rootfs" --volatile=overlay --boot --register=no \
        --keep-unit --console=pipe --machine="hpo-sysd-$$" --bind-ro="$tmp/share:/hpo-test" \
        </dev/null >"$tmp/console.log" 2>&1 &
    nspawn_pid=$!
    local i state
    for ((i = 0; ; i++)); do
        kill -0 "$nspawn_pid" 2>/dev/null ||
            { tail -n 30 "$tmp/console.log" >&2; fail "systemd-nspawn exited (its log above)"; }
        leader=$( (ps -o pid= --ppid "$nspawn_pid" || true) | head -n1 | tr -d ' ')
        [[ -n $leader && $(cat "/proc/$leader/comm" 2>/dev/null) == systemd ]] && break
        leader=""
        ((i < 300)) || { tail -n 30 "$tmp/console.log" >&2; fail "no systemd in 60 s"; }
        sleep 0.2
    done
    state=$(ct systemctl is-system-running --wait) || true
    [[ $state == running || $state == degraded ]] ||
        {
            tail -n 40 "$tmp/console.log" >&2
            fail "the container's systemd: '$state' (boot log above)"
        }
    [[ $state == running ]] || ct systemctl --no-pager --failed >&2 || true
    say "systemd $(ct systemctl --version | awk 'NR == 1 { print $2 }') is PID 1 ($state)"

    say "in the container: PostgreSQL (role hpo with a password), dpkg -i, /etc/hpo, tokens"
    ct /bin/bash -euo pipefail -s "$port" "$study" >"$tmp/setup.log" 2>&1 <<'EOF' ||
port=$1 study=$2
conf=$(echo /etc/postgresql/*/main)
[ -d "$conf" ] || { echo "no PostgreSQL cluster in /etc/postgresql"; exit 1; }
echo "listen_addresses = ''" >"$conf/conf.d/hpo-test.conf"
# the role hpo must give its password (so the server needs its pgpass credential)
sed -i '1i local hpo hpo scram-sha-256' "$conf/pg_hba.conf"
systemctl restart postgresql
pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE hpo LOGIN PASSWORD '$pw'" -c "CREATE DATABASE hpo OWNER hpo"
cd /hpo-test/debs
dpkg -i libhpoclient0_*.deb hpo-server_*.deb hpo-worker_*.deb
id hpo
if runuser -u hpo -- psql -w -d hpo -c 'SELECT 1' >/dev/null 2>&1; then
    echo "the role hpo connects without its password: the pgpass credential would go untested"
    exit 1
fi
[ -f /etc/hpo/server.pgpass ] || { echo "the package made no /etc/hpo/server.pgpass"; exit 1; }
printf '*:*:hpo:hpo:%s\n' "$pw" >/etc/hpo/server.pgpass
echo "HPO_LISTEN=127.0.0.1:$port" >>/etc/hpo/server.env
echo "HPO_THREADS=8" >>/etc/hpo/server.env
install -m 0755 /hpo-test/objective.sh /hpo-test/long.sh /usr/local/bin/
db="host=/run/postgresql dbname=hpo user=hpo"
umask 077
export PGPASSFILE=/etc/hpo/server.pgpass
mkdir -p /root/hpo
hpo-server token create --db "$db" --scope admin --name ops >/root/hpo/admin.token
hpo-server token create --db "$db" --scope worker --study "$study" --name w \
    >/etc/hpo/worker-test.token
hpo-server token create --db "$db" --scope worker --study drain --name x >/etc/hpo/worker-x.token
cat >/etc/hpo/worker-test.env <<EOT
HPO_SERVER=http://127.0.0.1:$port
HPO_STUDY=$study
HPO_GPUS=none
HPO_COMMAND=/usr/local/bin/objective.sh
HPO_WORKER_ARGS=--worker-id sd-test
EOT
cat >/etc/hpo/worker-x.env <<EOT
HPO_SERVER=http://127.0.0.1:$port
HPO_STUDY=drain
HPO_GPUS=none
HPO_GRACE_MS=5000
HPO_COMMAND=/usr/local/bin/long.sh
HPO_WORKER_ARGS=--worker-id sd-x
EOT
chmod 0644 /etc/hpo/worker-test.env /etc/hpo/worker-x.env
# stops the server and a worker in one transaction, as shutdown.target does (its Conflicts=):
# the stop jobs are then ordered by the units' After= (the reverse of starting)
cat >/etc/systemd/system/hpo-test-stop.target <<EOT
[Unit]
Description=hpo-server and hpo-worker@x stopped together, as at shutdown
Conflicts=hpo-server.service hpo-worker@x.service
After=hpo-server.service hpo-worker@x.service
EOT
systemctl daemon-reload
EOF
        { cat "$tmp/setup.log" >&2; fail "the setup in the container (its log above)"; }
    (umask 077 && printf 'Authorization: Bearer %s\n' \
        "$(ct head -n1 /root/hpo/admin.token)" >"$tmp/admin.header")

    say "systemctl start hpo-server"
    ct systemctl start hpo-server || fail "systemctl start hpo-server"
    wait_healthz
    local user
    user=$(main_user hpo-server)
    [[ $user == hpo ]] || fail "hpo-server runs as '$user', not hpo"
    say "   /healthz ok, main process as $user"

    say "study $study ($trials trials); systemctl start hpo-worker@test"
    api POST /api/v1/studies "{\"name\": \"$study\", \"direction\": \"minimize\",
        \"sampler\": {\"type\": \"random\", \"seed\": 7},
        \"search_space\": {\"x\": {\"type\": \"float\", \"low\": -10, \"high\": 10}},
        \"max_trials\": $trials}" >/dev/null
    ct systemctl start hpo-worker@test || fail "systemctl start hpo-worker@test"
    user=$(main_user hpo-worker@test)
    [[ $user == hpo-worker ]] || fail "hpo-worker@test runs as '$user', not the dynamic hpo-worker"
    say "   main process as $user (uid $(ct id -u hpo-worker 2>/dev/null || echo '?'))"
    for ((i = 0; ; i++)); do
        ct systemctl -q is-active hpo-worker@test || break
        ((i < 300)) || fail "hpo-worker@test still running after 60 s"
        sleep 0.2
    done
    [[ $(ct systemctl show -P Result hpo-worker@test) == success &&
        $(ct systemctl show -P ExecMainStatus hpo-worker@test) == 0 ]] ||
        fail "hpo-worker@test did not end with status 0 once the study was complete"
    api GET "/api/v1/studies/$study/trials?limit=100" >"$tmp/trials.json"
    "$py" - "$tmp/trials.json" "$trials" <<'EOF' || fail "the study's trials (above)"
import json, sys
trials = json.load(open(sys.argv[1]))["trials"]
want = int(sys.argv[2])
states = sorted(t["state"] for t in trials)
workers = sorted({t.get("worker") for t in trials})
print(f"   {len(trials)} trials, states {states}, workers {workers}")
ok = states == ["complete"] * want and workers == ["sd-test"]
value = lambda t: t["value"] if "value" in t else t["values"][0]
ok = ok and all(abs(value(t) - (t["params"]["x"] - 2) ** 2) < 1e-9 for t in trials)
sys.exit(0 if ok else 1)
EOF

    say "systemctl start hpo-worker@x (study drain), then stop it mid-trial"
    api POST /api/v1/studies '{"name": "drain", "direction": "minimize",
        "search_space": {"x": {"type": "float", "low": 0, "high": 1}}, "max_trials": 1,
        "retry": {"max_retries": 1, "on": ["preempted"]}}' >/dev/null
    ct systemctl start hpo-worker@x || fail "systemctl start hpo-worker@x"
    for ((i = 0; ; i++)); do
        api GET /api/v1/studies/drain/trials/0 2>/dev/null | grep -q '"state":"running"' && break
        ((i < 150)) || fail "the drain study's trial did not start within 30 s"
        sleep 0.2
    done
    local t0 dt in_trial
    t0=$SECONDS
    ct systemctl stop hpo-worker@x || fail "systemctl stop hpo-worker@x"
    dt=$((SECONDS - t0))
    ((dt < 30)) || fail "systemctl stop hpo-worker@x took $dt s"
    [[ $(ct systemctl show -P Result hpo-worker@x) == success ]] ||
        fail "hpo-worker@x: Result=$(ct systemctl show -P Result hpo-worker@x) on stop"
    api GET /api/v1/studies/drain/trials/0 >"$tmp/drained.json"
    "$py" - "$tmp/drained.json" <<'EOF' || fail "the drained trial (above)"
import json, sys
t = json.load(open(sys.argv[1]))
print(f"   trial 0: {t['state']}, preempted {t.get('preempted')}, retried_by {t.get('retried_by')}")
sys.exit(0 if t["state"] == "fail" and t.get("preempted") and t.get("retried_by") is not None
         else 1)
EOF
    say "   stopped in $dt s, Result=success"

    # both stopped in one transaction, as at shutdown (`systemctl stop A B` queues two, which run
    # at once): the worker (After=hpo-server.service) stops first and hands its trial back to a
    # server still up; then the server drains and exits 0
    say "hpo-worker@x again (the retry, mid-trial); both stopped as at shutdown"
    in_trial=$(api GET /api/v1/studies/drain/trials/0 | "$py" -c \
        'import json, sys; print(json.load(sys.stdin)["retried_by"])')
    ct systemctl start hpo-worker@x || fail "systemctl start hpo-worker@x (again)"
    for ((i = 0; ; i++)); do
        api GET "/api/v1/studies/drain/trials/$in_trial" 2>/dev/null |
            grep -q '"state":"running"' && break
        ((i < 150)) || fail "the drain study's retry (trial $in_trial) did not start within 30 s"
        sleep 0.2
    done
    t0=$SECONDS
    ct systemctl start hpo-test-stop.target ||
        fail "systemctl start hpo-test-stop.target (which stops hpo-server and hpo-worker@x)"
    dt=$((SECONDS - t0))
    local res code
    res=$(ct systemctl show -P Result hpo-server)
    code=$(ct systemctl show -P ExecMainStatus hpo-server)
    [[ $res == success && $code == 0 ]] ||
        fail "hpo-server stopped with Result=$res, status $code (expected success, 0)"
    ((dt < 45)) || fail "stopping hpo-server and hpo-worker@x took $dt s (TimeoutStopSec=45s)"
    ct journalctl --no-pager -q -u hpo-server | grep -q 'hpo-server stopped' ||
        fail "hpo-server's journal has no 'hpo-server stopped'"
    [[ $(ct systemctl show -P Result hpo-worker@x) == success ]] ||
        fail "hpo-worker@x: Result=$(ct systemctl show -P Result hpo-worker@x) on stop"
    say "   stopped in $dt s, the server with status 0"
    # the hand-back reached the server before it stopped: the trial is failed, preempted
    say "systemctl start hpo-server (again): the retry was handed back; stop"
    ct systemctl start hpo-server || fail "systemctl start hpo-server (again)"
    wait_healthz
    api GET "/api/v1/studies/drain/trials/$in_trial" >"$tmp/drained.json"
    "$py" - "$tmp/drained.json" <<'EOF2' || fail "the trial handed back at the stop (above)"
import json, sys
t = json.load(open(sys.argv[1]))
print(f"   trial {t.get('number', t.get('id'))}: {t['state']}, preempted {t.get('preempted')}")
sys.exit(0 if t["state"] == "fail" and t.get("preempted") else 1)
EOF2
    ct systemctl stop hpo-server || fail "systemctl stop hpo-server"
    [[ $(ct systemctl show -P ExecMainStatus hpo-server) == 0 ]] ||
        fail "hpo-server exited $(ct systemctl show -P ExecMainStatus hpo-server) on stop"
}

wait_healthz() {
    local i
    for ((i = 0; ; i++)); do
        [[ $(curl -sS "$base/healthz" 2>/dev/null) == *ok* ]] && break
        ct systemctl -q is-active hpo-server || fail "hpo-server.service is not active"
        ((i < 150)) || fail "$base/healthz did not answer ok within 30 s"
        sleep 0.2
    done
}

# main_user UNIT: the user its main process runs as
main_user() {
    local pid
    pid=$(ct systemctl show -P MainPID "$1")
    [[ -n $pid && $pid != 0 ]] || fail "$1 has no main process"
    ct ps -o user= -p "$pid" | tr -d ' '
}

# api METHOD PATH [BODY]: prints the body; fails unless the status is 2xx
api() {
    local args=(-sS -f -H "@$tmp/admin.header" -X "$1" "$base$2")
    [[ $# -lt 3 ]] || args+=(-H 'Content-Type: application/json' --data-binary "$3")
    curl "${args[@]}" || fail "$1 $2"
}

main "$@"

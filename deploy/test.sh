#!/usr/bin/env bash
# test.sh: the whole test run, as CI does it: installs the build dependencies, starts a private
# PostgreSQL, builds and runs every suite (unit, db, e2e), then a sanitizer build (ASan + UBSan)
# running them all again (the server and worker binaries of the e2e suite included), then a
# ThreadSanitizer build running the concurrency tests (16 concurrent ask loops in process and over
# HTTP, the reaper, the worker), and a short libFuzzer run of every fuzz target (tests/fuzz/run.sh;
# the full 10-minute runs are that script with its default). PostgreSQL is stopped whatever
# happens. Exit status 0 only if all passed.
#   bash deploy/test.sh            (as root on Debian 12, or as a user with sudo)
# Environment: HPO_TEST_PORT (first port tried for PostgreSQL, default 55432),
#              HPO_TEST_JOBS (parallel tests, default 2), HPO_TEST_NO_SAN=1 (skip the sanitizer
#              builds), HPO_TEST_FUZZ_SECONDS (per fuzz target, default 15; 0 skips).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)

log() { printf '\n=== %s\n' "$*" >&2; }

log "dependencies"
bash deploy/install-deps.sh --tests

jobs=${HPO_TEST_JOBS:-2}

# A port nobody listens on, from $1 upwards (HPO_TEST_PORT, default 55432, at most 100 further).
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
next_free_port() {
    local p=$1
    while ! port_free "$p"; do
        p=$((p + 1))
        if (( p > ${HPO_TEST_PORT:-55432} + 100 )); then
            echo "test.sh: no free port found" >&2
            exit 1
        fi
    done
    echo "$p"
}
port=$(next_free_port "${HPO_TEST_PORT:-55432}")

pgdir=$(mktemp -d /tmp/hpo-test-pg.XXXXXX)
cleanup() {
    local rc=$?
    bash "$repo/deploy/pg.sh" stop "$pgdir" || true
    rm -rf "$pgdir"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "PostgreSQL in $pgdir on port $port"
# Nobody listening is not enough: a connection of this machine may hold the port as its own local
# end (the ephemeral range covers it), and PostgreSQL cannot bind it then; the next one is tried.
for try in 1 2 3 4 5; do
    HPO_TEST_PG=$(bash deploy/pg.sh start "$pgdir" "$port") && break
    (( try < 5 )) || exit 1
    port=$(next_free_port $((port + 1)))
    log "PostgreSQL in $pgdir on port $port (another try)"
done
export HPO_TEST_PG
echo "HPO_TEST_PG=$HPO_TEST_PG" >&2

# meson setup, or reconfigure a build directory left by an earlier run (a broken one is wiped).
setup() {
    local dir=$1
    shift
    if [[ -f "$dir/meson-private/coredata.dat" ]]; then
        meson setup --reconfigure "$dir" "$@" || meson setup --wipe "$dir" "$@"
    else
        rm -rf "$dir"
        meson setup "$dir" "$@"
    fi
}

failed=()

# prefix /usr: the deploy suite builds the Debian packages from this build directory
log "build (build-test)"
if setup build-test -Dprefix=/usr && ninja -C build-test; then
    log "tests: unit, db, e2e"
    meson test -C build-test --print-errorlogs --num-processes "$jobs" || failed+=("tests")
else
    failed+=("build")
fi

if [[ "${HPO_TEST_NO_SAN:-0}" != 1 ]]; then
    log "sanitizer build (build-test-san: address, undefined)"
    export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
    export ASAN_OPTIONS=detect_leaks=1
    if setup build-test-san -Db_sanitize=address,undefined -Db_lundef=false &&
        ninja -C build-test-san; then
        log "sanitizer tests: unit, db, e2e"
        meson test -C build-test-san --print-errorlogs --num-processes "$jobs" \
            --timeout-multiplier 3 --no-suite deploy || failed+=("sanitizer tests")
    else
        failed+=("sanitizer build")
    fi

    # ThreadSanitizer: a report fails the run (a server or worker that reports exits 66, and
    # the log is searched for reports of children whose status no test checks).
    log "thread sanitizer build (build-test-tsan)"
    tsan_tests=(service service_core api cluster worker plots)
    if setup build-test-tsan -Db_sanitize=thread -Db_lundef=false &&
        ninja -C build-test-tsan server/hpo-server worker/hpo-worker tests/db/test_service tests/db/test_service_core \
            tests/e2e/test_api tests/e2e/test_cluster tests/e2e/test_plots tests/worker/test_worker_e2e; then
        log "thread sanitizer tests: ${tsan_tests[*]}"
        TSAN_OPTIONS=halt_on_error=0:second_deadlock_stack=1 \
            meson test -C build-test-tsan --no-rebuild --print-errorlogs --num-processes 1 \
            --timeout-multiplier 3 "${tsan_tests[@]}" || failed+=("thread sanitizer tests")
        # a report from a child that still exited 0 counts too
        if grep -q 'WARNING: ThreadSanitizer' build-test-tsan/meson-logs/testlog.txt; then
            failed+=("thread sanitizer reports")
        fi
    else
        failed+=("thread sanitizer build")
    fi
fi

fuzz_seconds=${HPO_TEST_FUZZ_SECONDS:-15}
if (( fuzz_seconds > 0 )); then
    log "fuzzing: ${fuzz_seconds} s per target (libFuzzer, ASan + UBSan)"
    bash tests/fuzz/run.sh "$fuzz_seconds" || failed+=("fuzzing")
fi

# One closing line over both runs: test programs that passed and failed (meson's testlog.json).
passed=0 bad=0
for dir in build-test build-test-san build-test-tsan; do
    f=$dir/meson-logs/testlog.json
    [[ -f $f ]] || continue
    passed=$((passed + $(grep -c '"result": "OK"' "$f" || true)))
    bad=$((bad + $(grep -v -c '"result": "OK"' "$f" || true)))
done
if [[ ${#failed[@]} -gt 0 ]]; then
    log "FAILED: ${failed[*]}"
    echo "$passed passed, $((bad > 0 ? bad : 1)) failed"
    exit 1
fi
log "all tests passed"
echo "$passed passed, $bad failed"

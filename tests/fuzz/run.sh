#!/usr/bin/env bash
# run.sh: fuzzes the tests/fuzz targets for real: builds them with clang's libFuzzer and ASan +
# UBSan, runs each in turn for SECONDS (default 600) seeded with its checked-in corpus, and prints
# per target the executions, exec/s, corpus size and findings (crashes, leaks, timeouts, OOMs).
#   bash tests/fuzz/run.sh [SECONDS] [TARGET...]     (targets: requests space routes lines client)
# Installs what it misses (clang, libFuzzer, the build dependencies) when run as root or with
# sudo on Debian. New inputs and findings go to a fresh folder under /tmp (printed at the end);
# the checked-in corpus is not changed. Exit status 1 when a target had a finding.
# Environment: HPO_FUZZ_BUILD (build folder, default build-fuzz-libfuzzer), HPO_FUZZ_JOBS (build
# jobs, default 2), HPO_FUZZ_OUT (output folder), HPO_FUZZ_ARGS (more libFuzzer flags).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
repo=$(pwd)
all_targets=(requests space routes lines client)

seconds=${1:-600}
[[ $# -gt 0 ]] && shift
if ! [[ $seconds =~ ^[0-9]+$ ]] || ((seconds < 1)); then
    echo "usage: run.sh [SECONDS] [TARGET...]   (targets: ${all_targets[*]})" >&2
    exit 2
fi
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
    if [[ ! -f tests/fuzz/fuzz_$t.c ]]; then
        echo "run.sh: no target '$t' (targets: ${all_targets[*]})" >&2
        exit 2
    fi
done

log() { printf '=== %s\n' "$*" >&2; }

# ---- what the build needs (only what is missing is installed) ----
installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}
install_missing() {
    local missing=() p
    for p in "$@"; do
        installed "$p" || missing+=("$p")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    command -v apt-get >/dev/null 2>&1 || {
        echo "run.sh: missing ${missing[*]} and no apt-get" >&2
        return 1
    }
    local sudo=()
    [[ $(id -u) -ne 0 ]] && sudo=(sudo)
    log "installing ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends "${missing[@]}" </dev/null >&2
}

# Whether clang links a libFuzzer target (its runtime is a package of its own on Debian).
libfuzzer_works() {
    local dir
    dir=$(mktemp -d)
    printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
        >"$dir/t.c"
    clang -fsanitize=fuzzer,address,undefined "$dir/t.c" -o "$dir/t" >/dev/null 2>&1
    local rc=$?
    rm -rf "$dir"
    return $rc
}

if command -v dpkg-query >/dev/null 2>&1; then
    install_missing clang meson ninja-build pkg-config libc6-dev libmicrohttpd-dev libjansson-dev \
        libpq-dev libcurl4-openssl-dev check
fi
command -v clang >/dev/null 2>&1 || { echo "run.sh: clang is needed" >&2; exit 1; }
if ! libfuzzer_works; then
    ver=$(clang --version | sed -n 's/.*clang version \([0-9][0-9]*\).*/\1/p' | head -n 1)
    install_missing "libclang-rt-$ver-dev" || true
    libfuzzer_works || { echo "run.sh: clang cannot link libFuzzer (libclang-rt-$ver-dev?)" >&2; exit 1; }
fi

# ---- the build: everything instrumented for coverage, the fuzz targets linked with libFuzzer ----
build=${HPO_FUZZ_BUILD:-build-fuzz-libfuzzer}
opts=(-Dfuzz_engine=libfuzzer -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=false
      "-Dc_args=['-fsanitize=fuzzer-no-link','-fno-sanitize-recover=all','-fno-omit-frame-pointer']")
# Runs a build step quietly; its output only when it fails.
quiet() {
    local output
    output=$("$@" 2>&1) || { printf '%s\n' "$output" >&2; return 1; }
}
log "build ($build, clang)"
if [[ -f $build/meson-private/coredata.dat ]]; then
    quiet env CC=clang meson setup --reconfigure "$build" "${opts[@]}" ||
        quiet env CC=clang meson setup --wipe "$build" "${opts[@]}"
else
    rm -rf "$build"
    quiet env CC=clang meson setup "$build" "${opts[@]}"
fi
quiet ninja -C "$build" -j "${HPO_FUZZ_JOBS:-2}" "${targets[@]/#/tests/fuzz/fuzz_}"

# ---- the runs ----
out=${HPO_FUZZ_OUT:-$(mktemp -d /tmp/hpo-fuzz.XXXXXX)}
mkdir -p "$out"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
read -r -a extra <<<"${HPO_FUZZ_ARGS:-}"

# A number of libFuzzer's closing statistics (-print_final_stats).
final_stat() { sed -n "s/^stat::$2: *//p" "$1" | tail -n 1 || true; }

declare -A dicts=([requests]=json [space]=json [client]=client [routes]=routes [lines]=lines)
results=()
found=0
for t in "${targets[@]}"; do
    dir=$out/$t
    mkdir -p "$dir/corpus" "$dir/findings"
    log "fuzz_$t for $seconds s (log: $dir/log)"
    rc=0
    "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 -timeout=25 \
        -artifact_prefix="$dir/findings/" -dict="tests/fuzz/dict/${dicts[$t]}.dict" \
        "${extra[@]}" "$dir/corpus" "tests/fuzz/corpus/$t" >"$dir/log" 2>&1 || rc=$?
    runs=$(final_stat "$dir/log" number_of_executed_units)
    speed=$(final_stat "$dir/log" average_exec_per_sec)
    corpus=$( (grep -o 'corp: [0-9]*' "$dir/log" || true) | tail -n 1 | cut -d' ' -f2)
    n_found=$(find "$dir/findings" -type f | wc -l)
    if ((rc != 0 && n_found == 0)); then
        n_found=1 # died without an artifact (a sanitizer report in the log)
    fi
    ((n_found > 0)) && found=1
    results+=("$(printf '%-9s %12s %9s %8s %9s' "$t" "${runs:-?}" "${speed:-?}" "${corpus:-?}" "$n_found")")
    for f in "$dir"/findings/*; do
        [[ -e $f ]] && echo "  finding: $f" >&2
    done
done

printf '\n%-9s %12s %9s %8s %9s\n' target executions exec/s corpus findings
printf '%s\n' "${results[@]}"
echo "output: $out (per target: log, corpus/ new inputs, findings/)"
exit "$found"

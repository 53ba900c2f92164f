# bench_lib.sh: shell helpers shared by the benchmark scripts (build, private PostgreSQL, hpo-server, RESULTS.md sections); sourced, not run.
#
# The caller sets BL_NAME (its name for log lines) before sourcing, and may set BENCH_BUILD (the
# build directory; default build-bench). Everything started here is stopped by bl_cleanup, which
# is installed as the EXIT trap. Before bl_start_server the caller may set BL_SERVER_ARGS (an
# array of extra hpo-server flags) and BL_LISTEN (default 127.0.0.1:0, a free port).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
BENCH=$ROOT/tests/bench
BUILD=${BENCH_BUILD:-$ROOT/build-bench}
[[ "$BUILD" == /* ]] || BUILD=$ROOT/$BUILD
PY=/usr/bin/python3

bl_log() { echo "${BL_NAME:-bench}: $*" >&2; }
bl_die() { bl_log "$*"; exit 1; }

TMP=""
SERVER_PID=""
CHILD_PID=""
PG_STARTED=""
bl_cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n "$CHILD_PID" ]] && kill -0 "$CHILD_PID" 2>/dev/null; then
        kill -TERM -- "-$CHILD_PID" 2>/dev/null || true
        sleep 0.5
        kill -KILL -- "-$CHILD_PID" 2>/dev/null || true
    fi
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ -n "$TMP" ]]; then
        [[ -n "$PG_STARTED" ]] && { "$ROOT/deploy/pg.sh" stop "$TMP/pg" >/dev/null 2>&1 || true; }
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap bl_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

TMP=$(mktemp -d /tmp/hpo-tpe-bench.XXXXXX)
chmod 0755 "$TMP"

# Optuna 3.1 (Debian's python3-optuna) and, with "pg", its PostgreSQL driver.
bl_need_optuna() {
    local mods='import optuna'
    [[ "${1:-}" == pg ]] && mods='import optuna, psycopg2, sqlalchemy'
    if ! "$PY" -c "$mods" 2>/dev/null; then
        [[ $(id -u) -eq 0 ]] || bl_die "python3-optuna (and python3-psycopg2, python3-sqlalchemy) are missing"
        bl_log "installing python3-optuna python3-psycopg2 python3-sqlalchemy"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-optuna python3-psycopg2 python3-sqlalchemy >&2
    fi
    OPTUNA_VERSION=$("$PY" -c 'import optuna; print(optuna.__version__)')
    export OPTUNA_VERSION
}

# Builds the given ninja targets (e.g. server/hpo-server tests/bench/bench_tpe_cost).
bl_build() {
    if [[ ! -f "$BUILD/build.ninja" ]]; then
        bl_log "meson setup $BUILD"
        meson setup "$BUILD" "$ROOT" >&2
    fi
    ninja -C "$BUILD" "$@" >&2 || bl_die "the build failed (ninja -C $BUILD $*)"
}

# A free loopback port, never 5500 or 5511 (other people's PostgreSQL on shared machines).
bl_free_port() {
    "$PY" -c '
import socket
while True:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    if p not in (5500, 5511):
        print(p); break'
}

# Starts a private PostgreSQL with databases hpo and optuna; sets PG_CONN, HPO_DB, OPTUNA_URL.
bl_start_pg() {
    command -v psql >/dev/null || bl_die "psql not found (install postgresql-client)"
    local port
    port=$(bl_free_port)
    bl_log "starting PostgreSQL in $TMP/pg on port $port"
    PG_STARTED=1
    PG_CONN=$("$ROOT/deploy/pg.sh" start "$TMP/pg" "$port")
    psql "$PG_CONN" -qX -v ON_ERROR_STOP=1 -c 'CREATE DATABASE hpo' -c 'CREATE DATABASE optuna' >&2
    HPO_DB="host=$TMP/pg port=$port user=postgres dbname=hpo"
    OPTUNA_URL="postgresql+psycopg2://postgres@/optuna?host=$TMP/pg&port=$port"
    PG_VERSION=$(psql "$PG_CONN" -qAtX -c 'SHOW server_version')
    export PG_VERSION
}

# bl_token FILE SCOPE [ARGS...]: a new token (hpo-server token create --scope SCOPE ARGS...) into the
# 0600 file FILE, from hpo-server's stdout straight to the file: never on a command line.
bl_token() {
    local file=$1 out
    shift
    out=$("$BUILD/server/hpo-server" token create --db "$HPO_DB" --scope "$@") \
        || bl_die "hpo-server token create --scope $1 failed"
    (umask 077 && printf '%s\n' "${out%%$'\n'*}" >"$file")
}

# The benches' admin token (auth is on), made before the server starts: $TMP/admin.token, and
# $TMP/admin.header for curl (CURL_AUTH=(-H @FILE)); exported as HPO_TOKEN for the bench clients
# (bench_client, bench_tpe_http, worker_probe, the Python scripts), which read the environment.
bl_admin_token() {
    bl_token "$TMP/admin.token" admin --name bench
    (umask 077 && printf 'Authorization: Bearer %s\n' "$(head -n1 "$TMP/admin.token")" >"$TMP/admin.header")
    HPO_TOKEN=$(head -n1 "$TMP/admin.token")
    export HPO_TOKEN
    unset HPO_TOKEN_FILE # the clients refuse a token and a token file together
    CURL_AUTH=(-H "@$TMP/admin.header")
}

# Starts hpo-server (its default --threads, then BL_SERVER_ARGS) on BL_LISTEN (a free loopback port by
# default), its artifacts in $TMP/artifacts (removed with $TMP on exit, never ./hpo-artifacts),
# after bl_admin_token; sets URL, and BL_SERVER_T0 (the wall clock in ns just before the start).
BL_SERVER_ARGS=()
bl_start_server() {
    local server=$BUILD/server/hpo-server line
    [[ -x "$server" ]] || bl_die "no $server"
    bl_admin_token
    bl_log "starting hpo-server${BL_SERVER_ARGS[*]:+ (${BL_SERVER_ARGS[*]})}"
    mkdir -p "$TMP/artifacts"
    BL_SERVER_T0=$(date +%s%N)
    "$server" --db "$HPO_DB" --listen "${BL_LISTEN:-127.0.0.1:0}" \
        --artifact-dir "$TMP/artifacts" "${BL_SERVER_ARGS[@]}" \
        >"$TMP/server.out" 2>"$TMP/server.log" &
    SERVER_PID=$!
    URL=""
    for _ in $(seq 300); do
        if line=$(grep -m1 '^listening on ' "$TMP/server.out" 2>/dev/null); then
            URL="http://${line#listening on }"
            break
        fi
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server.log" >&2; bl_die "hpo-server exited"; }
        sleep 0.1
    done
    [[ -n "$URL" ]] || { cat "$TMP/server.log" >&2; bl_die "hpo-server did not report listening"; }
    bl_log "hpo-server at $URL"
}

# Stops hpo-server (SIGTERM, then SIGKILL after 5 s).
bl_stop_server() {
    [[ -n "$SERVER_PID" ]] || return 0
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

# bl_fill TEMPLATE PATTERN N IVS: N more complete trials in every study whose name is LIKE
# PATTERN, numbered after its last trial, written in PostgreSQL directly (INSERT ... SELECT FROM
# generate_series: 100,000 trials in seconds) while hpo-server is stopped. Each row is shaped like
# trial 0 of the study TEMPLATE (made through the API; float params only): its params' names,
# distribution JSON and positions, values uniform in [low, high]; objective = sum of squares;
# IVS intermediate values, at step s value · (1 + 0.1 · (IVS − 1 − s)). Written for the schema of
# server/store/hpo_migrations.c version 5 and later (it warns on an older one).
bl_fill() {
    local schema
    schema=$(psql "$HPO_DB" -qAtX -c 'SELECT max(version) FROM hpo_schema_version')
    (( schema >= 5 )) || bl_log "warning: the database schema is version $schema; bl_fill was written for version 5 and later"
    psql "$HPO_DB" -qX -v ON_ERROR_STOP=1 -v tpl="$1" -v pattern="$2" -v n="$3" -v ivs="$4" >&2 <<'SQL'
BEGIN;
CREATE TEMP TABLE tpl AS
  SELECT p.name, p.distribution, p.position,
         (p.distribution::json->>'low')::float8 AS lo, (p.distribution::json->>'high')::float8 AS hi
  FROM trial_params p JOIN trials t ON t.id = p.trial_id JOIN studies s ON s.id = t.study_id
  WHERE s.name = :'tpl' AND t.number = 0;
CREATE TEMP TABLE tgt AS
  SELECT s.id AS sid, (SELECT coalesce(max(t.number) + 1, 0) FROM trials t WHERE t.study_id = s.id) AS b
  FROM studies s WHERE s.name LIKE :'pattern';
INSERT INTO trials (study_id, number, state, worker, created_at, started_at, finished_at)
  SELECT tgt.sid, tgt.b + g, 'complete', 'bench-sql', now(), now(), now()
  FROM tgt, generate_series(0, :n - 1) g;
CREATE TEMP TABLE newt AS
  SELECT t.id FROM trials t JOIN tgt ON t.study_id = tgt.sid WHERE t.number >= tgt.b;
INSERT INTO trial_params (trial_id, name, distribution, value, position)
  SELECT newt.id, tpl.name, tpl.distribution, tpl.lo + random() * (tpl.hi - tpl.lo), tpl.position
  FROM newt, tpl;
INSERT INTO trial_values (trial_id, objective, value)
  SELECT p.trial_id, 0, sum(p.value * p.value)
  FROM trial_params p JOIN newt ON newt.id = p.trial_id GROUP BY p.trial_id;
INSERT INTO trial_intermediate_values (trial_id, step, value)
  SELECT v.trial_id, g, v.value * (1 + 0.1 * (:ivs - 1 - g))
  FROM trial_values v JOIN newt ON newt.id = v.trial_id, generate_series(0, :ivs - 1) g;
COMMIT;
SQL
}

# Runs a command as its own process group (so cleanup can stop it and its children) with stdout
# to the file $1; stderr passes through.
bl_child() {
    local out=$1
    shift
    setsid -w "$@" >"$out" &
    CHILD_PID=$!
    local rc=0
    wait "$CHILD_PID" || rc=$?
    CHILD_PID=""
    return "$rc"
}

# The machine line of a section.
bl_machine() {
    echo "$(date -u '+%Y-%m-%d %H:%M UTC') · \`uname -m\` $(uname -m) · \`nproc\` $(nproc)"
}

# The 1-minute load average (other work on the machine skews every number: the sections say it).
bl_loadavg() {
    cut -d' ' -f1 /proc/loadavg
}

# Puts the markdown file $2 into tests/bench/RESULTS.md as the section named $1 (between
# <!-- begin $1 --> and <!-- end $1 -->): replaced where it is, appended otherwise. Every other
# section (the throughput one included) is kept.
bl_write_section() {
    "$PY" - "$BENCH/RESULTS.md" "$1" "$2" <<'PYEOF'
import os, sys
path, name, src = sys.argv[1:4]
body = open(src).read().rstrip("\n")
begin, end = f"<!-- begin {name} -->", f"<!-- end {name} -->"
block = f"{begin}\n{body}\n{end}"
old = open(path).read() if os.path.exists(path) else ""
i, j = old.find(begin), old.find(end)
if i >= 0 and j > i:
    new = old[:i] + block + old[j + len(end):]
else:
    new = (old.rstrip("\n") + "\n\n" if old.strip() else "") + block + "\n"
tmp = path + ".tmp"
open(tmp, "w").write(new)
os.replace(tmp, path)
PYEOF
    bl_log "wrote section '$1' of $BENCH/RESULTS.md"
}

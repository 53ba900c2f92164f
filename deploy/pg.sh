#!/usr/bin/env bash
# pg.sh: a private, throw-away PostgreSQL cluster in one directory, for tests and the quick start.
#   deploy/pg.sh start DIR PORT   create (if needed) and start; prints the libpq conninfo on stdout
#   deploy/pg.sh stop DIR         stop it (fast mode); a no-op when it is not running
#   deploy/pg.sh status DIR       exit 0 when it is running
# DIR holds the data directory (DIR/data), the Unix socket and the log (DIR/log). Run as root, the
# cluster belongs to the postgres user, so DIR and every directory above it must be traversable by
# postgres: use a directory under /tmp. Everything but the conninfo goes to stderr.
set -euo pipefail

die() { echo "pg.sh: $*" >&2; exit 1; }
note() { echo "pg.sh: $*" >&2; }

usage() {
    echo "usage: $0 start DIR PORT | stop DIR | status DIR" >&2
    exit 2
}

# The PostgreSQL server binaries: $PG_BINDIR, else the newest /usr/lib/postgresql/*/bin, else PATH.
find_bindir() {
    if [[ -n "${PG_BINDIR:-}" ]]; then
        [[ -x "$PG_BINDIR/pg_ctl" ]] || die "PG_BINDIR=$PG_BINDIR has no pg_ctl"
        echo "$PG_BINDIR"
        return
    fi
    local best
    best=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    if [[ -n "$best" && -x "$best/pg_ctl" ]]; then
        echo "$best"
        return
    fi
    command -v pg_ctl >/dev/null 2>&1 || die "no PostgreSQL server binaries found (install the postgresql package)"
    dirname "$(command -v pg_ctl)"
}

# Runs a command as the owner of the cluster: postgres when we are root, else ourselves.
# cd / first so postgres is not left in a directory it cannot read (e.g. /root).
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

absdir() { (cd "$1" && pwd -P); }

cmd_start() {
    local dir=$1 port=$2
    if ! [[ "$port" =~ ^[0-9]+$ ]] || (( port < 1 || port > 65535 )); then
        die "bad port: $port"
    fi
    local bindir
    bindir=$(find_bindir)

    mkdir -p "$dir"
    dir=$(absdir "$dir")
    # A Unix socket path is limited to 107 bytes: DIR/.s.PGSQL.PORT must fit.
    (( ${#dir} + 18 <= 107 )) || die "DIR path too long for a Unix socket: $dir"

    if [[ $(id -u) -eq 0 ]]; then
        getent passwd postgres >/dev/null || die "no postgres user (install the postgresql package)"
        chown postgres: "$dir"
        chmod 0755 "$dir"
        runuser -u postgres -- test -x "$dir" -a -w "$dir" \
            || die "$dir is not reachable by the postgres user (a parent directory is not traversable); use a directory under /tmp"
    fi

    local data=$dir/data
    if [[ ! -f "$data/PG_VERSION" ]]; then
        note "creating a cluster in $data"
        as_owner "$bindir/initdb" -D "$data" -U postgres --auth=trust --no-locale -E UTF8 \
            >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
        # The settings live in one included file, rewritten at every start (the port may change).
        echo "include_if_exists = 'hpo.conf'" | as_owner tee -a "$data/postgresql.conf" >/dev/null
    fi

    # trust applies to local sockets and loopback only (initdb's pg_hba.conf); listen on 127.0.0.1.
    as_owner tee "$data/hpo.conf" >/dev/null <<EOF
# written by deploy/pg.sh at every start
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
fsync = on
logging_collector = off
EOF

    if as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        note "already running in $dir"
    else
        if ! as_owner "$bindir/pg_ctl" -D "$data" -l "$dir/log" -w -t 60 start >/dev/null; then
            tail -n 30 "$dir/log" >&2 || true
            die "PostgreSQL did not start (is port $port taken?)"
        fi
    fi

    # pg_ctl -w waits for the postmaster; also wait until it accepts connections on this port.
    local i
    for ((i = 0; i < 60; i++)); do
        if "$bindir/pg_isready" -q -h "$dir" -p "$port" -U postgres -d postgres; then
            echo "host=$dir port=$port user=postgres dbname=postgres"
            return 0
        fi
        sleep 0.5
    done
    tail -n 30 "$dir/log" >&2 || true
    die "PostgreSQL in $dir is not accepting connections on port $port"
}

cmd_stop() {
    local dir=$1
    [[ -d "$dir" ]] || { note "$dir does not exist; nothing to stop"; return 0; }
    dir=$(absdir "$dir")
    local data=$dir/data
    [[ -f "$data/PG_VERSION" ]] || { note "no cluster in $dir; nothing to stop"; return 0; }
    local bindir
    bindir=$(find_bindir)
    if as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        as_owner "$bindir/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
        note "stopped $dir"
    else
        note "not running in $dir"
    fi
}

cmd_status() {
    local dir=$1
    [[ -f "$dir/data/PG_VERSION" ]] || return 1
    local bindir
    bindir=$(find_bindir)
    as_owner "$bindir/pg_ctl" -D "$(absdir "$dir")/data" status >&2
}

case "${1:-}" in
start) [[ $# -eq 3 ]] || usage; cmd_start "$2" "$3" ;;
stop) [[ $# -eq 2 ]] || usage; cmd_stop "$2" ;;
status) [[ $# -eq 2 ]] || usage; cmd_status "$2" ;;
*) usage ;;
esac

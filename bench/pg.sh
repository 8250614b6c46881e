#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server in a directory you own, for CI and benchmarks.
#
#   bench/pg.sh start DIR [DBNAME]   init + start a server under DIR, create DBNAME (default
#                                    shebao), print its DATABASE_URL on stdout
#   bench/pg.sh stop DIR             stop the server started under DIR (the caller removes DIR)
#
# Used by .ci/run and by bench/pgserver.py (temporary_postgres()). DIR must exist and be empty;
# it gets data/ (the cluster), sock/ (the unix socket), postgres.log and port.
# The server runs as the `postgres` user when we are root (initdb refuses root), through
# `runuser`, with the binaries of Debian's postgresql-15 (`pg_config --bindir`); as any other user
# it runs as that user. It listens on a free port of 127.0.0.1 only, with `trust` authentication
# and without durability (fsync, synchronous_commit, full_page_writes off): tests and benchmarks
# only, never data you want to keep.
set -euo pipefail

PG_MAJOR=15
log() { printf '\033[1;35m[pg]\033[0m %s\n' "$*" >&2; }
die() {
    log "$*"
    exit 1
}

ensure_server_binaries() {
    # Install Debian's postgresql-15 when its server binaries are missing.
    if [ ! -x "/usr/lib/postgresql/$PG_MAJOR/bin/initdb" ]; then
        log "installing Debian package postgresql-$PG_MAJOR"
        local sudo=""
        [ "$(id -u)" -ne 0 ] && sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
            "postgresql-$PG_MAJOR" >/dev/null
    fi
    # The version-specific pg_config, so a newer postgresql-NN installed beside it cannot win.
    local pg_config="/usr/lib/postgresql/$PG_MAJOR/bin/pg_config"
    [ -x "$pg_config" ] || pg_config=pg_config
    PGBIN=$("$pg_config" --bindir)
    "$PGBIN/postgres" --version | grep -q " $PG_MAJOR\." ||
        die "$PGBIN/postgres is not PostgreSQL $PG_MAJOR"
}

as_owner() {
    # Run a server binary as the cluster's owner: `postgres` when we are root, else ourselves.
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
    local dir dbname=$2
    [ -d "$1" ] || die "no such directory: $1"
    dir=$(cd "$1" && pwd)
    [ -z "$(ls -A "$dir")" ] || die "$dir is not empty"
    ensure_server_binaries
    mkdir -p "$dir/sock"
    if [ "$(id -u)" -eq 0 ]; then chown -R postgres:postgres "$dir"; fi
    cd "$dir" # the postgres user may not be able to read the caller's working directory

    as_owner "$PGBIN/initdb" --pgdata="$dir/data" --username=postgres --auth=trust \
        --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 ||
        die "initdb failed: $(cat "$dir/initdb.log")"

    # A free port can be taken between choosing it and binding it: try a few.
    local port attempt
    for attempt in 1 2 3; do
        port=$(free_port)
        if as_owner "$PGBIN/pg_ctl" --pgdata="$dir/data" --log="$dir/postgres.log" --wait \
            --timeout=60 start --options="-c listen_addresses=127.0.0.1 -c port=$port \
                -c unix_socket_directories=$dir/sock -c fsync=off -c synchronous_commit=off \
                -c full_page_writes=off" >/dev/null; then
            echo "$port" >"$dir/port"
            as_owner "$PGBIN/createdb" --host="$dir/sock" --port="$port" --username=postgres \
                "$dbname"
            log "PostgreSQL $PG_MAJOR on 127.0.0.1:$port (data in $dir/data)"
            echo "postgres://postgres@127.0.0.1:$port/$dbname"
            return 0
        fi
        log "start on port $port failed (attempt $attempt); log:"
        tail -n 20 "$dir/postgres.log" >&2 || true
    done
    die "could not start PostgreSQL"
}

stop() {
    local dir
    dir=$(cd "$1" && pwd)
    [ -f "$dir/data/postmaster.pid" ] || return 0 # never started, or already stopped
    ensure_server_binaries
    cd "$dir"
    as_owner "$PGBIN/pg_ctl" --pgdata="$dir/data" --mode=fast --wait --timeout=60 stop >/dev/null
    log "PostgreSQL on 127.0.0.1:$(cat "$dir/port" 2>/dev/null || echo '?') stopped"
}

usage() {
    sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

case "${1:-}" in
start)
    [ $# -ge 2 ] || usage
    start "$2" "${3:-shebao}"
    ;;
stop)
    [ $# -eq 2 ] || usage
    stop "$2"
    ;;
*) usage ;;
esac

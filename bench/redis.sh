#!/usr/bin/env bash
# A throwaway Redis server in a directory you own, for ./dev serve, ./dev test, ./dev bench and CI.
#
#   bench/redis.sh start DIR   start a server under DIR, print its REDIS_URL on stdout
#   bench/redis.sh stop DIR    stop the server started under DIR (the caller removes DIR)
#
# DIR is created when missing; it gets redis.pid, redis.log and port. The server is Debian's
# redis-server (installed when missing), listening on a free port of 127.0.0.1 only, without
# persistence (no RDB snapshots, no append-only file): rate-limit counters and progress figures
# only, never data you want to keep. 64 databases, so callers may give each a number of its own.
set -euo pipefail

log() { printf '\033[1;31m[redis]\033[0m %s\n' "$*" >&2; }
die() {
    log "$*"
    exit 1
}

ensure_server() {
    command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 && return 0
    log "installing Debian package redis-server"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        redis-server >/dev/null
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

running() { # running DIR: the server of DIR is alive
    [ -f "$1/redis.pid" ] && kill -0 "$(cat "$1/redis.pid")" 2>/dev/null
}

start() {
    local dir
    mkdir -p "$1"
    dir=$(cd "$1" && pwd)
    running "$dir" && die "a server started under $dir is still running"
    ensure_server
    # A free port can be taken between choosing it and binding it: try a few.
    local port attempt i
    for attempt in 1 2 3; do
        port=$(free_port)
        rm -f "$dir/redis.pid"
        if redis-server --bind 127.0.0.1 --port "$port" --protected-mode yes \
            --save "" --appendonly no --databases 64 --daemonize yes \
            --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >/dev/null; then
            for i in $(seq 1 100); do
                if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
                    echo "$port" >"$dir/port"
                    log "Redis on 127.0.0.1:$port (log in $dir/redis.log)"
                    echo "redis://127.0.0.1:$port/0"
                    return 0
                fi
                sleep 0.05
            done
        fi
        log "start on port $port failed (attempt $attempt); log:"
        tail -n 20 "$dir/redis.log" >&2 2>/dev/null || true
        stop "$dir" || true
    done
    die "could not start Redis"
}

stop() {
    local dir pid i
    [ -d "$1" ] || return 0
    dir=$(cd "$1" && pwd)
    running "$dir" || return 0 # never started, or already stopped
    pid=$(cat "$dir/redis.pid")
    kill "$pid"
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    rm -f "$dir/redis.pid"
    log "Redis on 127.0.0.1:$(cat "$dir/port" 2>/dev/null || echo '?') stopped"
}

usage() {
    sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

case "${1:-}" in
start)
    [ $# -eq 2 ] || usage
    start "$2"
    ;;
stop)
    [ $# -eq 2 ] || usage
    stop "$2"
    ;;
*) usage ;;
esac

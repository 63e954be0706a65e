# Shared shell functions: a private PostgreSQL cluster for run.sh, test.sh and
# the benchmarks. Source it; it defines functions only.
#
#   sf_pg_start DIR PORT   initialise DIR (if new) and start a server on
#                          127.0.0.1:PORT with its socket in DIR; exports
#                          DATABASE_URL (database "signalforge", user
#                          "signalforge", trust auth on loopback only).
#   sf_pg_stop DIR         stop it (fast shutdown); safe to call twice.
#   sf_free_port           print a TCP port nobody listens on.
#   sf_pg_start_any DIR    sf_pg_start on a free port, trying another port
#                          if the chosen one is taken meanwhile.
#
# As root, the cluster runs as the "postgres" OS user (PostgreSQL refuses root).

sf_pg_bindir() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$d" ] || { echo "PostgreSQL server binaries not found under /usr/lib/postgresql" >&2; return 1; }
    echo "$d"
}

sf_pg_as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

sf_free_port() {
    # Below Linux's ephemeral range (32768-60999), so no outgoing connection
    # can be holding the port as its local end.
    local p
    for _ in $(seq 1 200); do
        p=$(( 20000 + RANDOM % 12000 ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
    done
    echo "no free port found" >&2; return 1
}

sf_pg_start() {
    local dir=$1 port=$2 bin
    bin=$(sf_pg_bindir) || return 1
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then
        chown postgres: "$dir"
        chmod 700 "$dir"
        if ! runuser -u postgres -- test -x "$dir"; then
            echo "the postgres OS user cannot reach $dir (a parent folder is private); set DATABASE_URL or move the checkout" >&2
            return 1
        fi
    fi
    if [ ! -f "$dir/PG_VERSION" ]; then
        sf_pg_as_owner "$bin/initdb" -D "$dir" -U signalforge --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/../initdb.log" 2>&1 \
            || sf_pg_as_owner "$bin/initdb" -D "$dir" -U signalforge --auth=trust -E UTF8 --no-locale >"$dir/../initdb.log" 2>&1 \
            || { cat "$dir/../initdb.log" >&2; return 1; }
    fi
    if sf_pg_as_owner "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
        :  # already running (a previous run's cluster): reuse it
    else
        sf_pg_as_owner "$bin/pg_ctl" -D "$dir" -w -t 60 -l "$dir/server.log" \
            -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=200 -c fsync=on" \
            start >/dev/null || { tail -n 20 "$dir/server.log" >&2; return 1; }
    fi
    if ! sf_pg_as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U signalforge -d postgres -Atqc \
        "SELECT 1 FROM pg_database WHERE datname = 'signalforge'" | grep -q 1; then
        sf_pg_as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U signalforge signalforge || return 1
    fi
    export DATABASE_URL="postgres://signalforge@127.0.0.1:$port/signalforge"
}

sf_pg_stop() {
    local dir=$1 bin
    bin=$(sf_pg_bindir) || return 0
    [ -f "$dir/postmaster.pid" ] || return 0
    sf_pg_as_owner "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
}

sf_pg_start_any() {
    local dir=$1 attempt
    for attempt in 1 2 3 4 5; do
        sf_pg_start "$dir" "$(sf_free_port)" && return 0
        echo "PostgreSQL did not start (attempt $attempt); trying another port" >&2
    done
    return 1
}

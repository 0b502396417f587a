#!/bin/sh
# Runs CMD [ARGS...] against a throwaway PostgreSQL 15 cluster and removes
# the cluster afterwards, whatever happens (exit, failure, signal).
#
#   sh tests/pg_cluster.sh CMD [ARGS...]
#
# CMD sees:
#   PQ3_PG_CONNINFO  "host=SOCKDIR port=PORT user=test dbname=pq3test"
#   PQ3_PG_DIR       the cluster's temporary directory (data/, log, socket)
#   PQ3_PG_PORT      its port
#   PQ3_PG_CTL       a command: "$PQ3_PG_CTL stop|start|kill" (kill: SIGKILL
#                    of the postmaster and its processes, a crash; start
#                    then runs crash recovery)
# Settings:
#   PQ3_PG_DURABLE=1 keep PostgreSQL's durable defaults (fsync and
#                    synchronous_commit on); otherwise fsync=off for speed
#   PQ3_PG_TCP=1     also listen on 127.0.0.1:PORT (default: socket only)
#
# Exit status: CMD's; 77 (skipped) when PostgreSQL 15 is not installed;
# 1 when the cluster cannot be started. As root the server runs as the
# postgres user (initdb refuses root); otherwise as the current user.
set -u

BIN=${PQ3_PG_BIN:-/usr/lib/postgresql/15/bin}

if [ $# -eq 0 ]; then
    echo "usage: sh pg_cluster.sh CMD [ARGS...]" >&2
    exit 2
fi
if [ ! -x "$BIN/initdb" ] || [ ! -x "$BIN/pg_ctl" ]; then
    msg="SKIPPED: PostgreSQL 15 not installed ($BIN/initdb)"
    echo "$msg"
    echo "$msg" >&2
    exit 77
fi

if [ "$(id -u)" -eq 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
        echo "pg_cluster.sh: running as root but there is no postgres user" >&2
        exit 1
    fi
    AS="runuser -u postgres --"
else
    AS=""
fi

# The directory holds the data, the log and the socket; the socket's path
# must stay under ~100 bytes, so a long TMPDIR falls back to /tmp.
D=""
for base in "${TMPDIR:-/tmp}" /tmp; do
    [ ${#base} -le 60 ] || continue
    D=$(mktemp -d "$base/pq3pg.XXXXXX" 2>/dev/null) || continue
    if [ -n "$AS" ]; then
        chown postgres: "$D" && $AS test -w "$D" && break
        rmdir "$D"
        D=""
        continue
    fi
    break
done
if [ -z "$D" ]; then
    echo "pg_cluster.sh: cannot make a temporary directory" >&2
    exit 1
fi

child=""
cleanup() {
    rc=$?
    trap - EXIT INT TERM HUP
    if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
        kill -TERM "$child" 2>/dev/null
        wait "$child" 2>/dev/null
    fi
    if [ -f "$D/ctl" ]; then
        sh "$D/ctl" halt
    fi
    rm -rf "$D"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

random_port() {
    n=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
    echo $((20000 + n % 40000))
}

port_busy() {
    command -v ss >/dev/null 2>&1 || return 1
    [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
}

if ! $AS "$BIN/initdb" -D "$D/data" -U test --auth=trust -E UTF8 --locale=C --no-sync \
        >"$D/initdb.log" 2>&1; then
    echo "pg_cluster.sh: initdb failed:" >&2
    cat "$D/initdb.log" >&2
    exit 1
fi

# The control script for CMD (and for the cleanup above): stop, start,
# kill (a crash), halt (stop by any means; used on exit).
cat >"$D/ctl" <<EOF
#!/bin/sh
# pg_cluster.sh's control of the cluster in $D: stop | start | kill | halt
D='$D'
BIN='$BIN'
AS='$AS'
EOF
cat >>"$D/ctl" <<'EOF'
postmaster() {
    [ -f "$D/data/postmaster.pid" ] && head -n 1 "$D/data/postmaster.pid"
}
# Alive: there and not a zombie (state Z holds nothing; a container's init
# may never reap it).
alive() {
    st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    st=${st##*) }
    [ "${st%% *}" != Z ]
}
kill9() {
    pm=$(postmaster)
    [ -n "$pm" ] || return 0
    pids=$pm
    # Its children, from /proc (a stat line's 4th field is the parent pid).
    for st in /proc/[0-9]*/stat; do
        line=$(cat "$st" 2>/dev/null) || continue
        rest=${line##*) }
        set -- $rest
        [ "${2:-}" = "$pm" ] && pids="$pids ${line%% *}"
    done
    kill -KILL $pids 2>/dev/null
    # Wait until every one is gone: a new postmaster refuses to start while
    # the old shared memory is still attached.
    i=0
    while [ $i -lt 100 ]; do
        alive=0
        for p in $pids; do
            alive "$p" && alive=1
        done
        if [ $alive -eq 0 ]; then
            # The lock files name the dead postmaster; an unreaped zombie
            # would still pass PostgreSQL's own "is it running" test.
            rm -f "$D/data/postmaster.pid" "$D"/.s.PGSQL.*
            return 0
        fi
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}
case "${1:-}" in
    start) exec $AS "$BIN/pg_ctl" -D "$D/data" -l "$D/log" -w -t 60 start >/dev/null ;;
    stop) exec $AS "$BIN/pg_ctl" -D "$D/data" -m fast -w -t 60 stop >/dev/null ;;
    kill) kill9 ;;
    halt)
        pm=$(postmaster)
        if [ -n "$pm" ] && alive "$pm"; then
            $AS "$BIN/pg_ctl" -D "$D/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
                $AS "$BIN/pg_ctl" -D "$D/data" -m immediate -w -t 10 stop >/dev/null 2>&1 ||
                kill9
        fi
        ;;
    *) echo "usage: $0 stop|start|kill" >&2; exit 2 ;;
esac
EOF
chmod 755 "$D/ctl"

if [ "${PQ3_PG_DURABLE:-0}" = 1 ]; then
    speed="# PQ3_PG_DURABLE=1: PostgreSQL's durable defaults"
else
    speed="fsync = off
synchronous_commit = off
full_page_writes = off"
fi
if [ "${PQ3_PG_TCP:-0}" = 1 ]; then
    listen="listen_addresses = '127.0.0.1'"
else
    listen="listen_addresses = ''"
fi

: >"$D/log"
[ -n "$AS" ] && chown postgres: "$D/log"
started=0
for _ in 1 2 3 4 5; do
    PORT=$(random_port)
    if [ "${PQ3_PG_TCP:-0}" = 1 ] && port_busy "$PORT"; then
        continue
    fi
    cat >"$D/data/postgresql.auto.conf" <<EOF
# written by pg_cluster.sh
port = $PORT
unix_socket_directories = '$D'
$listen
$speed
EOF
    chown postgres: "$D/data/postgresql.auto.conf" 2>/dev/null
    if sh "$D/ctl" start 2>>"$D/log"; then
        started=1
        break
    fi
done
if [ $started -ne 1 ]; then
    echo "pg_cluster.sh: PostgreSQL did not start; its log:" >&2
    cat "$D/log" >&2
    exit 1
fi

if ! "$BIN/createdb" -h "$D" -p "$PORT" -U test pq3test >>"$D/log" 2>&1; then
    echo "pg_cluster.sh: createdb failed; the log:" >&2
    cat "$D/log" >&2
    exit 1
fi

# A last resort for when this shell is killed with SIGKILL (ctest's
# timeout): a detached watcher stops the cluster once this shell is gone.
# It holds none of our output open, so nobody waits for it.
(
    parent=$$
    detach=""
    command -v setsid >/dev/null 2>&1 && detach=setsid
    $detach sh -c '
        while kill -0 "$1" 2>/dev/null && [ -d "$2" ]; do sleep 1; done
        if [ -d "$2" ]; then sh "$2/ctl" halt; rm -rf "$2"; fi
    ' pg_cluster_watch "$parent" "$D" </dev/null >/dev/null 2>&1 &
)

export PQ3_PG_CONNINFO="host=$D port=$PORT user=test dbname=pq3test"
export PQ3_PG_DIR="$D"
export PQ3_PG_PORT="$PORT"
export PQ3_PG_CTL="$D/ctl"

# In the background and waited for, so that a signal to this shell runs
# the cleanup at once (and passes the signal on to CMD). A background job
# would get /dev/null as its input: CMD keeps ours.
exec 3<&0
"$@" <&3 3<&- &
exec 3<&-
child=$!
wait "$child"
rc=$?
child=""
exit $rc

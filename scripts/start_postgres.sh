#!/usr/bin/env bash
# Start a local PostgreSQL server for feedback-assistant's database tests and print the URL to use.
#
#   export FA_TEST_POSTGRES_URL="$(bash scripts/start_postgres.sh)"
#
# - Installs Debian's `postgresql` with apt-get when no server is installed (needs root or sudo).
# - Creates the cluster if there is none, starts it (pg_ctlcluster, no systemd needed), listening on
#   127.0.0.1 only; uses port 5432, or the next free port when 5432 is taken by something else.
# - Creates the role (with CREATEROLE, so `plc-setup` and the row-level security tests can make one login per
#   teacher) and database (default fa / fa / fa_test) and prints
#   postgresql+psycopg2://fa:fa@127.0.0.1:PORT/fa_test on stdout (everything else goes to stderr).
# Idempotent: run it again and it just prints the URL. Works with no stdin (CI).
# Settings: FA_PG_USER, FA_PG_PASSWORD, FA_PG_DB, FA_PG_PORT (preferred port), FA_PG_CLUSTER (default main).
set -euo pipefail

PG_USER="${FA_PG_USER:-fa}"
PG_PASSWORD="${FA_PG_PASSWORD:-fa}"
PG_DB="${FA_PG_DB:-fa_test}"
PREFERRED_PORT="${FA_PG_PORT:-5432}"
CLUSTER="${FA_PG_CLUSTER:-main}"
export DEBIAN_FRONTEND=noninteractive
export LANG="${LANG:-C.UTF-8}" LC_ALL="${LC_ALL:-C.UTF-8}"

log() { echo "start_postgres: $*" >&2; }

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -n)
else
    log "run this as root (or with sudo available): it installs and starts a system PostgreSQL"
    exit 1
fi

as_postgres() {
    if [ "$(id -u)" -eq 0 ] && command -v runuser >/dev/null 2>&1; then
        runuser -u postgres -- "$@"
    else
        "${SUDO[@]}" -u postgres "$@"
    fi
}

latest_version() {
    ls /usr/lib/postgresql 2>/dev/null | grep -E '^[0-9]+$' | sort -n | tail -1 || true
}

# 1. Install.
VERSION="$(latest_version)"
if [ -z "$VERSION" ] || [ ! -x "/usr/lib/postgresql/$VERSION/bin/postgres" ] || ! command -v pg_ctlcluster >/dev/null; then
    log "installing postgresql with apt-get ..."
    "${SUDO[@]}" apt-get update -qq >&2 </dev/null
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends postgresql postgresql-client >&2 </dev/null
    VERSION="$(latest_version)"
fi
if [ -z "$VERSION" ]; then
    log "postgresql did not install (no /usr/lib/postgresql/<version>)"
    exit 1
fi

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port_from() {
    local p="$1"
    while port_in_use "$p"; do p=$((p + 1)); done
    echo "$p"
}

cluster_field() {  # cluster_field COLUMN -> value for our cluster (2=name 3=port 4=status)
    pg_lsclusters --no-header 2>/dev/null | awk -v v="$VERSION" -v c="$CLUSTER" -v f="$1" '$1==v && $2==c {print $f}'
}

# The socket directory lives in /run, which a fresh container or a reboot empties.
"${SUDO[@]}" install -d -o postgres -g postgres -m 2775 /var/run/postgresql

# 2. Create the cluster when missing.
if [ -z "$(cluster_field 2)" ]; then
    PORT="$(free_port_from "$PREFERRED_PORT")"
    log "creating cluster $VERSION/$CLUSTER on port $PORT ..."
    "${SUDO[@]}" pg_createcluster "$VERSION" "$CLUSTER" --port "$PORT" >&2 </dev/null
fi

# 3. Start it.
STATUS="$(cluster_field 4)"
PORT="$(cluster_field 3)"
if [ "$STATUS" != "online" ]; then
    if port_in_use "$PORT"; then
        NEW_PORT="$(free_port_from "$PORT")"
        log "port $PORT is taken by another program; moving the cluster to port $NEW_PORT"
        "${SUDO[@]}" pg_conftool "$VERSION" "$CLUSTER" set port "$NEW_PORT" >&2
        PORT="$NEW_PORT"
    fi
    # Loopback only (conf.d is included after postgresql.conf, so this wins).
    echo "listen_addresses = '127.0.0.1'" | "${SUDO[@]}" tee "/etc/postgresql/$VERSION/$CLUSTER/conf.d/feedback_assistant.conf" >/dev/null
    log "starting cluster $VERSION/$CLUSTER on 127.0.0.1:$PORT ..."
    "${SUDO[@]}" pg_ctlcluster "$VERSION" "$CLUSTER" start >&2 </dev/null
fi
PORT="$(cluster_field 3)"

for _ in $(seq 1 60); do
    if pg_isready -q -h 127.0.0.1 -p "$PORT"; then break; fi
    sleep 0.5
done
if ! pg_isready -q -h 127.0.0.1 -p "$PORT"; then
    log "the server did not come up on 127.0.0.1:$PORT; see /var/log/postgresql/postgresql-$VERSION-$CLUSTER.log"
    exit 1
fi

# 4. Role and database (password login over TCP; Debian's pg_hba allows it for 127.0.0.1).
psql_admin() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" -d postgres "$@" </dev/null; }
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER'")" != "1" ]; then
    log "creating role $PG_USER"
    psql_admin -c "CREATE ROLE \"$PG_USER\" LOGIN CREATEROLE PASSWORD '$PG_PASSWORD'"
else
    psql_admin -c "ALTER ROLE \"$PG_USER\" LOGIN CREATEROLE PASSWORD '$PG_PASSWORD'"
fi
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != "1" ]; then
    log "creating database $PG_DB"
    psql_admin -c "CREATE DATABASE \"$PG_DB\" OWNER \"$PG_USER\""
fi

URL="postgresql+psycopg2://$PG_USER:$PG_PASSWORD@127.0.0.1:$PORT/$PG_DB"
if ! PGPASSWORD="$PG_PASSWORD" psql -X -q -h 127.0.0.1 -p "$PORT" -U "$PG_USER" -d "$PG_DB" -tAc "SELECT 1" \
        </dev/null >/dev/null; then
    log "could not log in as $PG_USER to $PG_DB on 127.0.0.1:$PORT"
    exit 1
fi
log "ready: export FA_TEST_POSTGRES_URL=$URL"
echo "$URL"

#!/usr/bin/env bash
# Start Debian's PostgreSQL 15 cluster if it is not running, ensure an admin
# role for Gatewave's tests and tools, and print its DATABASE_URL on stdout.
# Idempotent: run it as often as you like. The role's password is random,
# generated once and kept (mode 0600) under ${XDG_CACHE_HOME:-~/.cache}/gatewave.
# The server listens on 127.0.0.1 only (Debian's default listen_addresses).
set -euo pipefail

version=${PG_VERSION:-15}
cluster=${PG_CLUSTER:-main}
role=${PG_ADMIN_ROLE:-gatewave_admin}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/gatewave
pwfile=$cache/pg-admin-password

log() { echo "postgres.sh: $*" >&2; }

command -v pg_ctlcluster >/dev/null || { log "pg_ctlcluster not found: apt-get install postgresql-$version"; exit 1; }

port=$(pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1==v && $2==c {print $3}')
if [ -z "$port" ]; then
	log "creating cluster $version/$cluster"
	pg_createcluster "$version" "$cluster" >&2
	port=$(pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1==v && $2==c {print $3}')
fi
status=$(pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1==v && $2==c {print $4}')
if [ "$status" != "online" ]; then
	log "starting cluster $version/$cluster on port $port"
	pg_ctlcluster "$version" "$cluster" start >&2
fi

# Wait until it accepts connections (pg_ctlcluster start waits, but a
# cluster started by someone else a moment ago may still be recovering).
for _ in $(seq 1 60); do
	pg_isready -q -h 127.0.0.1 -p "$port" && break
	sleep 0.5
done
pg_isready -q -h 127.0.0.1 -p "$port" || { log "server on 127.0.0.1:$port does not answer"; exit 1; }

mkdir -p "$cache"
chmod 700 "$cache"
if [ ! -s "$pwfile" ]; then
	(umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$pwfile")
fi
pw=$(cat "$pwfile")

psql_admin() { runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$port" -d postgres "$@"; }
psql_admin -v role="$role" -v pw="$pw" >&2 <<'SQL'
SELECT format('CREATE ROLE %I LOGIN SUPERUSER', :'role')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN SUPERUSER PASSWORD %L', :'role', :'pw') \gexec
SQL

echo "postgres://$role:$pw@127.0.0.1:$port/postgres?sslmode=disable"

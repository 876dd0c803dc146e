#!/bin/sh
# The roles docker-compose.yml runs from gatewave/server (one image, so one
# root filesystem and one set of binaries for all of them):
#
#   entrypoint.sh postgres   PostgreSQL 15 on /var/lib/postgresql/data (a named
#                            volume), listening on a unix socket only, in
#                            /run/postgresql (a volume shared with the cloud
#                            and the backup job). No TCP: nothing can reach it
#                            over a network.
#   entrypoint.sh objstore   versitygw (S3) on $GATEWAVE_OBJSTORE_LISTEN with
#                            the credentials in /secrets, the bucket created.
#   entrypoint.sh init       once per `up`: migrate, issue the gateway's node
#                            token if its node does not exist (written to
#                            /node/token, mode 0600, the one file the gateway
#                            reads), add the first
#                            admin with /secrets/admin-password if missing.
#   entrypoint.sh cloud      migrate, then serve.
#   entrypoint.sh backup     cloud backup daemon (the backup job).
#   entrypoint.sh cli ARGS   any cloud command, e.g. `node list`.
#
# Secrets are files in /secrets (a root-only host directory made by
# scripts/deploy.sh); they reach the programs as environment variables only
# here, never in a compose file or on a command line.
set -eu

secret() { tr -d '\n' <"/secrets/$1"; }
db_url() { echo "postgres://gatewave@/gatewave?host=/run/postgresql&sslmode=disable"; }
cloud_env() {
	export DATABASE_URL="$(db_url)"
	export GATEWAVE_DATA_DIR=/var/lib/gatewave
	export GATEWAVE_ADMIN_TOKEN="$(secret admin-token)"
	export GATEWAVE_S3_URL="http://$(secret s3-access-key):$(secret s3-secret-key)@${GATEWAVE_OBJSTORE_LISTEN}/gatewave"
}

role=${1:?role: postgres, objstore, init, cloud or backup}
shift
case $role in
postgres)
	data=/var/lib/postgresql/data
	mkdir -p "$data" /run/postgresql
	chown postgres:postgres "$data" /run/postgresql
	chmod 700 "$data"
	chmod 750 /run/postgresql
	bin=/usr/lib/postgresql/15/bin
	if [ ! -s "$data/PG_VERSION" ]; then
		# Only local (unix socket) connections exist; the socket's
		# directory is reachable only by the containers that mount it.
		su postgres -s /bin/sh -c "$bin/initdb -D $data -U postgres --auth-local=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null"
		# The set-up server's socket is elsewhere, so the health check
		# (and the cloud) see nothing until the real server runs.
		su postgres -s /bin/sh -c "$bin/pg_ctl -D $data -o \"-c listen_addresses='' -c unix_socket_directories=/tmp\" -w start >/dev/null"
		su postgres -s /bin/sh -c "psql -h /tmp -qc 'CREATE ROLE gatewave LOGIN' -c 'CREATE DATABASE gatewave OWNER gatewave'"
		su postgres -s /bin/sh -c "$bin/pg_ctl -D $data -w stop >/dev/null"
	fi
	exec su postgres -s /bin/sh -c "exec $bin/postgres -D $data -c listen_addresses='' -c unix_socket_directories=/run/postgresql"
	;;
objstore)
	mkdir -p /var/lib/objstore/gatewave
	ROOT_ACCESS_KEY_ID="$(secret s3-access-key)" ROOT_SECRET_ACCESS_KEY="$(secret s3-secret-key)" \
		exec /usr/local/bin/versitygw --port "$GATEWAVE_OBJSTORE_LISTEN" --region us-east-1 --health /health --quiet \
		posix /var/lib/objstore
	;;
init)
	cloud_env
	/usr/local/bin/cloud migrate
	node=${GATEWAVE_NODE_NAME:?}
	if /usr/local/bin/cloud node list | awk 'NR > 1 {print $1}' | grep -qx "$node"; then
		[ -s /node/token ] || {
			echo "init: node $node exists but its token file (node/token in the deploy directory) is gone; name another node (GATEWAVE_NODE_NAME) or remove the deployment with its volumes" >&2
			exit 1
		}
	else
		(umask 077; /usr/local/bin/cloud node add "$node" --label role=compose >/node/token.tmp)
		mv /node/token.tmp /node/token
	fi
	admin=${GATEWAVE_FIRST_ADMIN:-admin}
	if [ ! -d "$GATEWAVE_DATA_DIR/git/$admin.git" ]; then
		/usr/local/bin/cloud user add "$admin" --admin </secrets/admin-password
	fi
	;;
cloud)
	cloud_env
	/usr/local/bin/cloud migrate
	exec /usr/local/bin/cloud serve "$@"
	;;
cli)
	# An operator's cloud command with the deployment's settings:
	# bash scripts/deploy.sh compose exec cloud gatewave-entrypoint cli node list
	cloud_env
	exec /usr/local/bin/cloud "$@"
	;;
backup)
	cloud_env
	unset GATEWAVE_ADMIN_TOKEN GATEWAVE_S3_URL
	exec /usr/local/bin/cloud backup daemon "$@"
	;;
*)
	echo "entrypoint: unknown role $role" >&2
	exit 2
	;;
esac

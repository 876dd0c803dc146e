#!/usr/bin/env bash
# Run docker-compose.yml on this host: what `make up` and `make down` do.
#
#   bash scripts/deploy.sh up        build the images (cached), start the stack,
#                                    wait until the cloud is healthy and the
#                                    gateway online, print the URL and where
#                                    the first admin's password is
#   bash scripts/deploy.sh down      stop and remove the containers; the
#                                    volumes and the deploy directory stay
#   bash scripts/deploy.sh compose ARGS...   docker-compose with this
#                                    deployment's project and variables
#
# Environment (defaults in brackets):
#   GATEWAVE_PROJECT      compose project name [gatewave]
#   GATEWAVE_BIND         address the cloud and object store listen on [127.0.0.1]
#   GATEWAVE_PORT         the web entry and gateway ingress [8680]
#   GATEWAVE_OBJSTORE_PORT the object store (presigned URLs) [8681]
#   GATEWAVE_DEPLOY_DIR   secrets, the node token and nodegw's state
#                         [/var/lib/gatewave-deploy/PROJECT]
#   GATEWAVE_SESSION_IMAGE the sessions' image [gatewave/workspace-debian]
#   GATEWAVE_POOL_SIZE, _CPUS, _MEMORY_MIB, _DISK_MIB, _OVERSUBSCRIBE: the pool
#   GATEWAVE_POOL_MIN, GATEWAVE_POOL_BURST_MIN  the elastic pool's minimums of
#                         standard [1] and over-subscribed [0] containers kept
#                         warm when idle; it grows to the sizes under demand
#                         (-1 for both: a fixed pool)
#   GATEWAVE_NODE_NAME    the gateway's node name [main]
#   GATEWAVE_FIRST_ADMIN  the first admin's user name [admin]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log() { echo "deploy: $*" >&2; }

export COMPOSE_PROJECT_NAME=${GATEWAVE_PROJECT:-gatewave}
case $COMPOSE_PROJECT_NAME in '' | *[!a-z0-9_-]*) log "GATEWAVE_PROJECT=$COMPOSE_PROJECT_NAME: use lower-case letters, digits, _ and -"; exit 2 ;; esac
export GATEWAVE_BIND=${GATEWAVE_BIND:-127.0.0.1}
export GATEWAVE_PORT=${GATEWAVE_PORT:-8680}
export GATEWAVE_OBJSTORE_PORT=${GATEWAVE_OBJSTORE_PORT:-8681}
export GATEWAVE_DEPLOY_DIR=${GATEWAVE_DEPLOY_DIR:-/var/lib/gatewave-deploy/$COMPOSE_PROJECT_NAME}
export GATEWAVE_SESSION_IMAGE=${GATEWAVE_SESSION_IMAGE:-gatewave/workspace-debian}
export GATEWAVE_NODE_NAME=${GATEWAVE_NODE_NAME:-main}
export GATEWAVE_FIRST_ADMIN=${GATEWAVE_FIRST_ADMIN:-admin}
export GATEWAVE_VERSION=$(cat "$root/VERSION")
for p in "$GATEWAVE_PORT" "$GATEWAVE_OBJSTORE_PORT"; do
	case $p in '' | *[!0-9]*) log "port $p: not a number"; exit 2 ;; esac
done
case $GATEWAVE_DEPLOY_DIR in /*) ;; *) log "GATEWAVE_DEPLOY_DIR must be absolute (nodegw's paths are host paths)"; exit 2 ;; esac

compose() { docker-compose -f "$root/docker-compose.yml" --project-directory "$root" "$@"; }
url=http://$GATEWAVE_BIND:$GATEWAVE_PORT
[ "$GATEWAVE_BIND" = 0.0.0.0 ] && url=http://127.0.0.1:$GATEWAVE_PORT

secret() { # secret FILE BYTES: random hex kept in FILE (mode 0600)
	[ -s "$1" ] || (umask 077; head -c "$2" /dev/urandom | od -An -tx1 | tr -d ' \n' >"$1")
}

# The state directory's loop mounts (workspace disks) must reach the host's
# dockerd: the directory is a shared mount, bound onto itself once per boot.
shared_state() {
	local d=$GATEWAVE_DEPLOY_DIR/nodegw
	if [ "$(findmnt -n -o TARGET -M "$d" 2>/dev/null)" != "$d" ]; then
		mount --bind "$d" "$d"
	fi
	mount --make-rshared "$d"
}

up() {
	command -v docker-compose >/dev/null || { log "docker-compose missing: make bootstrap"; exit 1; }
	mkdir -p "$GATEWAVE_DEPLOY_DIR"/{secrets,node,nodegw}
	chmod 700 "$GATEWAVE_DEPLOY_DIR" "$GATEWAVE_DEPLOY_DIR"/{secrets,node,nodegw}
	secret "$GATEWAVE_DEPLOY_DIR/secrets/admin-token" 24
	secret "$GATEWAVE_DEPLOY_DIR/secrets/admin-password" 12
	secret "$GATEWAVE_DEPLOY_DIR/secrets/s3-access-key" 10
	secret "$GATEWAVE_DEPLOY_DIR/secrets/s3-secret-key" 20
	shared_state
	bash "$root/images/deploy/build.sh"
	# The sessions' image, built when missing or older than bin/sessiond
	# (so the IDE `make build` made is the one sessions serve).
	local stale=no
	if ! docker image inspect "$GATEWAVE_SESSION_IMAGE" >/dev/null 2>&1; then
		stale=yes
	elif [ -f "$root/bin/sessiond" ] && [ "$(date -d "$(docker image inspect -f '{{.Created}}' "$GATEWAVE_SESSION_IMAGE")" +%s)" -lt "$(stat -c %Y "$root/bin/sessiond")" ]; then
		stale=yes
	fi
	if [ $stale = yes ]; then
		case $GATEWAVE_SESSION_IMAGE in
		gatewave/workspace-debian) log "building the sessions' image (several minutes, once)"; bash "$root/images/build.sh" debian ;;
		gatewave/sessiond-scratch) bash "$root/images/build.sh" scratch ;;
		*) log "session image $GATEWAVE_SESSION_IMAGE not found"; exit 1 ;;
		esac
	fi
	log "starting $COMPOSE_PROJECT_NAME ($GATEWAVE_VERSION) on $url"
	compose up -d --remove-orphans >&2
	local tok
	tok=$(cat "$GATEWAVE_DEPLOY_DIR/secrets/admin-token")
	for _ in $(seq 1 180); do
		# The token goes to curl on stdin, never in its argv (ps shows that).
		if printf 'header = "Authorization: Bearer %s"\n' "$tok" | curl -fsS -m 5 -K - "$url/api/v1/nodes/$GATEWAVE_NODE_NAME" 2>/dev/null | grep -q '"status":"online"'; then
			cat <<MSG
Gatewave $GATEWAVE_VERSION is up on $url/ (compose project $COMPOSE_PROJECT_NAME).
Sign in as $GATEWAVE_FIRST_ADMIN (an admin) with the password in $GATEWAVE_DEPLOY_DIR/secrets/admin-password.
The gateway $GATEWAVE_NODE_NAME is online. make down stops it and keeps the data.
MSG
			return 0
		fi
		sleep 1
	done
	log "the gateway did not come online within 3 minutes:"
	compose ps >&2 || true
	compose logs --tail 30 init cloud gateway >&2 || true
	exit 1
}

down() {
	command -v docker-compose >/dev/null || { log "docker-compose missing: make bootstrap"; exit 1; }
	log "stopping $COMPOSE_PROJECT_NAME (the gateway saves open workspaces first; volumes are kept)"
	compose stop -t 180 gateway >&2 || true
	compose down --remove-orphans >&2
}

cmd=${1:-}
shift || true
case $cmd in
up) up ;;
down) down ;;
compose) compose "$@" ;;
*) log "usage: deploy.sh up|down|compose ARGS..."; exit 2 ;;
esac

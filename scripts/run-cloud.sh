#!/usr/bin/env bash
# The whole Gatewave flow on one machine: PostgreSQL, the cloud (migrated,
# serving on 127.0.0.1), and one nodegw that joins this machine as a compute
# node with a small warm pool of session containers. Prints the URL and a
# demo sign-in; Ctrl-C saves every open workspace, then stops everything and
# removes the pool.
#
#   bash scripts/run-cloud.sh          (after `make build`: bin/cloud, bin/nodegw, bin/sessiond)
#
# Environment: GATEWAVE_RUN_PORT (default 8480), GATEWAVE_RUN_POOL (the most
# warm containers, default 2), GATEWAVE_RUN_POOL_MIN (the fewest, kept when
# idle: the pool is elastic, default 1; -1: a fixed pool of GATEWAVE_RUN_POOL),
# GATEWAVE_RUN_IMAGE (default gatewave/workspace-debian, built here).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=$root/bin
state=$root/.run/cloud
# Unix socket paths must stay short: node state lives under /tmp.
nodestate=/tmp/gatewave-run-$(id -u)
port=${GATEWAVE_RUN_PORT:-8480}
poolsize=${GATEWAVE_RUN_POOL:-2}
poolmin=${GATEWAVE_RUN_POOL_MIN:-1}
poolname=gatewave-run
log() { echo "run-cloud: $*" >&2; }

for b in cloud nodegw sessiond; do
	[ -x "$bin/$b" ] || { log "$bin/$b missing: run make build"; exit 1; }
done
command -v git >/dev/null || { log "git missing: apt-get install git"; exit 1; }
bash "$root/scripts/dockerd.sh" >&2
# The pool runs the Debian workspace image: the full IDE, with the FPGA
# toolchain, git and clangd in every session. It is built below when missing
# (the root filesystem takes several minutes the first time: mmdebstrap from
# Debian's archive, cached by the hash of its package list) and its sessiond
# layer redone whenever bin/sessiond is newer (seconds). Asked only now that
# dockerd answers. GATEWAVE_RUN_IMAGE picks another image (the FROM-scratch
# test image is gatewave/sessiond-scratch).
if [ -n "${GATEWAVE_RUN_IMAGE:-}" ]; then
	image=$GATEWAVE_RUN_IMAGE
else
	image=gatewave/workspace-debian
	docker image inspect "$image" >/dev/null 2>&1 ||
		log "the Debian workspace image (FPGA toolchain, git, clangd) is built first: several minutes this once, seconds after"
fi
mkdir -p "$state" "$nodestate"
chmod 700 "$state" "$nodestate"

# PostgreSQL: a database of its own on the local cluster.
admin_url=$(bash "$root/scripts/postgres.sh")
db=gatewave_run
if ! psql "$admin_url" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
	psql "$admin_url" -qc "CREATE DATABASE $db" >/dev/null
fi
base=${admin_url%%\?*}
export DATABASE_URL=${base%/*}/$db${admin_url#"$base"}

secret() { # secret FILE: a random token kept in FILE (mode 0600)
	[ -s "$1" ] || (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$1")
	cat "$1"
}
export GATEWAVE_ADMIN_TOKEN=$(secret "$state/admin-token")
# The object store (task inputs and artifacts): versitygw on 127.0.0.1,
# built once by scripts/objstore.sh.
s3_url=$(bash "$root/scripts/objstore.sh")
export GATEWAVE_DATA_DIR=$state/data
export GATEWAVE_LISTEN=127.0.0.1:$port
url=http://127.0.0.1:$port

"$bin/cloud" migrate >&2

# The demo user and their repo, once.
demo_pw=$(secret "$state/demo-password")
if [ ! -d "$GATEWAVE_DATA_DIR/git/demo.git" ]; then
	printf '%s\n' "$demo_pw" | "$bin/cloud" user add demo --admin >&2
fi

# This machine as a node: its token is shown once, so keep it.
if [ ! -s "$state/node-token" ]; then
	(umask 077; "$bin/cloud" node add local --label role=dev >"$state/node-token")
fi

# The pool image, rebuilt when missing or older than bin/sessiond, so the
# IDE built by `make build` is in it (the Debian image reuses its cached
# root filesystem: only the sessiond layer is redone).
stale=no
if ! docker image inspect "$image" >/dev/null 2>&1; then
	stale=yes
else
	created=$(date -d "$(docker image inspect -f '{{.Created}}' "$image")" +%s)
	[ "$created" -ge "$(stat -c %Y "$bin/sessiond")" ] || stale=yes
fi
imagefail() {
	log "$image could not be built (see above); GATEWAVE_RUN_IMAGE=gatewave/sessiond-scratch runs the small test image instead"
	exit 1
}
case "$image:$stale" in
gatewave/sessiond-scratch:yes) log "building $image"; bash "$root/images/build.sh" scratch || imagefail ;;
gatewave/workspace-debian:yes) log "building $image"; bash "$root/images/build.sh" debian || imagefail ;;
esac
log "pool image: $image"

pids=()
cleanup() {
	trap - INT TERM EXIT
	# nodegw first, while the cloud still takes the saves (--shutdown-pool:
	# every open workspace is saved, then the pool is removed; a container
	# whose save fails is kept, and the next run saves it).
	saved=
	if [ ${#pids[@]} -gt 1 ]; then
		log "stopping: nodegw saves open workspaces first"
		kill "${pids[1]}" 2>/dev/null || true
		wait "${pids[1]}" 2>/dev/null || true
		# nodegw reports its save in its log (slog JSON, nodegw/cli): "saving
		# open workspaces and removing the pool" when it starts, and an
		# error "pool shutdown" when a save or a removal failed. Its exit
		# status does not tell.
		if ! grep -q '"msg":"saving open workspaces and removing the pool"' "$state/nodegw.log" 2>/dev/null; then
			saved="nodegw exited without saving the open workspaces; see $state/nodegw.log"
		elif grep -q '"msg":"pool shutdown"' "$state/nodegw.log"; then
			saved="nodegw could not save or remove every container; see $state/nodegw.log"
		else
			saved=yes
		fi
	fi
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	left=$(docker ps -aq --filter "label=dev.gatewave.pool=$poolname")
	[ -z "$left" ] || log "kept containers whose save failed (the next run saves them): $left"
	if [ "$saved" = yes ] && [ -z "$left" ]; then
		log "stopped; workspaces saved"
	elif [ -n "$saved" ] && [ "$saved" != yes ]; then
		log "stopped; $saved"
	else
		log "stopped"
	fi
}
# A requested stop (Ctrl-C, SIGTERM) cleans up and ends here, with status 0
# as before; any other exit (a failed step, a component exiting on its own)
# cleans up through the EXIT trap.
stop() {
	cleanup
	exit 0
}
trap stop INT TERM
trap cleanup EXIT

GATEWAVE_S3_URL=$s3_url "$bin/cloud" serve --idle-timeout 1h 2>"$state/cloud.log" &
pids+=($!)
for _ in $(seq 1 100); do
	curl -fsS "$url/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done
curl -fsS "$url/healthz" >/dev/null || { log "the cloud did not start; see $state/cloud.log"; tail -20 "$state/cloud.log" >&2; exit 1; }

NODEGW_TOKEN_FILE=$state/node-token env -u GATEWAVE_ADMIN_TOKEN -u DATABASE_URL "$bin/nodegw" --cloud "$url" --name local \
	--image "$image" --pool-name "$poolname" --state-dir "$nodestate" \
	--standard-count "$poolsize" --standard-min "$poolmin" --standard-cpus 0.5 --standard-memory-mib 512 --oversubscribe -1 \
	--autosave-interval 2m --shutdown-pool 2>"$state/nodegw.log" &
pids+=($!)

cat <<MSG

  Gatewave is running.

    Open:      $url/
    Sign in:   demo / $demo_pw

  Signing in starts a session in a warm container; signing out saves your
  work to the ide/autosave branch of your repo (git asks for the password;
  it never goes in the URL, where git would keep it in .git/config):
    git clone http://demo@127.0.0.1:$port/git/demo.git

  Logs: $state/cloud.log, $state/nodegw.log. Ctrl-C stops everything.

MSG
# Only a component exiting on its own gets here: a requested stop ends in
# stop(), which the signal runs while this waits.
wait -n "${pids[@]}" || true
log "a component exited on its own; see $state/cloud.log and $state/nodegw.log"
exit 1

#!/usr/bin/env bash
# Build the images docker-compose.yml runs, without any registry.
#
#   bash images/deploy/build.sh        (or: bash images/build.sh deploy)
#
# gatewave/deploy-base:HASH    a bookworm root filesystem made by mmdebstrap
#                              from Debian's archive (packages.txt: PostgreSQL
#                              15, git, e2fsprogs, tini...), `docker import`ed.
#                              Cached: rebuilt only when the hash of its inputs
#                              (packages.txt, the apt sources, the recipe
#                              number below) changes: the image is tagged
#                              with it.
# gatewave/server:VERSION      the base plus the static cloud and versitygw:
#                              postgres, objstore, cloud, backup and the
#                              node-token step run it.
# gatewave/gateway:VERSION     the base plus the static nodegw. VERSION is the
#                              root VERSION file, the release every binary is
#                              stamped with, so the tag says which gateway a
#                              node runs.
#
# Prints nothing on stdout; progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
version=$(cat "$root/VERSION")
cache=${XDG_CACHE_HOME:-$HOME/.cache}/gatewave/images
log() { echo "images/deploy: $*" >&2; }

command -v docker >/dev/null || { log "docker CLI missing: apt-get install docker.io"; exit 1; }
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || { log "dockerd does not answer: start it (scripts/dockerd.sh)"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

pkgs=$(grep -v '^#' "$here/packages.txt" | xargs | tr ' ' ',')
# What the root filesystem is made from: the package list, the apt sources
# and the recipe (bump it when the mmdebstrap call below changes).
recipe=1
hash=$( (cat "$here/packages.txt" /etc/apt/sources.list.d/debian.sources 2>/dev/null; echo "recipe $recipe") | sha256sum | cut -c1-16)
base=gatewave/deploy-base:$hash
if docker image inspect "$base" >/dev/null 2>&1; then
	log "$base is up to date; skipping mmdebstrap"
else
	command -v mmdebstrap >/dev/null || { log "mmdebstrap missing: apt-get install mmdebstrap"; exit 1; }
	mkdir -p "$cache"
	tar=$cache/deploy-base-$hash.tar
	if [ ! -f "$tar" ]; then
		log "mmdebstrap bookworm with: $pkgs (a few minutes, once)"
		sources=()
		[ -f /etc/apt/sources.list.d/debian.sources ] && sources=(/etc/apt/sources.list.d/debian.sources)
		# postgresql-common would create a cluster at install time; the
		# postgres service makes its own on its volume instead.
		mmdebstrap --format=tar --variant=apt --include="$pkgs" \
			--essential-hook='mkdir -p "$1/etc/postgresql-common" && printf "create_main_cluster = false\n" >"$1/etc/postgresql-common/createcluster.conf"' \
			--customize-hook='chroot "$1" apt-get clean' \
			--customize-hook='rm -rf "$1"/var/lib/apt/lists/*' \
			bookworm "$tar.partial" "${sources[@]}"
		mv "$tar.partial" "$tar"
	fi
	log "docker import $base"
	docker import "$tar" "$base" >/dev/null
	rm -f "$tar"
	# Older bases (other package lists) are no longer used by any image
	# built from here.
	old=$(docker images --format '{{.Repository}}:{{.Tag}}' gatewave/deploy-base | grep -v ":$hash\$" || true)
	[ -z "$old" ] || docker rmi $old >/dev/null 2>&1 || true
fi

# Static binaries stamped with the release (shared/buildinfo).
ldflags="-s -w -X gatewave.dev/shared/buildinfo.Version=$version"
mkdir -p "$work/server" "$work/gateway"
log "building static cloud and nodegw $version"
(cd "$root/cloud" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$work/server/cloud" ./cmd/cloud)
(cd "$root/nodegw" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$work/gateway/nodegw" ./cmd/nodegw)
# versitygw at the version scripts/objstore.sh pins, built the same way.
vgw=$(sed -n 's/^version=\(v[0-9.]*\).*/\1/p' "$root/scripts/objstore.sh")
[ -n "$vgw" ] || { log "cannot read versitygw's version from scripts/objstore.sh"; exit 1; }
gobin=$cache/versitygw-$vgw
if [ ! -x "$gobin/versitygw" ]; then
	log "building static versitygw $vgw (once)"
	GOBIN=$gobin CGO_ENABLED=0 GOFLAGS=-buildvcs=false go install -trimpath "github.com/versity/versitygw/cmd/versitygw@$vgw"
fi
cp "$gobin/versitygw" "$work/server/versitygw"
cp "$here/entrypoint.sh" "$work/server/entrypoint.sh"

for img in server gateway; do
	sed "s|@BASE@|$base|" "$here/Dockerfile.$img" >"$work/$img/Dockerfile"
	log "building gatewave/$img:$version"
	docker build -q -t "gatewave/$img:$version" "$work/$img" >/dev/null
done
docker image prune -f --filter label=gatewave.image=deploy >/dev/null 2>&1 || true
log "done: gatewave/server:$version gatewave/gateway:$version on $base"

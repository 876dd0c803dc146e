#!/usr/bin/env bash
# Build Gatewave's session container images without any registry.
#
#   bash images/build.sh [scratch|debian|all|deploy]   (default: all)
#
# deploy: the images docker-compose.yml runs (images/deploy/build.sh).
#
# gatewave/sessiond-scratch   FROM scratch: the static sessiond, tini-static
#                             (Debian's tini package) as PID 1 to reap zombies,
#                             git and busybox. For tests only.
# gatewave/workspace-debian   a bookworm root filesystem made by mmdebstrap from
#                             Debian's archive with the FPGA toolchain, imported
#                             with `docker import`, plus sessiond and tini.
#                             The mmdebstrap step is cached: it is skipped while
#                             the hash of its inputs (package list, this script)
#                             is unchanged, because that base image is tagged
#                             with the hash.
# images/Dockerfile           the production image on Nix; documented, not built
#                             here (no image registry is reachable).
#
# Every container runs `tini -- sessiond serve --root /workspace
# --listen unix:/run/gatewave/sessiond.sock --control unix:/run/gatewave/control.sock
# --token-file /run/gatewave/token --user 1000:1000`: /run/gatewave is a
# per-container directory bind-mounted by nodegw that only root can enter;
# sessiond binds its sockets there as root and then runs as uid 1000, the
# user, like everything it starts. sessiond is /usr/local/bin/sessiond in
# both images (nodegw runs `sessiond snapshot` from it to save a dead
# container's workspace).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
what=${1:-all}
# The docker-compose deployment's images have a script of their own.
[ "$what" = deploy ] && exec bash "$here/deploy/build.sh"
cache=${XDG_CACHE_HOME:-$HOME/.cache}/gatewave/images
log() { echo "images: $*" >&2; }

command -v docker >/dev/null || { log "docker CLI missing: apt-get install docker.io"; exit 1; }
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || { log "dockerd does not answer: start it (scripts/dockerd.sh)"; exit 1; }

tini=/usr/bin/tini-static
[ -x "$tini" ] || { log "$tini missing: apt-get install tini"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The static sessiond, shared by both images.
build_sessiond() {
	log "building static sessiond"
	(cd "$root/sessiond" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$work/sessiond" ./cmd/sessiond)
}

build_scratch() {
	local ctx=$work/scratch r=$work/scratch/rootfs
	mkdir -p "$r/tmp" "$r/run/gatewave" "$r/etc" "$r/bin" "$r/usr/local/bin" "$ctx/user/workspace" "$ctx/user/home/dev"
	chmod 1777 "$r/tmp"
	chmod 700 "$r/run/gatewave" # root's alone, whether bind-mounted over or not
	# uid 1000 runs everything the user starts; root only binds sessiond's
	# sockets and reads its token before sessiond drops to 1000.
	printf 'root:x:0:0:root:/root:/bin/sh\ndev:x:1000:1000:dev:/home/dev:/bin/sh\n' >"$r/etc/passwd"
	printf 'root:x:0:\ndev:x:1000:\n' >"$r/etc/group"
	# (owned by uid 1000 through COPY --chown in the Dockerfile: COPY
	# itself gives everything to root)
	cp "$work/sessiond" "$r/usr/local/bin/sessiond"
	cp "$tini" "$r/init"
	# git (workspace snapshots run it as the user) with the libraries it
	# links, and busybox for a shell, so tests can act as a user would.
	local bb=/bin/busybox git=/usr/bin/git lib
	[ -x "$bb" ] || { log "$bb missing: apt-get install busybox-static"; exit 1; }
	cp "$bb" "$r/bin/busybox"
	for a in $("$bb" --list); do [ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"; done
	mkdir -p "$r/usr/bin" "$r/usr/lib/git-core"
	cp "$git" "$r/usr/bin/git"
	ln -f "$r/usr/bin/git" "$r/usr/lib/git-core/git"
	for lib in $(ldd "$git" | grep -o '/[^ ]*'); do
		mkdir -p "$r$(dirname "$lib")"
		cp -L "$lib" "$r$lib"
	done
	cp "$here/scratch/Dockerfile" "$ctx/Dockerfile"
	log "building gatewave/sessiond-scratch"
	docker build -q -t gatewave/sessiond-scratch "$ctx" >/dev/null
}

build_debian() {
	local pkgs hash base
	pkgs=$(grep -v '^#' "$here/debian/packages.txt" | xargs | tr ' ' ',')
	hash=$(cat "$here/debian/packages.txt" "$here/build.sh" /etc/apt/sources.list.d/debian.sources 2>/dev/null | sha256sum | cut -c1-16)
	base=gatewave/workspace-debian-base:$hash
	if docker image inspect "$base" >/dev/null 2>&1; then
		log "$base is up to date; skipping mmdebstrap"
	else
		command -v mmdebstrap >/dev/null || { log "mmdebstrap missing: apt-get install mmdebstrap"; exit 1; }
		mkdir -p "$cache"
		local tar=$cache/workspace-debian-$hash.tar
		if [ ! -f "$tar" ]; then
			log "mmdebstrap bookworm with: $pkgs (several minutes)"
			local sources=()
			[ -f /etc/apt/sources.list.d/debian.sources ] && sources=(/etc/apt/sources.list.d/debian.sources)
			# Not --quiet: its phase lines (update, download, extract, install) are the progress a first run shows.
			mmdebstrap --format=tar --variant=apt --include="$pkgs" \
				--customize-hook='chroot "$1" apt-get clean' \
				--customize-hook='rm -rf "$1"/var/lib/apt/lists/*' \
				bookworm "$tar.partial" "${sources[@]}"
			mv "$tar.partial" "$tar"
		fi
		log "docker import $base"
		docker import "$tar" "$base" >/dev/null
		rm -f "$tar"
	fi
	local ctx=$work/debian
	mkdir -p "$ctx"
	cp "$work/sessiond" "$ctx/sessiond"
	sed "s|@BASE@|$base|" "$here/debian/Dockerfile" >"$ctx/Dockerfile"
	log "building gatewave/workspace-debian"
	docker build -q -t gatewave/workspace-debian "$ctx" >/dev/null
	prune_debian "$hash"
}

# prune_debian drops what earlier package lists left behind (1.25 GB each):
# the other hash tags of the base, and the untagged workspace images built
# on them. An image a container still uses stays (docker refuses), and is
# dropped by a later run.
prune_debian() {
	local old
	old=$(docker images --format '{{.Repository}}:{{.Tag}}' gatewave/workspace-debian-base | grep -v ":$1\$" || true)
	if [ -n "$old" ]; then
		log "removing old base images: $(echo $old)"
		docker rmi $old >/dev/null 2>&1 || true
	fi
	docker image prune -f --filter label=gatewave.image=workspace-debian >/dev/null 2>&1 || true
}

case $what in
scratch) build_sessiond; build_scratch ;;
debian) build_sessiond; build_debian ;;
all) build_sessiond; build_scratch; build_debian ;;
*) log "unknown target $what (scratch, debian or all)"; exit 2 ;;
esac
log "done: $(docker images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E '^gatewave/(sessiond-scratch|workspace-debian):' | xargs)"

#!/usr/bin/env bash
# Installs what the project needs on Debian bookworm, idempotently: Debian
# packages that are missing, gopls, and the frontend's npm packages. Quiet
# when everything is already there. Run as root (or with sudo available).
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(
  git make gcc pkg-config ca-certificates procps psmisc lsof iproute2 curl
  docker.io docker-compose postgresql
  chromium xvfb xauth imagemagick
  libwebkit2gtk-4.0-dev libgtk-3-dev
  clangd ripgrep
  yosys nextpnr-ice40 fpga-icestorm fpga-icestorm-chipdb iverilog verilator ghdl openfpgaloader dfu-util gtkwave
  mmdebstrap tini busybox-static e2fsprogs util-linux
  nix-bin
)
GOPLS_VERSION=v0.23.0 # the newest gopls that builds with Go 1.26

sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

gobin="$(go env GOPATH)/bin"
if ! [ -x "$gobin/gopls" ] || ! "$gobin/gopls" version 2>/dev/null | grep -q "$GOPLS_VERSION"; then
  echo "bootstrap: installing gopls $GOPLS_VERSION"
  GOFLAGS= go install "golang.org/x/tools/gopls@$GOPLS_VERSION"
fi

STATICCHECK_VERSION=v0.8.2
if ! [ -x "$gobin/staticcheck" ] || ! "$gobin/staticcheck" -version 2>/dev/null | grep -q "${STATICCHECK_VERSION#v}"; then
  echo "bootstrap: installing staticcheck $STATICCHECK_VERSION"
  GOFLAGS= go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
fi

if [ -f frontend/package-lock.json ]; then
  stamp=frontend/node_modules/.gatewave-lock
  if ! [ -f "$stamp" ] || ! cmp -s frontend/package-lock.json "$stamp"; then
    echo "bootstrap: installing frontend npm packages"
    # npm 11 leaves other platforms' optional packages (rollup's native
    # builds) out of the lock it writes and then calls that lock out of
    # sync in `npm ci`; `npm install` installs the same locked versions.
    (cd frontend && { npm ci --no-audit --no-fund --loglevel=silent 2>/dev/null || npm install --no-audit --no-fund --loglevel=error; })
    cp frontend/package-lock.json "$stamp"
  fi
fi

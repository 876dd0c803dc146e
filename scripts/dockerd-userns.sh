#!/usr/bin/env bash
# Starts a second dockerd with user-namespace remapping (--userns-remap=
# default: container root is uid 100000 on the host) when none answers, for
# the tests that check the pool under remapping, and prints its socket. It
# shares nothing with the main dockerd: its own socket, data and exec roots.
set -euo pipefail
sock=/run/gatewave-userns/docker.sock
if DOCKER_HOST=unix://$sock docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
  echo "unix://$sock"; exit 0
fi
command -v dockerd >/dev/null || { echo "dockerd: not installed (run scripts/bootstrap.sh)" >&2; exit 1; }
mkdir -p /run/gatewave-userns /var/lib/gatewave-userns-docker
log=/var/log/gatewave-dockerd-userns.log
echo "dockerd (userns-remap): starting (log: $log)" >&2
nohup dockerd --userns-remap=default --bridge=none --iptables=false --ip6tables=false \
  -H "unix://$sock" --data-root /var/lib/gatewave-userns-docker --exec-root /run/gatewave-userns/exec \
  --pidfile /run/gatewave-userns/docker.pid >"$log" 2>&1 &
for _ in $(seq 1 60); do
  if DOCKER_HOST=unix://$sock docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
    echo "unix://$sock"; exit 0
  fi
  sleep 0.5
done
echo "dockerd (userns-remap): did not answer within 30 s; last log lines:" >&2
tail -n 20 "$log" >&2
exit 1

#!/usr/bin/env bash
# Starts dockerd when none answers. Containers here run with --network none,
# so the daemon needs no bridge or iptables. Layers stay in /var/lib/docker
# between runs, which caches image builds.
set -euo pipefail
if docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
  exit 0
fi
command -v dockerd >/dev/null || { echo "dockerd: not installed (run scripts/bootstrap.sh)" >&2; exit 1; }
log=/var/log/gatewave-dockerd.log
echo "dockerd: starting (log: $log)"
nohup dockerd --bridge=none --iptables=false --ip6tables=false >"$log" 2>&1 &
for _ in $(seq 1 60); do
  if docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
    exit 0
  fi
  sleep 0.5
done
echo "dockerd: did not answer within 30 s; last log lines:" >&2
tail -n 20 "$log" >&2
exit 1

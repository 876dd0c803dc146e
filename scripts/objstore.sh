#!/usr/bin/env bash
# Start Gatewave's S3-compatible object store (versitygw, Apache-2.0, POSIX
# backend) if it is not running, ensure the `gatewave` bucket, and print one
# line on stdout: http://ACCESS:SECRET@127.0.0.1:PORT/gatewave (endpoint,
# credentials and bucket, as postgres.sh prints DATABASE_URL).
# Idempotent: run it as often as you like. Everything lives under
# ${XDG_CACHE_HOME:-~/.cache}/gatewave: the binary (bin/), the root access key
# and secret (generated once, mode 0600), the objects (objstore/data), the pid
# file and the log. The gateway listens on 127.0.0.1 only.
#   GATEWAVE_OBJSTORE_PORT  listen port (default 8490)
#   GATEWAVE_OBJSTORE_BUCKET bucket to ensure (default gatewave)
set -euo pipefail

version=v1.8.0 # github.com/versity/versitygw, pinned
port=${GATEWAVE_OBJSTORE_PORT:-8490}
bucket=${GATEWAVE_OBJSTORE_BUCKET:-gatewave}
region=us-east-1
cache=${XDG_CACHE_HOME:-$HOME/.cache}/gatewave
bin=$cache/bin/versitygw
state=$cache/objstore
data=$state/data
pidfile=$state/versitygw-$port.pid
logfile=$state/versitygw-$port.log
akfile=$cache/objstore-access-key
skfile=$cache/objstore-secret-key

log() { echo "objstore.sh: $*" >&2; }

case $port in '' | *[!0-9]*) log "GATEWAVE_OBJSTORE_PORT=$port: not a port number"; exit 1 ;; esac
case $bucket in '' | *[!a-z0-9.-]*) log "GATEWAVE_OBJSTORE_BUCKET=$bucket: use lower-case letters, digits, . and -"; exit 1 ;; esac
command -v curl >/dev/null || { log "curl not found: apt-get install curl"; exit 1; }

mkdir -p "$cache" "$data"
chmod 700 "$cache" "$state"

# Several test binaries may run this at once: one at a time.
exec 9>"$state/lock"
flock 9

# The binary, built once from the pinned version (go version -m tells which
# version a binary was built from; a different one is rebuilt).
installed() { [ -x "$bin" ] && go version -m "$bin" 2>/dev/null | awk '$1=="mod" {print $3}' | grep -qx "$version"; }
if ! installed; then
	command -v go >/dev/null || { log "go not found: it builds versitygw"; exit 1; }
	log "building versitygw $version into $cache/bin (once; about 2 minutes on a fresh machine)"
	GOBIN=$cache/bin GOFLAGS=-buildvcs=false go install "github.com/versity/versitygw/cmd/versitygw@$version" >&2
	installed || { log "go install did not produce versitygw $version at $bin"; exit 1; }
	# A gateway still running an older build would keep the port: stop it.
	if old=$(cat "$pidfile" 2>/dev/null) && [ -n "$old" ] && [ "$(readlink "/proc/$old/exe" 2>/dev/null)" = "$bin (deleted)" ]; then
		log "stopping the old versitygw (pid $old)"
		kill "$old" 2>/dev/null || true
		for _ in $(seq 1 40); do kill -0 "$old" 2>/dev/null || break; sleep 0.25; done
	fi
fi

# Root credentials: hex, so they sit in a URL's userinfo without escaping.
for f in "$akfile:10" "$skfile:20"; do
	file=${f%:*} n=${f##*:}
	if [ ! -s "$file" ]; then
		(umask 077; head -c "$n" /dev/urandom | od -An -tx1 | tr -d ' \n' >"$file")
	fi
	chmod 600 "$file"
done
ak=$(cat "$akfile")
sk=$(cat "$skfile")

endpoint=http://127.0.0.1:$port
healthy() { curl -fsS -m 2 -o /dev/null "$endpoint/health" 2>/dev/null; }
ours() {
	local pid
	pid=$(cat "$pidfile" 2>/dev/null) || return 1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$bin")" ]
}

if ! ours; then
	if healthy; then
		log "something else answers on 127.0.0.1:$port; stop it or set GATEWAVE_OBJSTORE_PORT"
		exit 1
	fi
	log "starting versitygw $version on 127.0.0.1:$port (log: $logfile)"
	# Credentials go through the environment, not argv (ps shows argv to
	# everyone), and nothing else of the caller's (its database URL, admin
	# token) reaches the store.
	env -i PATH=/usr/bin:/bin HOME="$cache" ROOT_ACCESS_KEY_ID="$ak" ROOT_SECRET_ACCESS_KEY="$sk" setsid nohup "$bin" \
		--port "127.0.0.1:$port" --region "$region" --health /health --quiet \
		posix "$data" >>"$logfile" 2>&1 </dev/null 9>&- &
	echo $! >"$pidfile"
fi

for _ in $(seq 1 60); do
	healthy && break
	ours || break
	sleep 0.25
done
if ! healthy; then
	log "versitygw on 127.0.0.1:$port does not answer; last log lines:"
	tail -n 20 "$logfile" >&2 || true
	exit 1
fi

# The bucket: HEAD, then PUT when missing, signed with SigV4 by curl.
# The credentials reach curl on stdin (-K -), not in its argv. S3 wants the
# payload's hash signed too: these requests have none (the empty string's).
empty_sha256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
s3() {
	printf 'user = "%s:%s"\n' "$ak" "$sk" |
		curl -sS -m 10 -K - --aws-sigv4 "aws:amz:$region:s3" -H "x-amz-content-sha256: $empty_sha256" \
			-o /dev/null -w '%{http_code}' "$@"
}
code=$(s3 -I "$endpoint/$bucket")
if [ "$code" = 404 ]; then
	code=$(s3 -X PUT "$endpoint/$bucket")
	case $code in 200 | 409) ;; *) log "create bucket $bucket: HTTP $code"; exit 1 ;; esac
elif [ "$code" != 200 ]; then
	log "head bucket $bucket: HTTP $code"
	exit 1
fi

echo "http://$ak:$sk@127.0.0.1:$port/$bucket"

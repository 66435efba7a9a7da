#!/bin/sh
# bench-dex.sh runs the same load as bench-login.sh against Dex, so the two
# are measured side by side on one machine: `sallyport bench login` drives
# full federated sign-ins (browser hops, the bench upstream, code exchange
# with PKCE and client_secret_basic, ID-token verification) against Dex's
# OpenID Provider, with Dex signing in through the same upstream with its
# OIDC connector.
#
#   DEX=/path/to/dex scripts/bench-dex.sh [sqlite3] [memory]   (both by default)
#
# Dex is not built here: DEX names a dex binary (docs/performance.md says
# which one the recorded figures used). Environment: BROWSERS ("32 1"),
# DURATION (30s), OUT (./bench-out), UPSTREAM (127.0.0.1:9000), DEX_ADDR
# (127.0.0.1:5556).
#
# Dex does not pass login_hint on to its upstream, so every sign-in is the
# upstream's first user. Dex fetches its upstream's discovery document when
# it starts and will not start without it, so bench login (which runs the
# upstream) starts first and waits for Dex.
set -eu

: "${DEX:?DEX must name a dex binary}"
BROWSERS=${BROWSERS:-32 1}
DURATION=${DURATION:-30s}
OUT=${OUT:-./bench-out}
UPSTREAM=${UPSTREAM:-127.0.0.1:9000}
DEX_ADDR=${DEX_ADDR:-127.0.0.1:5556}
issuer=http://$DEX_ADDR/dex

cd "$(dirname "$0")/.."
mkdir -p "$OUT"
if [ -n "${BIN:-}" ]; then
	cp "$BIN" "$OUT/sallyport"
else
	go build -o "$OUT/sallyport" ./cmd/sallyport
fi
bin=$OUT/sallyport

dex= bench=
cleanup() {
	for p in $dex $bench; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

# config NAME STORAGE: Dex's configuration for one run, with the bench
# app and the bench upstream of bench-login.sh's Sallyport configuration.
config() {
	name=$1 storage=$2
	case $storage in
	sqlite3) storage_block="  type: sqlite3
  config:
    file: $OUT/$name.db" ;;
	memory) storage_block="  type: memory" ;;
	esac
	cat <<EOF
issuer: $issuer
storage:
$storage_block
web:
  http: $DEX_ADDR
logger:
  level: warn
oauth2:
  skipApprovalScreen: true
  responseTypes: [code]
enablePasswordDB: false
staticClients:
  - id: bench-app
    secret: bench-app-secret
    name: Bench app
    redirectURIs: [http://127.0.0.1/bench/callback]
connectors:
  - type: oidc
    id: bench
    name: Bench
    config:
      issuer: http://$UPSTREAM/generic
      clientID: sallyport-bench
      clientSecret: sallyport-bench-upstream-secret
      redirectURI: $issuer/callback
      scopes: [email, profile]
EOF
}

# run NAME STORAGE BROWSERS: one measured run on a fresh Dex.
run() {
	name=$1 storage=$2 browsers=$3
	echo "== $name: $browsers browsers for $DURATION"
	rm -f "$OUT/$name.db" "$OUT/$name.db-wal" "$OUT/$name.db-shm"
	config "$name" "$storage" > "$OUT/$name.yaml"
	"$bin" bench login --sallyport "$issuer" --upstream "$UPSTREAM" --upstream-callback "$issuer/callback" \
		-c "$browsers" -d "$DURATION" --users 1 --cpu-of dex > "$OUT/$name.out" 2>&1 &
	bench=$!
	i=0
	until curl -fs -o /dev/null "http://$UPSTREAM/generic/.well-known/openid-configuration"; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$bench" 2>/dev/null; then
			cat "$OUT/$name.out" >&2
			echo "the bench upstream did not start" >&2
			exit 1
		fi
		sleep 0.1
	done
	"$DEX" serve "$OUT/$name.yaml" 2> "$OUT/$name.dex.log" &
	dex=$!
	status=0
	wait "$bench" || status=$?
	bench=
	cat "$OUT/$name.out"
	kill -TERM "$dex"
	wait "$dex" || true
	dex=
	return $status
}

targets=${*:-sqlite3 memory}
failed=0
for t in $targets; do
	for b in $BROWSERS; do
		run "dex-$t-$b" "$t" "$b" || failed=1
	done
done
exit $failed

#!/bin/sh
# bench-login.sh runs `sallyport bench login` against a fresh Sallyport on
# SQLite and then on PostgreSQL, each in its own process with a CPU profile,
# and prints the figures and the profile's top functions.
#
#   scripts/bench-login.sh [sqlite] [postgres]      (both by default)
#
# Environment: BROWSERS ("32 1": one run for each count, each on a fresh
# server and database), DURATION (30s), USERS (100), PG
# (postgres://postgres@127.0.0.1:5432; the script creates and drops a
# database bench_<pid>_<n> there with psql), OUT (./bench-out: configs,
# databases, logs and profiles are kept there), SALLYPORT
# (http://127.0.0.1:8080) and UPSTREAM (127.0.0.1:9000): where Sallyport and
# the bench upstream listen, ID_TOKEN_ALG (RS256): what Sallyport signs the
# bench app's ID tokens with, BIN: a sallyport binary to measure instead of
# building this tree (to compare two builds on the same machine).
set -eu

BROWSERS=${BROWSERS:-32 1}
DURATION=${DURATION:-30s}
USERS=${USERS:-100}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
OUT=${OUT:-./bench-out}
SALLYPORT=${SALLYPORT:-http://127.0.0.1:8080}
UPSTREAM=${UPSTREAM:-127.0.0.1:9000}
ID_TOKEN_ALG=${ID_TOKEN_ALG:-RS256}

cd "$(dirname "$0")/.."
mkdir -p "$OUT"
if [ -n "${BIN:-}" ]; then
	cp "$BIN" "$OUT/sallyport"
else
	go build -o "$OUT/sallyport" ./cmd/sallyport
fi
bin=$OUT/sallyport

server=
cleanup() {
	if [ -n "$server" ]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
}
trap cleanup EXIT INT TERM

# run NAME DATABASE BROWSERS [bench login flags]: one measured run on a
# fresh server. A fresh server each time, because every bench login starts
# an upstream with new keys.
run() {
	name=$1 database=$2 browsers=$3
	shift 3
	echo "== $name: $browsers browsers for $DURATION"
	"$bin" bench config --sallyport "$SALLYPORT" --upstream "$UPSTREAM" --database "$database" \
		--id-token-alg "$ID_TOKEN_ALG" > "$OUT/$name.yaml"
	"$bin" serve --config "$OUT/$name.yaml" --cpu-profile "$OUT/$name.cpu.pprof" 2> "$OUT/$name.serve.log" &
	server=$!
	i=0
	until curl -fs -o /dev/null "$SALLYPORT/readyz"; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$server" 2>/dev/null; then
			echo "sallyport did not start; see $OUT/$name.serve.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	status=0
	"$bin" bench login --sallyport "$SALLYPORT" --upstream "$UPSTREAM" \
		-c "$browsers" -d "$DURATION" --users "$USERS" --sallyport-pid "$server" "$@" || status=$?
	kill -TERM "$server"
	wait "$server" || true
	server=
	echo "-- where Sallyport's CPU went ($OUT/$name.cpu.pprof, warm-up included)"
	go tool pprof -top -nodecount=25 "$bin" "$OUT/$name.cpu.pprof" 2>/dev/null | sed -n '5,32p'
	return $status
}

targets=${*:-sqlite postgres}
failed=0
for t in $targets; do
	for b in $BROWSERS; do
		case $t in
		sqlite)
			rm -f "$OUT/sqlite-$b.db" "$OUT/sqlite-$b.db-wal" "$OUT/sqlite-$b.db-shm"
			run "sqlite-$b" "sqlite:$OUT/sqlite-$b.db" "$b" || failed=1
			;;
		postgres)
			db=bench_$$_$b
			psql "$PG/postgres" -qc "CREATE DATABASE $db"
			run "postgres-$b" "$PG/$db?sslmode=disable" "$b" --cpu-of postgres || failed=1
			psql "$PG/postgres" -qc "DROP DATABASE $db"
			;;
		*)
			echo "unknown target $t: want sqlite or postgres" >&2
			exit 2
			;;
		esac
	done
done
exit $failed

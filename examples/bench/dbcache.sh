#!/usr/bin/env bash
# The database cache (issue 18): the Go bench server's fragment page on
# sqlite:// against memory://, alternately, in one run; then a Get of an
# 8 KiB value against Django 3.2's DatabaseCache on the same SQLite file
# and on the same PostgreSQL database (cache/db's TestGetSpeedAgainstDjango).
#
#   examples/bench/dbcache.sh [-d 5s] [-r 3]
#
# Needs wrk, curl, python3-django, python3-psycopg2 and postgresql.
# Prints Markdown tables.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_options "$@"

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
WORK=$(mktemp -d)
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT


(cd "$REPO" && go build -o "$WORK/server" ./examples/bench/server)

# rps URL PATH: starts the server on a fresh cache, warms up, measures.
rps() {
	local url=$1 path=$2 port
	port=$(free_port)
	rm -f "$WORK"/cache.db*
	"$WORK/server" -addr "127.0.0.1:$port" -mode fragment -cache "$url" \
		-templates "$HERE/templates" -data "$HERE/data/articles.json" 2>/dev/null &
	local pid=$!
	for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$port$path" && break; sleep 0.1; done
	measure "http://127.0.0.1:$port$path"
	kill "$pid"
	wait "$pid" 2>/dev/null || true
}


echo "Run of $(date -u '+%Y-%m-%d %H:%M') UTC: \`examples/bench/dbcache.sh $ARGS\`, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| page | memory:// req/s | sqlite:// req/s | sqlite / memory |"
echo "|---|--:|--:|--:|"
for path in "/articles/?page=1" "/articles/collection/?page=1"; do
	mem=() sql=()
	for _ in $(seq "$ROUNDS"); do
		mem+=("$(rps "memory://" "$path")")
		sql+=("$(rps "sqlite://$WORK/cache.db?table=my_cache_table" "$path")")
	done
	m=$(printf '%s\n' "${mem[@]}" | median)
	s=$(printf '%s\n' "${sql[@]}" | median)
	page=list
	[[ $path == *collection* ]] && page=collection
	echo "| $page | $m | $s | $(awk -v a="$s" -v b="$m" 'BEGIN { printf "%.2f×", a / b }') |"
done
echo
echo "Get of an 8 KiB value, one caller, Django 3.2's DatabaseCache against cache/db on the same table:"
echo
(cd "$REPO" && FRAGCACHE_REQUIRE_SERVERS=1 FRAGCACHE_BENCH_DJANGO=1 go test ./cache/db -run GetSpeedAgainstDjango -count=1 -v) |
	sed -n 's/.*speed_test.go:[0-9]*: /- /p'
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

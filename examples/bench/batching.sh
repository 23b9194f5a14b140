#!/usr/bin/env bash
# What batching reads saves on a network cache: the Go bench server on
# memcached and on Redis (no near cache), each page measured with and
# without the feature, alternately, in one run:
#
#   fragment mode, list page        prefetch vs -no-prefetch (2 fragment reads → 1)
#   fragment mode, collection page  prefetch vs -no-prefetch (16 reads → 1)
#   page mode, list page            single-read hit vs -two-read-hits (2 reads → 1)
#
#   examples/bench/batching.sh [-d 5s] [-r 3] [-base REV]
#
# With -base REV, "without" is the server built at commit REV (a git
# worktree), run with no flags: the code before the feature, rather than
# the feature turned off.
#
# Needs wrk, curl, memcached and redis-server (with redis-cli) (examples/bench/run.sh installs
# them). Prints a Markdown table of requests per second (the median of the
# rounds) and the ratio.
set -euo pipefail

DURATION=5s
ROUNDS=3
BASE=""
ARGS="$*"
while (($#)); do
	case $1 in
	-d) DURATION=$2; shift ;;
	-r) ROUNDS=$2; shift ;;
	-base) BASE=$2; shift ;;
	*) echo "usage: $0 [-d DURATION] [-r ROUNDS] [-base REV]" >&2; exit 2 ;;
	esac
	shift
done

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
WORK=$(mktemp -d)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[[ -z $BASE ]] || git -C "$REPO" worktree remove --force "$WORK/base" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MC_PORT=$(free_port)
memcached -l 127.0.0.1 -p "$MC_PORT" -U 0 -m 128 -t 2 -u "$(id -un)" &
PIDS+=($!)
RD_PORT=$(free_port)
redis-server --bind 127.0.0.1 --port "$RD_PORT" --save '' --appendonly no --dir "$WORK" --daemonize no >/dev/null &
PIDS+=($!)
sleep 0.5

(cd "$REPO" && go build -o "$WORK/server" ./examples/bench/server)
if [[ -n $BASE ]]; then
	git -C "$REPO" worktree add -q --detach "$WORK/base" "$BASE"
	(cd "$WORK/base" && go build -o "$WORK/server-base" ./examples/bench/server)
fi

flush() {
	local reply
	exec 3<>"/dev/tcp/127.0.0.1/$MC_PORT"
	printf 'flush_all\r\n' >&3
	read -r reply <&3
	exec 3>&-
	[[ $reply == OK* ]] || { echo "memcached flush_all: $reply" >&2; exit 1; }
	redis-cli -p "$RD_PORT" FLUSHALL >/dev/null
}

# rps BIN MODE URL PATH FLAG...: starts the server, warms up, measures.
rps() {
	local bin=$1 mode=$2 url=$3 path=$4
	shift 4
	local port
	port=$(free_port)
	flush
	"$bin" -addr "127.0.0.1:$port" -mode "$mode" -cache "$url" \
		-templates "$HERE/templates" -data "$HERE/data/articles.json" "$@" 2>/dev/null &
	local pid=$!
	for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$port$path" && break; sleep 0.1; done
	measure "http://127.0.0.1:$port$path"
	kill "$pid"
	wait "$pid" 2>/dev/null || true
}


echo "Run of $(date -u '+%Y-%m-%d %H:%M') UTC: \`examples/bench/batching.sh $ARGS\`, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| cache | page | mode | without req/s | with req/s | with / without |"
echo "|---|---|---|--:|--:|--:|"
for cache in memcached redis; do
	case $cache in
	memcached) url="memcached://127.0.0.1:$MC_PORT" ;;
	redis) url="redis://127.0.0.1:$RD_PORT/0" ;;
	esac
	for row in "fragment /articles/?page=1 -no-prefetch" "fragment /articles/collection/?page=1 -no-prefetch" "page /articles/?page=1 -two-read-hits"; do
		read -r mode path flag <<<"$row"
		without=() with=()
		for _ in $(seq "$ROUNDS"); do
			if [[ -n $BASE ]]; then
				without+=("$(rps "$WORK/server-base" "$mode" "$url" "$path")")
			else
				without+=("$(rps "$WORK/server" "$mode" "$url" "$path" "$flag")")
			fi
			with+=("$(rps "$WORK/server" "$mode" "$url" "$path")")
		done
		wo=$(printf '%s\n' "${without[@]}" | median)
		wi=$(printf '%s\n' "${with[@]}" | median)
		page=list
		[[ $path == *collection* ]] && page=collection
		echo "| $cache | $page | $mode | $wo | $wi | $(awk -v a="$wi" -v b="$wo" 'BEGIN { printf "%.2f×", a / b }') |"
	done
done
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

#!/usr/bin/env bash
# The stampede benchmark (issue 16): what leases, jitter and grace do to a
# hot fragment expiring under load, and what they cost on a hit.
#
# Part 1, expiries: GET /hot/ (templates/hot.html: one {% cache 1 hot %}
# fragment whose render costs -hot-delay, 200ms, and the sidebar), served
# by 4 Go server processes (examples/bench/server) on ONE memcached, under
# a steady open-loop load spread round-robin over the 4
# (examples/bench/stampedeload, which timestamps every request), for each
# protection: none, lease=1&jitter=0.1, lease=1&grace=5s. It reports the
# renders per expiry across the 4 processes (from each server's
# GET /stats/hot) and the p99 latency of requests sent during an expiry
# (between the first render's start and the last render's end) vs
# between expiries.
#
# Part 2, hits: the list page (fragment mode, two fragment hits) with wrk,
# on memcached and on Redis: the server built at -base REV (default
# 2074400, the budget's reference commit) with no options, against this
# tree's server without options, with lease=1&jitter=0.1 and with lease=1&grace=5s,
# alternately, -r rounds; the median requests per second and the ratio.
#
#   examples/bench/stampede.sh [-d 20s] [-rate 1000] [-hd 5s] [-r 3] [-base REV] [--no-hits] [--no-expiries]
#
# Needs Go, wrk, curl, memcached and redis-server (with redis-cli)
# (examples/bench/run.sh installs them). Prints Markdown tables.
set -euo pipefail

DURATION=20s
RATE=1000
HIT_DURATION=5s
ROUNDS=3
BASE=2074400
HITS=1
EXPIRIES=1
HOT_DELAY=200ms
ARGS="$*"
while (($#)); do
	case $1 in
	-d) DURATION=$2; shift ;;
	-rate) RATE=$2; shift ;;
	-hd) HIT_DURATION=$2; shift ;;
	-r) ROUNDS=$2; shift ;;
	-base) BASE=$2; shift ;;
	--no-hits) HITS=0 ;;
	--no-expiries) EXPIRIES=0 ;;
	*) echo "usage: $0 [-d DURATION] [-rate REQ_PER_S] [-hd HIT_DURATION] [-r ROUNDS] [-base REV] [--no-hits] [--no-expiries]" >&2; exit 2 ;;
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
	git -C "$REPO" worktree remove --force "$WORK/base" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

MC_PORT=$(free_port)
memcached -l 127.0.0.1 -p "$MC_PORT" -U 0 -m 128 -t 2 -c 4096 -u "$(id -un)" &
PIDS+=($!)
RD_PORT=$(free_port)
redis-server --bind 127.0.0.1 --port "$RD_PORT" --save '' --appendonly no --dir "$WORK" --daemonize no >/dev/null &
PIDS+=($!)
sleep 0.5

(cd "$REPO" && go build -o "$WORK/server" ./examples/bench/server && go build -o "$WORK/load" ./examples/bench/stampedeload)

flush() {
	local reply
	exec 3<>"/dev/tcp/127.0.0.1/$MC_PORT"
	printf 'flush_all\r\n' >&3
	read -r reply <&3
	exec 3>&-
	[[ $reply == OK* ]] || { echo "memcached flush_all: $reply" >&2; exit 1; }
	redis-cli -p "$RD_PORT" FLUSHALL >/dev/null
}

# start BIN URL PATH FLAG...: starts a server in fragment mode on a free
# port, waits until PATH answers, and prints "PID PORT".
start() {
	local bin=$1 url=$2 path=$3
	shift 3
	local port pid
	port=$(free_port)
	"$bin" -addr "127.0.0.1:$port" -mode fragment -cache "$url" \
		-templates "$HERE/templates" -data "$HERE/data/articles.json" "$@" >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port$path" && break; sleep 0.1; done
	echo "$pid $port"
}

echo "Run of $(date -u '+%Y-%m-%d %H:%M') UTC: \`examples/bench/stampede.sh $ARGS\`, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

if ((EXPIRIES)); then
	echo
	echo "GET /hot/: one fragment, timeout 1 s, render $HOT_DELAY; 4 server processes on one memcached; $RATE requests/s for $DURATION (after a 2 s warm-up), round-robin."
	echo
	echo "| protection | requests | errors | expiries | renders | renders/expiry (mean, max) | p50 | p99 during expiries | p99 between | during / between |"
	echo "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
	for row in "none|" "lease=1&jitter=0.1|lease=1&jitter=0.1" "lease=1&grace=5s|lease=1&grace=5s"; do
		label=${row%%|*} opts=${row#*|}
		flush
		targets=() pids=()
		for _ in 1 2 3 4; do
			read -r pid port < <(start "$WORK/server" "memcached://127.0.0.1:$MC_PORT?$opts" /hot/ -hot-delay "$HOT_DELAY")
			PIDS+=("$pid")
			pids+=("$pid")
			targets+=("http://127.0.0.1:$port/hot/")
		done
		"$WORK/load" -label "$label" -rate "$RATE" -d "$DURATION" "${targets[@]}"
		for pid in "${pids[@]}"; do kill "$pid"; wait "$pid" 2>/dev/null || true; done
	done
fi

if ((HITS)); then
	git -C "$REPO" worktree add -q --detach "$WORK/base" "$BASE"
	(cd "$WORK/base" && go build -o "$WORK/server-base" ./examples/bench/server)
	median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
	# rps BIN URL: requests per second of the list page (fragment hits).
	rps() {
		local pid port
		flush
		read -r pid port < <(start "$1" "$2" "/articles/?page=1")
		PIDS+=("$pid")
		wrk -t2 -c32 -d2s "http://127.0.0.1:$port/articles/?page=1" >/dev/null
		wrk -t2 -c32 -d"$HIT_DURATION" "http://127.0.0.1:$port/articles/?page=1" | awk '/Requests\/sec/ { printf "%d", $2 }'
		kill "$pid"
		wait "$pid" 2>/dev/null || true
	}
	echo
	echo "List page, fragment hits (wrk -t2 -c32 -d$HIT_DURATION, median of $ROUNDS alternating rounds): $BASE with no options vs this tree without options and with each protection."
	echo
	echo "| cache | $BASE req/s | no options req/s | ratio | lease=1&jitter=0.1 req/s | ratio | lease=1&grace=5s req/s | ratio |"
	echo "|---|--:|--:|--:|--:|--:|--:|--:|"
	for cache in memcached redis; do
		case $cache in
		memcached) url="memcached://127.0.0.1:$MC_PORT" ;;
		redis) url="redis://127.0.0.1:$RD_PORT/0" ;;
		esac
		base=() plain=() lease=() grace=()
		for _ in $(seq "$ROUNDS"); do
			base+=("$(rps "$WORK/server-base" "$url")")
			plain+=("$(rps "$WORK/server" "$url")")
			lease+=("$(rps "$WORK/server" "$url?lease=1&jitter=0.1")")
			grace+=("$(rps "$WORK/server" "$url?lease=1&grace=5s")")
		done
		b=$(printf '%s\n' "${base[@]}" | median)
		p=$(printf '%s\n' "${plain[@]}" | median)
		l=$(printf '%s\n' "${lease[@]}" | median)
		g=$(printf '%s\n' "${grace[@]}" | median)
		ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f×", a / b }'; }
		echo "| $cache | $b | $p | $(ratio "$p" "$b") | $l | $(ratio "$l" "$b") | $g | $(ratio "$g" "$b") |"
	done
fi
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

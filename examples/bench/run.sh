#!/usr/bin/env bash
# Django vs fragcache on the same article pages, side by side, with wrk on
# 127.0.0.1. See examples/bench/README.md; the results go to BENCHMARKS.md.
#
#   examples/bench/run.sh                    # the full run (about 6 minutes)
#   examples/bench/run.sh -d 2s --no-write   # a quick try, printed only
#   examples/bench/run.sh --help
set -euo pipefail

usage() {
	cat <<'EOF'
usage: examples/bench/run.sh [options]

  -d, --duration D        wrk duration of each measured run (10s)
  -c, --connections N     wrk connections (32)
  -t, --threads N         wrk threads (2)
  -w, --warmup D          wrk warm-up run before each measured run (3s)
      --db-delay-ms N     simulated cost of one database query, in ms (2)
      --django-workers N  gunicorn workers (2)
      --django-threads N  gunicorn threads per worker: above 1 the gthread
                          worker class, 1 the sync class (8)
      --backends LIST     cache backends, space-separated (memory memcached redis);
                          redis-near is Redis with fragcache's near cache
                          (near_cache=1), Django unchanged
      --modes LIST        modes, space-separated (none fragment page)
      --pages LIST        pages, space-separated (list collection): list is
                          GET /articles/?page=1, one fragment around the list;
                          collection is GET /articles/collection/?page=1, one
                          fragment per article in the loop
      --no-nginx          skip the nginx static-file ceiling
      --no-gobench        skip the in-process go test -bench figures
      --no-write          print the results, do not rewrite BENCHMARKS.md
      --no-install        never apt-get install missing packages
      --wait-quiet        first wait until the 1-minute load is below 1.5
                          (polled every 30 s, 10 minutes at most)
      --keep              keep the work directory (logs, wrk outputs, pages)
  -h, --help
EOF
}

DURATION=10s
CONNECTIONS=32
THREADS=2
WARMUP=3s
DB_DELAY_MS=2
DJANGO_WORKERS=2
DJANGO_THREADS=8
BACKENDS="memory memcached redis"
MODES="none fragment page"
PAGES="list collection"
NGINX=1
GOBENCH=1
WRITE=1
INSTALL=1
WAIT_QUIET=0
KEEP=0
COMMAND="examples/bench/run.sh${*:+ $*}"

while (($#)); do
	case $1 in
	-d | --duration) DURATION=$2; shift ;;
	-c | --connections) CONNECTIONS=$2; shift ;;
	-t | --threads) THREADS=$2; shift ;;
	-w | --warmup) WARMUP=$2; shift ;;
	--db-delay-ms) DB_DELAY_MS=$2; shift ;;
	--django-workers) DJANGO_WORKERS=$2; shift ;;
	--django-threads) DJANGO_THREADS=$2; shift ;;
	--backends) BACKENDS=$2; shift ;;
	--modes) MODES=$2; shift ;;
	--pages) PAGES=$2; shift ;;
	--no-nginx) NGINX=0 ;;
	--no-gobench) GOBENCH=0 ;;
	--no-write) WRITE=0 ;;
	--no-install) INSTALL=0 ;;
	--wait-quiet) WAIT_QUIET=1 ;;
	--keep) KEEP=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done

# page_path PAGE: the URL path and query of a page.
page_path() {
	case $1 in
	list) echo "/articles/?page=1" ;;
	collection) echo "/articles/collection/?page=1" ;;
	*) return 1 ;;
	esac
}
for page in $PAGES; do
	page_path "$page" >/dev/null || { echo "run.sh: unknown page $page (list, collection)" >&2; exit 2; }
done
[[ -n ${PAGES// /} ]] || { echo "run.sh: --pages is empty" >&2; exit 2; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# Debian's Python, where python3-django and friends are installed (python3
# on PATH may be another one, e.g. pyenv's).
PY=/usr/bin/python3

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- packages

PACKAGES=(python3-django python3-pymemcache python3-redis python3-django-redis
	gunicorn wrk nginx-light memcached redis-server curl)

missing_packages() {
	local p
	for p in "${PACKAGES[@]}"; do
		if [[ $p == nginx-light ]] && command -v nginx >/dev/null 2>&1; then
			continue # any nginx will do
		fi
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
			printf '%s\n' "$p"
		fi
	done
}

ensure_packages() {
	local missing
	missing=$(missing_packages | tr '\n' ' ')
	missing=${missing% }
	[[ -z $missing ]] && return
	if ((INSTALL)) && ((EUID == 0)); then
		log "installing missing Debian packages with apt-get: $missing"
		# shellcheck disable=SC2086
		if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >&2; then
			log "apt-get install failed; running apt-get update and trying again"
			apt-get update >&2
			# shellcheck disable=SC2086
			DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >&2
		fi
	else
		die "missing packages: $missing (run as root to install them, or: apt-get install -y $missing)"
	fi
}

ensure_packages
command -v go >/dev/null || die "go is not installed"
[[ -x $PY ]] || die "$PY not found (Debian's python3)"
NGINX_BIN=$(command -v nginx || echo /usr/sbin/nginx)
GUNICORN_BIN=$(command -v gunicorn || echo /usr/bin/gunicorn)

# ---------------------------------------------------------------- processes

WORK=$(mktemp -d /tmp/fragcache-bench.XXXXXX)
chmod 755 "$WORK" # nginx's workers read the static page from here
PIDS=()

stop_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		stop_pid "$pid"
	done
	if ((KEEP)); then
		log "work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME CMD... runs CMD in the background with its output in
# $WORK/NAME.log and sets STARTED_PID.
start() {
	local name=$1
	shift
	"$@" >"$WORK/$name.log" 2>&1 &
	STARTED_PID=$!
	PIDS+=("$STARTED_PID")
}

# stop PID stops a process started by start.
stop() {
	local pid=$1 p rest=()
	stop_pid "$pid"
	for p in "${PIDS[@]}"; do
		[[ $p == "$pid" ]] || rest+=("$p")
	done
	PIDS=("${rest[@]}")
}

free_port() {
	$PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_http PID URL NAME: until URL answers 200 (20 s at most).
wait_http() {
	local pid=$1 url=$2 name=$3 i
	for ((i = 0; i < 200; i++)); do
		kill -0 "$pid" 2>/dev/null || { cat "$WORK/$name.log" >&2; die "$name exited"; }
		if curl -fsS -o /dev/null "$url" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	cat "$WORK/$name.log" >&2
	die "$name did not answer at $url"
}

# tcp_cmd PORT LINE: sends one line of text protocol to a cache server on
# 127.0.0.1 and prints the answer's lines up to END/a one-line reply.
tcp_cmd() {
	local port=$1 line=$2 fd reply
	exec {fd}<>"/dev/tcp/127.0.0.1/$port" || return 1
	printf '%s\r\n' "$line" >&"$fd"
	while IFS= read -r -t 2 reply <&"$fd"; do
		reply=${reply%$'\r'}
		printf '%s\n' "$reply"
		case $reply in END | OK | +OK | :* | -* | ERROR*) break ;; esac
	done
	exec {fd}>&-
}

wait_tcp() {
	local pid=$1 port=$2 cmd=$3 name=$4 i
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || { cat "$WORK/$name.log" >&2; die "$name exited"; }
		if tcp_cmd "$port" "$cmd" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	die "$name did not answer on port $port"
}

# ---------------------------------------------------------------- waiting

LOAD_NOTE=""
if ((WAIT_QUIET)); then
	waited=0
	while :; do
		load=$(cut -d' ' -f1 /proc/loadavg)
		if awk -v l="$load" 'BEGIN { exit !(l < 1.5) }'; then
			LOAD_NOTE="waited ${waited} s for a quiet machine: 1-minute load ${load}"
			break
		fi
		if ((waited >= 600)); then
			LOAD_NOTE="waited ${waited} s for a quiet machine, started anyway: 1-minute load ${load}"
			break
		fi
		log "1-minute load $load, waiting for < 1.5 ($waited s so far)"
		sleep 30
		waited=$((waited + 30))
	done
	log "$LOAD_NOTE"
fi
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- servers

log "building the Go server"
(cd "$REPO" && go build -o "$WORK/benchserver" ./examples/bench/server)

TEMPLATES=$HERE/templates
DATA=$HERE/data/articles.json

MEMCACHED_PORT=""
REDIS_PORT=""
if [[ " $BACKENDS " == *" memcached "* ]]; then
	MEMCACHED_PORT=$(free_port)
	start memcached memcached -l 127.0.0.1 -p "$MEMCACHED_PORT" -U 0 -m 128 -t 2 -u "$(id -un)"
	wait_tcp "$STARTED_PID" "$MEMCACHED_PORT" version memcached
fi
if [[ " $BACKENDS " == *" redis "* || " $BACKENDS " == *" redis-near "* ]]; then
	REDIS_PORT=$(free_port)
	start redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
		--dir "$WORK" --daemonize no
	wait_tcp "$STARTED_PID" "$REDIS_PORT" PING redis
fi

# flush_backend BACKEND: empties a shared cache server before a server starts.
flush_backend() {
	case $1 in
	memcached) tcp_cmd "$MEMCACHED_PORT" flush_all >/dev/null ;;
	redis | redis-near) tcp_cmd "$REDIS_PORT" FLUSHALL >/dev/null ;;
	esac
}

# stored_items BACKEND: how many keys the cache server holds.
stored_items() {
	case $1 in
	memcached) tcp_cmd "$MEMCACHED_PORT" stats | awk '$2 == "curr_items" { print $3 }' ;;
	redis | redis-near) tcp_cmd "$REDIS_PORT" DBSIZE | tr -d ':' ;;
	*) echo - ;;
	esac
}

django_cache() {
	case $1 in
	memory | none) echo locmem ;;
	memcached) echo "memcached://127.0.0.1:$MEMCACHED_PORT" ;;
	redis | redis-near) echo "redis://127.0.0.1:$REDIS_PORT/0" ;;
	esac
}

go_cache() {
	case $1 in
	memory) echo memory:// ;;
	none) echo dummy:// ;;
	memcached) echo "memcached://127.0.0.1:$MEMCACHED_PORT" ;;
	redis) echo "redis://127.0.0.1:$REDIS_PORT/0" ;;
	redis-near) echo "redis://127.0.0.1:$REDIS_PORT/0?near_cache=1" ;;
	esac
}

if ((DJANGO_THREADS > 1)); then
	DJANGO_ARGS=(--worker-class gthread --workers "$DJANGO_WORKERS" --threads "$DJANGO_THREADS")
	DJANGO_DESC="gunicorn, ${DJANGO_WORKERS} gthread workers × ${DJANGO_THREADS} threads"
else
	DJANGO_ARGS=(--worker-class sync --workers "$DJANGO_WORKERS")
	DJANGO_DESC="gunicorn, ${DJANGO_WORKERS} sync workers"
fi

# start_django NAME MODE BACKEND: sets SERVER_PID and SERVER_BASE (the
# server's http://HOST:PORT, serving every page).
start_django() {
	local name=$1 mode=$2 backend=$3 port
	port=$(free_port)
	start "$name" env DJANGO_SETTINGS_MODULE=settings BENCH_MODE="$mode" \
		BENCH_CACHE="$(django_cache "$backend")" BENCH_TEMPLATES="$TEMPLATES" BENCH_DATA="$DATA" \
		BENCH_DB_DELAY_MS="$DB_DELAY_MS" PYTHONDONTWRITEBYTECODE=1 \
		"$PY" "$GUNICORN_BIN" --chdir "$HERE/django" --bind "127.0.0.1:$port" \
		"${DJANGO_ARGS[@]}" --log-level warning wsgi:application
	SERVER_PID=$STARTED_PID
	SERVER_BASE="http://127.0.0.1:$port"
	wait_http "$SERVER_PID" "$SERVER_BASE/articles/?page=1" "$name"
}

# start_go NAME MODE BACKEND: sets SERVER_PID and SERVER_BASE.
start_go() {
	local name=$1 mode=$2 backend=$3 port
	port=$(free_port)
	start "$name" "$WORK/benchserver" -addr "127.0.0.1:$port" -mode "$mode" \
		-cache "$(go_cache "$backend")" -templates "$TEMPLATES" -data "$DATA" \
		-db-delay "${DB_DELAY_MS}ms"
	SERVER_PID=$STARTED_PID
	SERVER_BASE="http://127.0.0.1:$port"
	wait_http "$SERVER_PID" "$SERVER_BASE/articles/?page=1" "$name"
}

start_nginx() {
	local port dir=$WORK/nginx
	port=$(free_port)
	mkdir -p "$dir/root/articles/collection" "$dir/tmp"
	for page in $PAGES; do
		cp "$WORK/reference-$page.html" "$dir/root$(page_path "$page" | sed 's/?.*//')index.html"
	done
	chmod -R a+rX "$dir"
	cat >"$dir/nginx.conf" <<EOF
worker_processes 2;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	sendfile on;
	keepalive_requests 1000000;
	default_type text/html;
	client_body_temp_path $dir/tmp/body;
	proxy_temp_path $dir/tmp/proxy;
	fastcgi_temp_path $dir/tmp/fastcgi;
	uwsgi_temp_path $dir/tmp/uwsgi;
	scgi_temp_path $dir/tmp/scgi;
	server {
		listen 127.0.0.1:$port;
		root $dir/root;
	}
}
EOF
	start nginx "$NGINX_BIN" -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf"
	SERVER_PID=$STARTED_PID
	SERVER_BASE="http://127.0.0.1:$port"
	wait_http "$SERVER_PID" "$SERVER_BASE$(page_path "${PAGES%% *}")" nginx
}

# ---------------------------------------------------------------- measuring

# to_ms VALUE: wrk's 850.00us / 1.23ms / 1.02s / 1.50m in milliseconds.
to_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
		printf "%.2f", n }'
}

# check_page NAME URL PAGE: the page is PAGE's reference page, byte for byte.
NOTES=()
check_page() {
	local name=$1 url=$2 page=$3 out=$WORK/$1.html
	curl -fsS -o "$out" "$url"
	if ! cmp -s "$out" "$WORK/reference-$page.html"; then
		NOTES+=("$name: the $page page differs from Django's uncached one ($(wc -c <"$out") bytes)")
		log "warning: $name: the $page page differs from the reference"
	fi
}

# measure NAME URL PAGE: warm-up, then the measured wrk run; sets RPS P50 P99.
measure() {
	local name=$1 url=$2 page=$3 out=$WORK/$1.wrk errs
	wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" "$url" >"$WORK/$name.warmup" 2>&1
	check_page "$name" "$url" "$page"
	wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$url" >"$out" 2>&1
	RPS=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
	P50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
	P99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
	[[ -n $RPS ]] || { cat "$out" >&2; die "$name: no result from wrk"; }
	errs=$(grep -E '^ +(Socket errors|Non-2xx)' "$out" | sed 's/^ *//' | paste -sd';' - || true)
	if [[ -n $errs ]]; then
		NOTES+=("$name: wrk reported $errs")
	fi
	log "$name: $RPS req/s, p50 $P50 ms, p99 $P99 ms${errs:+ ($errs)}"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f×", a / b; else print "—" }'; }

# The reference pages: Django's, uncached.
start_django django-reference none none
for page in $PAGES; do
	curl -fsS -o "$WORK/reference-$page.html" "$SERVER_BASE$(page_path "$page")"
done
stop "$SERVER_PID"
start_go go-reference none none
for page in $PAGES; do
	curl -fsS -o "$WORK/go-reference-$page.html" "$SERVER_BASE$(page_path "$page")"
done
stop "$SERVER_PID"
# PAGE_NOTES: one line per page for the report.
PAGE_NOTES=()
for page in $PAGES; do
	ref=$WORK/reference-$page.html goref=$WORK/go-reference-$page.html
	if cmp -s "$ref" "$goref"; then
		same="byte-identical"
	else
		same="NOT identical ($(cmp "$ref" "$goref" 2>&1 | head -1))"
	fi
	PAGE_NOTES+=("\`$page\`: \`GET $(page_path "$page")\`, $(wc -c <"$ref") bytes from Django, $(wc -c <"$goref") bytes from fragcache ($same)")
	log "$page page: Django $(wc -c <"$ref") bytes, fragcache $(wc -c <"$goref") bytes, $same"
done

ROWS=()
backend_label() {
	case $1 in
	none) echo "— (DummyCache / dummy://)" ;;
	memory) echo "memory (LocMemCache / memory://)" ;;
	memcached) echo "memcached (PyMemcacheCache / memcached://)" ;;
	redis) echo "Redis (django-redis / redis://)" ;;
	redis-near) echo "Redis (django-redis / redis://?near_cache=1)" ;;
	esac
}

# run_row PAGE MODE BACKEND: Django then fragcache, one table row.
run_row() {
	local page=$1 mode=$2 backend=$3 name=$1-$2-$3 path d_rps d_p50 d_p99 items
	path=$(page_path "$page")
	flush_backend "$backend"
	start_django "django-$name" "$mode" "$backend"
	measure "django-$name" "$SERVER_BASE$path" "$page"
	d_rps=$RPS d_p50=$P50 d_p99=$P99
	if [[ $backend == memcached || $backend == redis* ]]; then
		items=$(stored_items "$backend")
		[[ ${items:-0} -gt 0 ]] || NOTES+=("django-$name: the $backend server holds no keys after the run")
	fi
	stop "$SERVER_PID"

	flush_backend "$backend"
	start_go "go-$name" "$mode" "$backend"
	measure "go-$name" "$SERVER_BASE$path" "$page"
	if [[ $backend == memcached || $backend == redis* ]]; then
		items=$(stored_items "$backend")
		[[ ${items:-0} -gt 0 ]] || NOTES+=("go-$name: the $backend server holds no keys after the run")
	fi
	stop "$SERVER_PID"

	ROWS+=("| $page | $mode | $(backend_label "$backend") | $d_rps | $d_p50 | $d_p99 | $RPS | $P50 | $P99 | $(ratio "$RPS" "$d_rps") |")
}

for page in $PAGES; do
	for mode in $MODES; do
		if [[ $mode == none ]]; then
			run_row "$page" none none
			continue
		fi
		for backend in $BACKENDS; do
			run_row "$page" "$mode" "$backend"
		done
	done
done

NGINX_ROWS=()
if ((NGINX)); then
	start_nginx
	for page in $PAGES; do
		measure "nginx-$page" "$SERVER_BASE$(page_path "$page")" "$page"
		NGINX_ROWS+=("| $page | static file (the ceiling) | nginx | — | — | — | *$RPS* | *$P50* | *$P99* | — |")
	done
	stop "$SERVER_PID"
fi
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report

first_line() { "$@" 2>&1 | head -n1 || true; }
pyver() { $PY -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null || echo "?"; }

MEM=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')

REPORT=$WORK/report.md
{
	echo "Run of $DATE: \`$COMMAND\`"
	echo
	echo "| page | mode | cache | Django req/s | p50 ms | p99 ms | fragcache req/s | p50 ms | p99 ms | fragcache / Django |"
	echo "|---|---|---|--:|--:|--:|--:|--:|--:|--:|"
	printf '%s\n' "${ROWS[@]}"
	((${#NGINX_ROWS[@]})) && printf '%s\n' "${NGINX_ROWS[@]}"
	echo
	echo "- Pages:"
	printf '  - %s.\n' "${PAGE_NOTES[@]}"
	echo "- Queries: each uncached render makes 2 simulated queries of ${DB_DELAY_MS} ms (articles, sidebar). The list page makes"
	echo "  them inside its fragments (none on a hit); the collection page's view makes the articles query before rendering,"
	echo "  on every request, and the page looks up one fragment per article (15) in the cache."
	echo "- Load: wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency after a $WARMUP warm-up, on 127.0.0.1, one server at a time."
	echo "- Django: $DJANGO_DESC (DEBUG=False, no middleware); fragcache: examples/bench/server, GOMAXPROCS=$(nproc) (the default)."
	echo "- Machine: $(nproc) CPUs ($CPU), $MEM, Linux $(uname -r); load average $LOAD_START at the start, $LOAD_END at the end.${LOAD_NOTE:+ ($LOAD_NOTE.)}"
	echo "- Versions: $(go version | awk '{print $3}'), Django $(pyver django), Python $($PY -c 'import platform; print(platform.python_version())'),"
	echo "  gunicorn $(pyver gunicorn), pymemcache $(pyver pymemcache), django-redis $(pyver django-redis), redis-py $(pyver redis),"
	echo "  $(first_line wrk -v | awk '{print $1, $2}'), $(first_line "$NGINX_BIN" -v | sed 's/^nginx version: //'), $(first_line memcached -V), $(first_line redis-server --version | awk '{print $1, $2, $3}')."
	if ((${#NOTES[@]})); then
		echo "- Notes:"
		printf '  - %s\n' "${NOTES[@]}"
	fi
} >"$REPORT"

GOBENCH_REPORT=$WORK/gobench.md
if ((GOBENCH)); then
	log "in-process benchmarks (go test -bench, -cpu 1)"
	{
		echo "Run of $DATE: \`go test -run '^\$' -bench PATTERN -benchmem -cpu 1 PACKAGE\`, by \`$COMMAND\`"
		echo
		echo '```'
		(
			cd "$REPO"
			for spec in "./tags:^Benchmark(Page|TagHit)" "./render:^BenchmarkRender" \
				"./httpx/pagecache:^Benchmark(PageCacheHit|Prerendered)" "./cache/memory:."; do
				pkg=${spec%%:*} pat=${spec#*:}
				echo "# $pkg -bench '$pat'"
				go test -run '^$' -bench "$pat" -benchmem -cpu 1 "$pkg" 2>&1 |
					grep -E '^(Benchmark|cpu:|ok|FAIL|---|panic)' || echo "(no benchmark ran)"
				echo
			done
		)
		echo '```'
	} >"$GOBENCH_REPORT"
fi

cat "$REPORT"
((GOBENCH)) && { echo; cat "$GOBENCH_REPORT"; }

# replace_section FILE NAME CONTENT_FILE: replaces what is between
# <!-- NAME:start --> and <!-- NAME:end --> (appending the markers if absent).
replace_section() {
	$PY - "$1" "$2" "$3" <<'EOF'
import sys
path, name, content_path = sys.argv[1:]
start, end = "<!-- %s:start -->" % name, "<!-- %s:end -->" % name
try:
    text = open(path, encoding="utf-8").read()
except FileNotFoundError:
    text = "# Benchmarks\n"
content = open(content_path, encoding="utf-8").read().strip("\n")
block = start + "\n" + content + "\n" + end
i, j = text.find(start), text.find(end)
if i >= 0 and j > i:
    text = text[:i] + block + text[j + len(end):]
else:
    text = text.rstrip("\n") + "\n\n" + block + "\n"
open(path, "w", encoding="utf-8").write(text)
EOF
}

if ((WRITE)); then
	replace_section "$REPO/BENCHMARKS.md" bench "$REPORT"
	((GOBENCH)) && replace_section "$REPO/BENCHMARKS.md" inprocess "$GOBENCH_REPORT"
	log "BENCHMARKS.md updated"
fi

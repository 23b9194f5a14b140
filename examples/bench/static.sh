#!/usr/bin/env bash
# A 100 KB hashed asset served by the staticfiles handler
# (examples/bench/staticserver) and by nginx, the same file, alternately in
# one run: wrk -t2 -c32 against each, ROUNDS times, the median req/s of
# each and the ratio (the goal of issue 19: ≥ 0.6× nginx).
#
#   examples/bench/static.sh [-d 5s] [-r 3]
#
# Both serve identity (wrk sends no Accept-Encoding) with sendfile, nginx
# with 2 workers (the machine's cores, GOMAXPROCS for Go), access log off.
# Needs wrk, curl and nginx (run as root: the config says user root).
# Prints a Markdown table.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_options "$@"

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
WORK=$(mktemp -d)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT


# The asset: 100 KB of script-like text.
mkdir -p "$WORK/src" "$WORK/root/static" "$WORK/tmp"
python3 -c '
import random
random.seed(19)
words = ["function", "return", "const", "let", "if", "else", "document", "window", "value", "length", "=>", "{", "}", "(", ")", ";"]
out = []
n = 0
while n < 100 * 1024:
    w = random.choice(words) + " "
    out.append(w); n += len(w)
open("'"$WORK"'/src/app.js", "w").write("".join(out)[:100 * 1024])
'

(cd "$REPO" && go build -o "$WORK/staticserver" ./examples/bench/staticserver)
GO_PORT=$(free_port)
"$WORK/staticserver" -addr "127.0.0.1:$GO_PORT" -dir "$WORK/src" >"$WORK/urls" 2>"$WORK/staticserver.log" &
PIDS+=($!)
for _ in $(seq 50); do [[ -s $WORK/urls ]] && break; sleep 0.1; done
URL=$(awk '$1 == "app.js" { print $2 }' "$WORK/urls")
[[ $URL == /static/app.*.js ]] || { echo "no hashed URL: $(cat "$WORK/urls" "$WORK/staticserver.log")" >&2; exit 1; }
cp "$WORK/src/app.js" "$WORK/root$URL" # the same bytes under the same hashed name

NGINX_PORT=$(free_port)
cat >"$WORK/nginx.conf" <<CONF
user root;
daemon off;
worker_processes 2;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 1024; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 1000000;
	types { text/javascript js; }
	client_body_temp_path $WORK/tmp/body;
	proxy_temp_path $WORK/tmp/proxy;
	fastcgi_temp_path $WORK/tmp/fastcgi;
	uwsgi_temp_path $WORK/tmp/uwsgi;
	scgi_temp_path $WORK/tmp/scgi;
	server {
		listen 127.0.0.1:$NGINX_PORT;
		root $WORK/root;
		location /static/ { add_header Cache-Control "public, max-age=31536000, immutable"; }
	}
}
CONF
nginx -p "$WORK" -e "$WORK/nginx-error.log" -c "$WORK/nginx.conf" &
PIDS+=($!)

wait_up() { for _ in $(seq 50); do curl -sf -o /dev/null "$1" && return; sleep 0.1; done; echo "$1 does not answer" >&2; exit 1; }
wait_up "http://127.0.0.1:$GO_PORT$URL"
wait_up "http://127.0.0.1:$NGINX_PORT$URL"
cmp <(curl -s "http://127.0.0.1:$GO_PORT$URL") <(curl -s "http://127.0.0.1:$NGINX_PORT$URL")


go_rps=() nginx_rps=()
for _ in $(seq "$ROUNDS"); do
	go_rps+=("$(measure "http://127.0.0.1:$GO_PORT$URL")")
	nginx_rps+=("$(measure "http://127.0.0.1:$NGINX_PORT$URL")")
done
g=$(printf '%s\n' "${go_rps[@]}" | median)
n=$(printf '%s\n' "${nginx_rps[@]}" | median)

echo "Run of $(date -u '+%Y-%m-%d %H:%M') UTC: \`examples/bench/static.sh${ARGS:+ $ARGS}\`, $(nginx -v 2>&1 | sed 's/.*: //'), $(go version | cut -d' ' -f3), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| server | 100 KB hashed asset, req/s (median of $ROUNDS) | rounds | vs nginx |"
echo "|---|--:|---|--:|"
echo "| staticfiles handler | $g | ${go_rps[*]} | $(awk -v a="$g" -v b="$n" 'BEGIN { printf "%.2f×", a / b }') |"
echo "| nginx | $n | ${nginx_rps[*]} | 1.00× |"

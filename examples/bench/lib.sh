# Shared by the bench scripts (sourced, not run): their -d/-r options,
# free ports, wrk measurements and medians.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   bench_options "$@"      # sets DURATION (5s), ROUNDS (3) and ARGS

# bench_options reads -d DURATION and -r ROUNDS; any other argument is a
# usage error. ARGS keeps the arguments as given, for the report.
bench_options() {
	DURATION=5s
	ROUNDS=3
	ARGS="$*"
	while (($#)); do
		case $1 in
		-d) DURATION=$2; shift ;;
		-r) ROUNDS=$2; shift ;;
		*) echo "usage: $0 [-d DURATION] [-r ROUNDS]" >&2; exit 2 ;;
		esac
		shift
	done
}

# free_port prints a TCP port of 127.0.0.1 that was free a moment ago.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# measure URL: a 2 s wrk warm-up, then wrk -t2 -c32 for DURATION; prints
# the requests per second as a whole number.
measure() {
	wrk -t2 -c32 -d2s "$1" >/dev/null
	wrk -t2 -c32 -d"$DURATION" "$1" | awk '/Requests\/sec/ { printf "%d", $2 }'
}

# median prints the median of the numbers on its input, one per line.
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

#!/usr/bin/env bash
# bench-compare.sh: DHCPv4 DORA throughput and latency of bootd, Kea and a
# null responder, under the same load, in one run.
#
# Every server runs in a network namespace of its own, the load generators
# (bootd bench and Kea's perfdhcp) in a second one, joined by a veth pair:
#
#   netns bcmp-PID-srv                          netns bcmp-PID-cli
#   bcmp-srv 198.18.0.1/15  <----- veth ----->  bcmp-cli 198.18.0.2/15
#
# 198.18.0.0/15 is the RFC 2544 benchmarking range; no default route and no
# IPv6 in either namespace, so nothing leaves the /15. Relay mode (default):
# the generators act as a relay agent at 198.18.0.2 and send unicast to
# 198.18.0.1:67. Onlink mode (--modes onlink): bootd bench is an on-link
# client on bcmp-cli; perfdhcp cannot be one, it broadcasts out of bcmp-cli
# with giaddr 198.18.0.2 ("bcast" in the table).
#
# Each measurement starts its server afresh (fresh lease store), checks it
# with a 5-DORA smoke test, runs one generator for DURATION, then stops it.
# Repetitions alternate the order of servers (and generators); the table
# shows medians.
#
# Usage (root):
#   scripts/bench-compare.sh               REPS=3 x 10 s, relay, unbounded and 1000/s (~10 min)
#   scripts/bench-compare.sh --quick       1 rep x 5 s (~2 min)
#   scripts/bench-compare.sh --rev HEAD    bootd built from a commit, not the working tree
#   scripts/bench-compare.sh --help        every option
#   scripts/bench-compare.sh --cleanup     remove namespaces left by a killed (-9) run
#
# Prints the median table on stdout; raw outputs go to $OUT
# (default /tmp/bootd-bench-<date>).
# shellcheck disable=SC2015 # "check && check || die" is meant
set -euo pipefail
export LC_ALL=C

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ME=bench-compare

usage() {
	cat <<'EOF'
usage: scripts/bench-compare.sh [options]      (as root)

  --quick              1 repetition, 5 s runs (overrides REPS and DURATION)
  --reps N             repetitions (env REPS, default 3)
  --duration S         seconds per measurement, 1..600 (env DURATION, default 10)
  --servers LIST       of bootd kea kea-mt null (env SERVERS, default "bootd kea null")
  --kea-mt             add kea-mt (Kea multi-threaded: 2 threads, queue 64)
  --gens LIST          of bench perfdhcp (env GENS, default "bench perfdhcp")
  --rates LIST         DORA/s offered, 0 = unbounded (env RATES, default "0 1000")
  --modes LIST         of relay onlink (env MODES, default "relay")
  --clients N          simulated clients, <= 130560 (env CLIENTS, default 100000)
  --window N           bootd bench outstanding exchanges (env WINDOW, default 256)
  --out DIR            raw outputs (env OUT, default /tmp/bootd-bench-<date>)
  --bootd PATH         use this bootd binary instead of building one (env BOOTD)
  --rev REV            build bootd from commit REV (e.g. HEAD) instead of the
                       working tree, which others may be editing (env REV)
  --no-install         do not apt-get install missing packages
  --keep               keep the scratch directory (lease stores, configs)
  --cleanup            kill processes in and delete namespaces left by dead runs, then exit
  -h, --help           this text

Other environment: READY_TIMEOUT (s a server gets to bind UDP 67, default 15),
NULL_ARGS (extra arguments of bootd null-responder), BENCH_ARGS (extra
arguments of bootd bench).
EOF
}

die() {
	echo "$ME: $*" >&2
	exit 2
}
note() { echo "$ME: $*" >&2; }

# Bounded helper commands (ip, ss, sysctl): never more than 20 s each.
T() { timeout -k 2 20 "$@"; }

ns_exists() { T ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$1"; }

# kill_ns_pids NS: TERM every process in NS (by PID), children first (a
# generator under /usr/bin/time, so that time reaps it rather than leaving
# an orphan), up to 5 s of grace, then KILL what is left.
kill_ns_pids() {
	local ns=$1 pids p i pp alive kids=()
	ns_exists "$ns" || return 0
	pids=$(T ip netns pids "$ns" 2>/dev/null || true)
	[ -n "$pids" ] || return 0
	for p in $pids; do
		pp=$(awk '{sub(/.*\) /, ""); print $2}' "/proc/$p/stat" 2>/dev/null) || continue
		if grep -qxF "$pp" <<<"$pids"; then kids+=("$p"); fi
	done
	if [ ${#kids[@]} -gt 0 ]; then
		kill -TERM "${kids[@]}" 2>/dev/null || true
		for i in $(seq 1 20); do
			alive=0
			for p in "${kids[@]}"; do
				if kill -0 "$p" 2>/dev/null; then alive=1; fi
			done
			[ "$alive" = 1 ] || break
			sleep 0.1
		done
		pids=$(T ip netns pids "$ns" 2>/dev/null || true)
	fi
	for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
	for i in $(seq 1 50); do
		pids=$(T ip netns pids "$ns" 2>/dev/null || true)
		[ -n "$pids" ] || return 0
		sleep 0.1
	done
	for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
	sleep 0.2
}

# --cleanup: namespaces bcmp-PID-srv/cli and scratch directories
# /tmp/bcmp-PID.* whose PID is no longer a running bench-compare.sh.
running() { [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q bench-compare; }
cleanup_stale() {
	local ns pid d n=0
	for ns in $(T ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^bcmp-[0-9]+-(srv|cli)$' || true); do
		pid=${ns#bcmp-}
		pid=${pid%-*}
		if running "$pid"; then
			note "$ns belongs to running pid $pid; left alone"
			continue
		fi
		kill_ns_pids "$ns"
		T ip netns del "$ns" 2>/dev/null || true
		echo "deleted namespace $ns"
		n=$((n + 1))
	done
	for d in /tmp/bcmp-[0-9]*.*; do
		[[ -d "$d" && "$d" =~ ^/tmp/bcmp-[0-9]+\.[A-Za-z0-9]{6}$ ]] || continue # mktemp's names only
		pid=${d#/tmp/bcmp-}
		pid=${pid%%.*}
		running "$pid" && continue
		rm -rf "$d"
		echo "deleted $d"
	done
	echo "$n namespace(s) removed"
}

# ------------------------------------------------------------------ options
QUICK=0
INSTALL=1
KEEP=0
REPS=${REPS:-3}
DURATION=${DURATION:-10}
SERVERS=${SERVERS:-bootd kea null}
GENS=${GENS:-bench perfdhcp}
RATES=${RATES:-0 1000}
MODES=${MODES:-relay}
CLIENTS=${CLIENTS:-100000}
WINDOW=${WINDOW:-256}
OUT=${OUT:-}
BOOTD=${BOOTD:-}
REV=${REV:-}
READY_TIMEOUT=${READY_TIMEOUT:-15}
NULL_ARGS=${NULL_ARGS:-}
BENCH_ARGS=${BENCH_ARGS:-}

need_arg() { [ $# -ge 2 ] || die "$1 needs an argument"; }
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) QUICK=1 ;;
	--reps) need_arg "$@"; REPS=$2; shift ;;
	--duration) need_arg "$@"; DURATION=$2; shift ;;
	--servers) need_arg "$@"; SERVERS=$2; shift ;;
	--kea-mt) SERVERS="$SERVERS kea-mt" ;;
	--gens) need_arg "$@"; GENS=$2; shift ;;
	--rates) need_arg "$@"; RATES=$2; shift ;;
	--modes) need_arg "$@"; MODES=$2; shift ;;
	--clients) need_arg "$@"; CLIENTS=$2; shift ;;
	--window) need_arg "$@"; WINDOW=$2; shift ;;
	--out) need_arg "$@"; OUT=$2; shift ;;
	--bootd) need_arg "$@"; BOOTD=$2; shift ;;
	--rev) need_arg "$@"; REV=$2; shift ;;
	--no-install) INSTALL=0 ;;
	--keep) KEEP=1 ;;
	--cleanup)
		[ "$(id -u)" = 0 ] || die "must run as root"
		cleanup_stale
		exit 0
		;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument '$1'" ;;
	esac
	shift
done
if [ "$QUICK" = 1 ]; then
	REPS=1
	DURATION=5
fi

read -r -a SERVER_LIST <<<"$SERVERS"
read -r -a GEN_LIST <<<"$GENS"
read -r -a RATE_LIST <<<"$RATES"
read -r -a MODE_LIST <<<"$MODES"

POOL_START=198.18.1.0
POOL_END=198.19.254.255
POOL_SIZE=130560
isnum() { [[ "$1" =~ ^[0-9]+$ ]]; }
isnum "$REPS" && [ "$REPS" -ge 1 ] && [ "$REPS" -le 50 ] || die "--reps must be 1..50"
isnum "$DURATION" && [ "$DURATION" -ge 1 ] && [ "$DURATION" -le 600 ] || die "--duration must be 1..600 s"
isnum "$CLIENTS" && [ "$CLIENTS" -ge 1 ] && [ "$CLIENTS" -le "$POOL_SIZE" ] ||
	die "--clients must be 1..$POOL_SIZE (the pool) so that no server runs out of addresses"
isnum "$WINDOW" && [ "$WINDOW" -ge 1 ] || die "--window must be a positive number"
isnum "$READY_TIMEOUT" && [ "$READY_TIMEOUT" -ge 1 ] && [ "$READY_TIMEOUT" -le 120 ] || die "READY_TIMEOUT must be 1..120"
[ ${#SERVER_LIST[@]} -ge 1 ] && [ ${#GEN_LIST[@]} -ge 1 ] && [ ${#RATE_LIST[@]} -ge 1 ] && [ ${#MODE_LIST[@]} -ge 1 ] ||
	die "empty list of servers, generators, rates or modes"
for s in "${SERVER_LIST[@]}"; do case "$s" in bootd | kea | kea-mt | null) ;; *) die "unknown server '$s' (bootd kea kea-mt null)" ;; esac; done
for g in "${GEN_LIST[@]}"; do case "$g" in bench | perfdhcp) ;; *) die "unknown generator '$g' (bench perfdhcp)" ;; esac; done
for r in "${RATE_LIST[@]}"; do isnum "$r" && [ "$r" -le 1000000 ] || die "rates must be 0..1000000 (0 = unbounded)"; done
for m in "${MODE_LIST[@]}"; do case "$m" in relay | onlink) ;; *) die "unknown mode '$m' (relay onlink)" ;; esac; done

[ "$(id -u)" = 0 ] || die "must run as root (network namespaces, UDP port 67)"

# ------------------------------------------------------------------ one run at a time
LOCK=/tmp/bootd-bench-compare.lock
exec 9>"$LOCK"
flock -n 9 || die "another bench-compare.sh is running (lock $LOCK held)"

# ------------------------------------------------------------------ packages
need_pkgs=()
command -v kea-dhcp4 >/dev/null || need_pkgs+=(kea-dhcp4-server)
command -v perfdhcp >/dev/null || need_pkgs+=(kea-admin)
[ -x /usr/bin/time ] || need_pkgs+=(time)
command -v jq >/dev/null || need_pkgs+=(jq)
if [ ${#need_pkgs[@]} -gt 0 ]; then
	[ "$INSTALL" = 1 ] || die "missing packages: ${need_pkgs[*]} (run without --no-install)"
	note "installing ${need_pkgs[*]}"
	export DEBIAN_FRONTEND=noninteractive
	timeout 600 apt-get update -qq || die "apt-get update failed"
	timeout 900 apt-get install -y -qq kea-dhcp4-server kea-admin time jq || die "apt-get install failed"
fi
for c in ip ss kea-dhcp4 perfdhcp jq flock go; do
	[ "$c" = go ] && [ -n "$BOOTD" ] && continue
	command -v "$c" >/dev/null || die "$c not found"
done
# No DHCP server may run in the root namespace: a packaged Kea started as a
# service would mean this host's setup is not what the figures assume.
if T ss -Hulpn 'sport = :67' 2>/dev/null | grep -q .; then
	T ss -Hulpn 'sport = :67' >&2 || true
	die "something listens on UDP 67 in the root namespace (a Kea service? systemctl disable --now kea-dhcp4-server); refusing to run"
fi

# ------------------------------------------------------------------ work dirs, teardown
WORK=$(mktemp -d "/tmp/bcmp-$$.XXXXXX")
[ -n "$OUT" ] || OUT=/tmp/bootd-bench-$(date +%F-%H%M%S)
mkdir -p "$OUT/raw"
RUNS=$OUT/runs.txt
: >"$RUNS"

NS_SRV=bcmp-$$-srv
NS_CLI=bcmp-$$-cli
IF_SRV=bcmp-srv
IF_CLI=bcmp-cli
SRV_IP=198.18.0.1
CLI_IP=198.18.0.2
PREFIX=15
LEASE_TIME=3600
RENEW_TIME=1800
REBIND_TIME=3150

PIDS=() # every background process started (timeout wrappers), killed by PID on exit

# forget_pid PID: drop PID from PIDS once reaped, so that teardown never
# signals a number the kernel may have handed to another process since.
forget_pid() {
	local p keep=()
	for p in "${PIDS[@]}"; do
		if [ "$p" != "$1" ]; then keep+=("$p"); fi
	done
	PIDS=("${keep[@]}")
}

kill_pid() { # kill_pid PID: TERM, up to 5 s, then KILL; reaps and forgets it
	local p=$1 i
	if kill -0 "$p" 2>/dev/null; then
		kill -TERM "$p" 2>/dev/null || true
		for i in $(seq 1 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null || true
	fi
	wait "$p" 2>/dev/null || true
	forget_pid "$p"
}

TORN_DOWN=0
teardown() {
	[ "$TORN_DOWN" = 1 ] && return 0
	TORN_DOWN=1
	local p
	# what runs in the namespaces first, then the timeout wrappers (which
	# then end by themselves)
	kill_ns_pids "$NS_CLI"
	kill_ns_pids "$NS_SRV"
	for p in "${PIDS[@]}"; do kill_pid "$p"; done
	PIDS=()
	T ip netns del "$NS_CLI" 2>/dev/null || true
	T ip netns del "$NS_SRV" 2>/dev/null || true
	if [ "$KEEP" = 1 ]; then note "scratch directory kept: $WORK"; else rm -rf "$WORK"; fi
}
on_exit() {
	local rc=$?
	trap '' INT TERM
	set +e
	teardown
	exit "$rc"
}
trap on_exit EXIT
trap 'note "interrupted; cleaning up"; exit 130' INT
trap 'note "terminated; cleaning up"; exit 143' TERM

# ------------------------------------------------------------------ bootd
if [ -n "$BOOTD" ]; then
	BOOTD_COMMIT="binary $BOOTD"
elif [ -n "$REV" ]; then
	commit=$(timeout 10 git -C "$REPO" rev-parse --verify --quiet "$REV^{commit}") || die "--rev $REV: no such commit"
	note "building bootd from $REV (${commit:0:12})"
	mkdir -p "$WORK/src"
	timeout 60 git -C "$REPO" archive "$commit" | tar -x -C "$WORK/src" || die "git archive $REV failed"
	(cd "$WORK/src" && timeout 600 go build -o "$WORK/bootd" ./cmd/bootd) || die "go build ./cmd/bootd of $REV failed"
	BOOTD=$WORK/bootd
	BOOTD_COMMIT="commit ${commit:0:12}"
else
	note "building bootd from the working tree"
	(cd "$REPO" && timeout 600 go build -o "$WORK/bootd" ./cmd/bootd) ||
		die "go build ./cmd/bootd failed (others editing the tree? try --rev HEAD)"
	BOOTD=$WORK/bootd
	BOOTD_COMMIT="tree $(cd "$REPO" && timeout 10 git describe --always --dirty 2>/dev/null || echo unknown)"
fi
[ -x "$BOOTD" ] || die "bootd binary $BOOTD is not executable"
BOOTD_VERSION=$(timeout 10 "$BOOTD" version 2>/dev/null | head -1 || true)

has_cmd() { timeout 10 "$BOOTD" help "$1" >/dev/null 2>&1; }
HAVE_BENCH=0
HAVE_NULL=0
has_cmd bench && HAVE_BENCH=1
has_cmd null-responder && HAVE_NULL=1
HAVE_STATS=0
has_cmd stats && HAVE_STATS=1
# Generators and servers this bootd lacks are left out, with a note.
keep=()
for g in "${GEN_LIST[@]}"; do
	if [ "$g" = bench ] && [ "$HAVE_BENCH" = 0 ]; then note "this bootd has no 'bench' command: generator bench left out"; else keep+=("$g"); fi
done
GEN_LIST=("${keep[@]}")
keep=()
for s in "${SERVER_LIST[@]}"; do
	if [ "$s" = null ] && [ "$HAVE_NULL" = 0 ]; then note "this bootd has no 'null-responder' command: server null left out"; else keep+=("$s"); fi
done
SERVER_LIST=("${keep[@]}")
[ ${#GEN_LIST[@]} -ge 1 ] && [ ${#SERVER_LIST[@]} -ge 1 ] || die "nothing left to measure"
NULL_IFACE_FLAG=0
if [ "$HAVE_NULL" = 1 ] && timeout 10 "$BOOTD" help null-responder 2>&1 | grep -q -- '-iface'; then NULL_IFACE_FLAG=1; fi

# ------------------------------------------------------------------ topology
# Interfaces are created directly inside the namespaces: no name, address or
# route appears in the root namespace.
T ip netns add "$NS_SRV"
T ip netns add "$NS_CLI"
for ns in "$NS_SRV" "$NS_CLI"; do
	T ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	T ip -n "$ns" link set lo up
done
T ip link add "$IF_SRV" netns "$NS_SRV" type veth peer name "$IF_CLI" netns "$NS_CLI"
T ip -n "$NS_SRV" addr add "$SRV_IP/$PREFIX" dev "$IF_SRV"
T ip -n "$NS_CLI" addr add "$CLI_IP/$PREFIX" dev "$IF_CLI"
T ip -n "$NS_SRV" link set "$IF_SRV" up
T ip -n "$NS_CLI" link set "$IF_CLI" up

# ------------------------------------------------------------------ environment record
{
	echo "date: $(date -Is)"
	echo "host: $(uname -srm), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "bootd: ${BOOTD_VERSION:-?} ($BOOTD_COMMIT)"
	echo "kea-dhcp4: $(timeout 10 kea-dhcp4 -v 2>/dev/null || echo ?)"
	echo "perfdhcp: $(timeout 10 perfdhcp -v 2>&1 | awk '/VERSION/{print $2; exit}')"
	echo "go: $(timeout 10 go version 2>/dev/null || echo ?)"
	echo "servers: ${SERVER_LIST[*]}; generators: ${GEN_LIST[*]}; rates: ${RATE_LIST[*]}; modes: ${MODE_LIST[*]}"
	echo "reps: $REPS; duration: ${DURATION}s; clients: $CLIENTS; bench window: $WINDOW"
	echo "namespaces: $NS_SRV ($IF_SRV $SRV_IP/$PREFIX) <-> $NS_CLI ($IF_CLI $CLI_IP/$PREFIX)"
	echo "pool: $POOL_START-$POOL_END ($POOL_SIZE addresses), lease time ${LEASE_TIME}s"
} >"$OUT/env.txt"

# ------------------------------------------------------------------ servers
write_bootd_config() { # write_bootd_config FILE STORE_DIR
	cat >"$1" <<EOF
# bootd serve configuration of bench-compare.sh (one run)
interfaces: [$IF_SRV]
lease-store: {path: $2}
lease-time: ${LEASE_TIME}s
renew-time: ${RENEW_TIME}s
rebind-time: ${REBIND_TIME}s
subnets:
  - subnet: 198.18.0.0/$PREFIX
    interface: $IF_SRV
    server-address: $SRV_IP
    options:
      router: $SRV_IP
    pools:
      - range: $POOL_START-$POOL_END
EOF
}

write_kea_config() { # write_kea_config FILE DIR MT(0|1)
	local mt='{ "enable-multi-threading": false }'
	[ "$3" = 1 ] && mt='{ "enable-multi-threading": true, "thread-pool-size": 2, "packet-queue-size": 64 }'
	cat >"$1" <<EOF
{
  "Dhcp4": {
    "interfaces-config": { "interfaces": [ "$IF_SRV" ], "dhcp-socket-type": "raw" },
    "lease-database": {
      "type": "memfile",
      "persist": true,
      "name": "$2/kea-leases4.csv",
      "lfc-interval": 0
    },
    "multi-threading": $mt,
    "valid-lifetime": $LEASE_TIME,
    "renew-timer": $RENEW_TIME,
    "rebind-timer": $REBIND_TIME,
    "subnet4": [ {
      "id": 1,
      "subnet": "198.18.0.0/$PREFIX",
      "pools": [ { "pool": "$POOL_START - $POOL_END" } ],
      "option-data": [ { "name": "routers", "data": "$SRV_IP" } ]
    } ],
    "loggers": [ {
      "name": "kea-dhcp4",
      "output_options": [ { "output": "$2/kea.log" } ],
      "severity": "WARN"
    } ]
  }
}
EOF
}

SRV_PID=
# start_server NAME DIR: starts NAME in the server namespace (under a
# timeout bounding its life), waits until it listens on UDP 67.
start_server() {
	local name=$1 dir=$2 life=$((DURATION + 120)) i
	case "$name" in
	bootd)
		write_bootd_config "$dir/bootd.yaml" "$dir/store"
		T ip netns exec "$NS_SRV" "$BOOTD" check --config "$dir/bootd.yaml" >"$dir/check.out" 2>&1 || {
			cat "$dir/check.out" >&2
			note "bootd check refused the configuration"
			return 1
		}
		timeout -k 5 "$life" ip netns exec "$NS_SRV" "$BOOTD" serve --config "$dir/bootd.yaml" --log-level warn \
			>"$dir/server.log" 2>&1 &
		;;
	kea | kea-mt)
		local mt=0
		[ "$name" = kea-mt ] && mt=1
		write_kea_config "$dir/kea.json" "$dir" "$mt"
		timeout -k 5 "$life" ip netns exec "$NS_SRV" env KEA_PIDFILE_DIR="$dir" KEA_LOCKFILE_DIR="$dir" \
			kea-dhcp4 -c "$dir/kea.json" >"$dir/server.log" 2>&1 &
		;;
	null)
		local -a args=()
		[ "$NULL_IFACE_FLAG" = 1 ] && args=(--iface "$IF_SRV")
		# shellcheck disable=SC2206 # NULL_ARGS is split on purpose
		args+=($NULL_ARGS)
		timeout -k 5 "$life" ip netns exec "$NS_SRV" "$BOOTD" null-responder "${args[@]}" \
			>"$dir/server.log" 2>&1 &
		;;
	esac
	SRV_PID=$!
	PIDS+=("$SRV_PID")
	for i in $(seq 1 $((READY_TIMEOUT * 10))); do
		kill -0 "$SRV_PID" 2>/dev/null || break
		if [ -n "$(T ip netns exec "$NS_SRV" ss -Hlun 'sport = :67' 2>/dev/null)" ]; then
			sleep 0.5 # raw sockets and worker threads
			return 0
		fi
		sleep 0.1
	done
	note "server $name exited or did not bind UDP 67 within ${READY_TIMEOUT}s; its log:"
	tail -20 "$dir/server.log" >&2 2>/dev/null || true
	return 1
}

stop_server() {
	[ -n "$SRV_PID" ] || return 0
	kill_pid "$SRV_PID"
	kill_ns_pids "$NS_SRV" # anything the server left behind
	SRV_PID=
}

# smoke: 5 DORAs (MACs 02:be:00:00:00:0x, outside the measured clients)
# must bring at least one ACK, within 3 tries of at most 10 s.
smoke() {
	local dir=$1 acks
	for _ in 1 2 3; do
		timeout -k 2 10 ip netns exec "$NS_CLI" perfdhcp -4 -n 5 -r 50 -R 5 -b mac=02:be:00:00:00:00 \
			-l "$CLI_IP" "$SRV_IP" >"$dir/smoke.out" 2>&1 || true
		acks=$(awk '/Statistics for: REQUEST-ACK/{s=1} s&&/^received packets:/{print $3; exit}' "$dir/smoke.out")
		[ "${acks:-0}" -ge 1 ] 2>/dev/null && return 0
		sleep 1
	done
	return 1
}

# ------------------------------------------------------------------ measurements
HZ=$(getconf CLK_TCK)

ns_ticks() { # utime+stime of every process in a namespace, in clock ticks
	local p t=0 s
	for p in $(T ip netns pids "$1" 2>/dev/null); do
		s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		s=${s##*) } # after the command name, which may hold spaces
		# shellcheck disable=SC2086
		set -- $s
		t=$((t + ${12} + ${13}))
	done
	echo "$t"
}
cpu_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $8}' /proc/stat; } # busy, softirq

# bootd_store_stats DIR: "COMMITS RECORDS" of the lease store of the bootd
# serving from DIR/store (bootd stats: journal fdatasyncs and the lease
# changes they carried since the server started), or nothing when this
# bootd has no stats command or the server does not answer. The whole
# JSON goes to DIR/stats-N.json.
STATS_N=0
bootd_store_stats() {
	[ "$HAVE_STATS" = 1 ] || return 0
	STATS_N=$((STATS_N + 1))
	timeout 10 "$BOOTD" stats --store "$1/store" --json >"$1/stats-$STATS_N.json" 2>/dev/null || return 0
	jq -r '(.store // {}) | with_entries(.key |= ascii_downcase) |
		select(.commits != null) | "\(.commits) \(.records // 0)"' "$1/stats-$STATS_N.json" 2>/dev/null || true
}

# gen_cmd GEN MODE RATE DIR: the generator's command line, in GEN_ARGV.
GEN_ARGV=()
gen_cmd() {
	local gen=$1 mode=$2 rate=$3
	case "$gen" in
	perfdhcp)
		GEN_ARGV=(perfdhcp -4 -R "$CLIENTS" -p "$DURATION" -d 1 -x e -g single)
		[ "$rate" -gt 0 ] && GEN_ARGV+=(-r "$rate")
		if [ "$mode" = relay ]; then GEN_ARGV+=(-l "$CLI_IP" "$SRV_IP"); else GEN_ARGV+=(-l "$IF_CLI"); fi
		;;
	bench)
		GEN_ARGV=("$BOOTD" bench --mode "$mode" --server "$SRV_IP")
		if [ "$mode" = relay ]; then GEN_ARGV+=(--giaddr "$CLI_IP"); else GEN_ARGV+=(--iface "$IF_CLI"); fi
		# shellcheck disable=SC2054 # the commas belong to --mix
		GEN_ARGV+=(--clients "$CLIENTS" --rate "$rate" --window "$WINDOW" --duration "${DURATION}s"
			--timeout 1s --mix dora=100,renew=0,release=0,inform=0 --json)
		# shellcheck disable=SC2206 # BENCH_ARGS is split on purpose
		GEN_ARGV+=($BENCH_ARGS)
		;;
	esac
}

# parse_perfdhcp FILE: key=value fields of one perfdhcp output.
parse_perfdhcp() {
	awk -v dur="$DURATION" '
	/^Rate:/ { rate = $2 }
	/Statistics for: DISCOVER-OFFER/ { sec = "do" }
	/Statistics for: REQUEST-ACK/ { sec = "ra" }
	sec != "" && /^sent packets:/ { sent[sec] = $3 }
	sec != "" && /^received packets:/ { rcvd[sec] = $3 }
	sec != "" && /^avg delay:/ { avg[sec] = $3 }
	sec != "" && /^max delay:/ { max[sec] = $3 }
	function ok(x) { return x ~ /^[0-9.]+$/ }
	END {
		if (!ok(rate) || !((sent["do"] + 0) > 0)) { print "parse=failed"; exit }
		printf "leases_per_s=%.1f offered_per_s=%.1f started=%d completed=%d", rate, sent["do"] / dur, sent["do"], rcvd["ra"]
		printf " drop_pct=%.2f", 100 * (1 - rcvd["ra"] / sent["do"])
		printf " do_drop_pct=%.2f", 100 * (1 - rcvd["do"] / sent["do"])
		printf " ra_drop_pct=%.2f", (sent["ra"] > 0) ? 100 * (1 - rcvd["ra"] / sent["ra"]) : 0
		# a DORA waits for two replies: mean = DO avg + RA avg; worst single reply = max of both
		if (ok(avg["do"]) && ok(avg["ra"])) printf " avg_ms=%.3f", avg["do"] + avg["ra"]
		if (ok(max["do"]) && ok(max["ra"])) printf " max_ms=%.3f", (max["do"] > max["ra"]) ? max["do"] : max["ra"]
		printf "\n"
	}' "$1"
}

# parse_bench FILE: key=value fields of one bootd bench --json report
# (internal/bench Report). Latencies there are microseconds; here ms.
parse_bench() {
	local f
	f=$(jq -r '
	def num: if type == "number" then . else null end;
	def ms: if type == "number" then . / 1000 else null end;
	(.latency_us // {}) as $l |
	[
	  "leases_per_s=\(.leases_per_s | num)",
	  "exchanges_per_s=\(.exchanges_per_s | num)",
	  "offered_per_s=\(if (.duration_s | num) > 0 then .started / .duration_s else null end)",
	  "started=\(.started | num)",
	  "completed=\(.leases | num)",
	  "naks=\(.naks | num)",
	  "drops=\(.drops | num)",
	  "drop_pct=\(.drop_pct | num)",
	  "unstarted=\(.unstarted | num)",
	  "stray=\(.stray | num)",
	  "p50_ms=\($l.dora.p50 | ms)", "p90_ms=\($l.dora.p90 | ms)", "p99_ms=\($l.dora.p99 | ms)",
	  "p999_ms=\($l.dora.p999 | ms)", "max_ms=\($l.dora.max | ms)",
	  "do_p50_ms=\($l.discover_offer.p50 | ms)", "do_p99_ms=\($l.discover_offer.p99 | ms)",
	  "ra_p50_ms=\($l.request_ack.p50 | ms)", "ra_p99_ms=\($l.request_ack.p99 | ms)",
	  "gen_self_cpu_pct=\(.cpu_pct | num)"
	] | map(select(test("=null$") | not)) | join(" ")' "$1" 2>/dev/null) || true
	case "$f" in
	*leases_per_s=*) echo "$f" ;;
	*) echo "parse=failed" ;;
	esac
}

RUN_NO=0
# measure REP MODE RATE SERVER GEN: one server start, one generator run; appends a line to $RUNS.
measure() {
	local rep=$1 mode=$2 rate=$3 srv=$4 gen=$5
	RUN_NO=$((RUN_NO + 1))
	local tag
	tag=$(printf '%03d-%s-%s-%s-r%s' "$RUN_NO" "$srv" "$gen" "$mode" "$rate")
	local dir=$WORK/$tag
	mkdir -p "$dir"
	local head="rep=$rep mode=$mode rate=$rate server=$srv gen=$gen dur=$DURATION run=$tag"
	note "[$RUN_NO/$TOTAL] rep $rep: $srv <- $gen, $mode, $([ "$rate" = 0 ] && echo unbounded || echo "$rate/s")"

	local status=ok fields="" syncs0="" syncs1=""
	if ! start_server "$srv" "$dir"; then
		status=start_failed
	elif ! smoke "$dir"; then
		status=no_answer
		note "$srv answered no DORA in the smoke test"
	fi
	if [ "$status" = ok ]; then
		if [ "$srv" = bootd ]; then syncs0=$(bootd_store_stats "$dir"); fi
		gen_cmd "$gen" "$mode" "$rate"
		echo "${GEN_ARGV[*]}" >"$dir/gen.cmd"
		local s0 s1 c0 c1 t0 t1 grc=0 gpid
		s0=$(ns_ticks "$NS_SRV")
		read -r c0 q0 < <(cpu_ticks)
		t0=$(date +%s.%N)
		timeout -k 5 $((DURATION + 30)) ip netns exec "$NS_CLI" \
			/usr/bin/time -o "$dir/gen.time" -f '%U %S %e' "${GEN_ARGV[@]}" >"$dir/gen.out" 2>"$dir/gen.err" &
		gpid=$!
		PIDS+=("$gpid")
		wait "$gpid" || grc=$?
		forget_pid "$gpid"
		t1=$(date +%s.%N)
		s1=$(ns_ticks "$NS_SRV")
		read -r c1 q1 < <(cpu_ticks)
		if [ "$srv" = bootd ]; then syncs1=$(bootd_store_stats "$dir"); fi
		local alive=1
		kill -0 "$SRV_PID" 2>/dev/null || alive=0
		# perfdhcp exits 3 when some exchanges failed: normal under load
		if [ "$grc" != 0 ] && ! { [ "$gen" = perfdhcp ] && [ "$grc" = 3 ]; }; then
			status=gen_rc_$grc
			note "$gen exited $grc; last lines:"
			tail -5 "$dir/gen.err" "$dir/gen.out" >&2 2>/dev/null || true
		fi
		if [ "$status" = ok ]; then
			if [ "$gen" = perfdhcp ]; then fields=$(parse_perfdhcp "$dir/gen.out"); else fields=$(parse_bench "$dir/gen.out"); fi
			if [[ "$fields" == *parse=failed* ]]; then status=parse_failed; fi
		fi
		local gu gs ge
		read -r gu gs ge < <(tail -n 1 "$dir/gen.time" 2>/dev/null) || true
		fields="$fields $(awk -v s="$((s1 - s0))" -v hz="$HZ" -v t0="$t0" -v t1="$t1" -v c="$((c1 - c0))" \
			-v q="$((q1 - q0))" -v gu="${gu:-x}" -v gs="${gs:-x}" -v ge="${ge:-x}" 'BEGIN {
			wall = t1 - t0
			srv = 100 * s / hz / wall
			printf "wall_s=%.2f srv_cpu_pct=%.1f", wall, srv
			gen = -1
			if (gu ~ /^[0-9.]+$/ && ge + 0 > 0) { gen = 100 * (gu + gs) / ge; printf " gen_cpu_pct=%.1f", gen }
			# softirq (packet processing, counted on nobody) and the rest of the
			# machine: other work sharing the CPUs, a noise indicator
			printf " softirq_pct=%.1f", 100 * q / hz / wall
			o = 100 * c / hz / wall - srv - (gen < 0 ? 0 : gen) - 100 * q / hz / wall
			printf " other_cpu_pct=%.1f", (o < 0 ? 0 : o)
		}')"
		if [ -n "$syncs0" ] && [ -n "$syncs1" ]; then
			# journal fdatasyncs and lease changes written during the run
			fields="$fields $(awk -v a="$syncs0" -v b="$syncs1" -v w="$t1" -v v="$t0" 'BEGIN {
				split(a, A, " "); split(b, B, " "); c = B[1] - A[1]; r = B[2] - A[2]
				printf "fsyncs=%d store_records=%d fsyncs_per_s=%.1f", c, r, c / (w - v)
				if (c > 0) printf " records_per_fsync=%.2f", r / c
			}')"
		fi
		fields="$fields server_alive=$alive"
	fi
	stop_server

	# raw outputs
	local f
	for f in bootd.yaml kea.json check.out server.log kea.log smoke.out gen.cmd gen.out gen.err gen.time stats-*.json; do
		if [ -f "$dir/$f" ]; then cp "$dir/$f" "$OUT/raw/$tag.$f"; fi
	done
	rm -rf "$dir" # lease stores
	echo "$head $fields status=$status" | tr -s ' ' >>"$RUNS"
	tail -n 1 "$RUNS" >"$OUT/raw/$tag.summary"
}

# ------------------------------------------------------------------ the matrix
TOTAL=$((REPS * ${#MODE_LIST[@]} * ${#RATE_LIST[@]} * ${#SERVER_LIST[@]} * ${#GEN_LIST[@]}))
note "$TOTAL measurements of ${DURATION}s (about $((TOTAL * (DURATION + 4) / 60 + 1)) min); raw outputs in $OUT"
nS=${#SERVER_LIST[@]}
nG=${#GEN_LIST[@]}
for rep in $(seq 1 "$REPS"); do
	for mode in "${MODE_LIST[@]}"; do
		for rate in "${RATE_LIST[@]}"; do
			for i in $(seq 0 $((nS - 1))); do
				srv=${SERVER_LIST[$(((i + rep - 1) % nS))]}
				for j in $(seq 0 $((nG - 1))); do
					gen=${GEN_LIST[$(((j + rep - 1) % nG))]}
					measure "$rep" "$mode" "$rate" "$srv" "$gen"
				done
			done
		done
	done
done

teardown

# ------------------------------------------------------------------ report
report() {
	echo "## bootd vs Kea vs null responder: DHCPv4 DORA, medians of $REPS run(s) of ${DURATION}s"
	echo
	sed 's/^/    /' "$OUT/env.txt"
	echo
	awk '
	function med(s,   a, n, i, j, t) {
		n = split(s, a, " "); if (n == 0) return ""
		for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
		return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function fmt(v, f) { return (v == "") ? "–" : sprintf(f, v) }
	function srank(s) { return (s == "bootd") ? 1 : (s == "kea") ? 2 : (s == "kea-mt") ? 3 : 4 }
	BEGIN { nm = split("leases_per_s offered_per_s drop_pct p50_ms p99_ms p999_ms avg_ms max_ms srv_cpu_pct gen_cpu_pct other_cpu_pct fsyncs_per_s records_per_fsync", M, " ") }
	{
		delete kv
		for (i = 1; i <= NF; i++) { p = index($i, "="); if (p) kv[substr($i, 1, p - 1)] = substr($i, p + 1) }
		if (kv["status"] != "ok") { bad[kv["server"] " <- " kv["gen"] " " kv["mode"] " rate " kv["rate"] ": " kv["status"]]++; next }
		g = kv["mode"] SUBSEP sprintf("%09d", kv["rate"]) SUBSEP srank(kv["server"]) SUBSEP kv["server"] SUBSEP kv["gen"]
		cnt[g]++
		for (m = 1; m <= nm; m++) if (M[m] in kv && kv[M[m]] != "") vals[g, M[m]] = vals[g, M[m]] " " kv[M[m]]
	}
	END {
		n = 0; for (g in cnt) keys[++n] = g
		for (i = 2; i <= n; i++) { t = keys[i]; for (j = i - 1; j >= 1 && keys[j] > t; j--) keys[j + 1] = keys[j]; keys[j + 1] = t }
		print "| mode | offered | server | generator | runs | started/s | leases/s | drops % | p50 ms | p99 ms | p99.9 ms | avg ms | max ms | server CPU % | generator CPU % | other CPU % | fsyncs/s | leases/fsync |"
		print "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
		for (k = 1; k <= n; k++) {
			g = keys[k]; split(g, G, SUBSEP)
			rate = G[2] + 0; mode = (G[1] == "onlink" && G[5] == "perfdhcp") ? "bcast" : G[1]
			for (m = 1; m <= nm; m++) md[M[m]] = med(vals[g, M[m]])
			L[G[1], rate, G[4], G[5]] = md["leases_per_s"]; C[G[1], rate, G[4], G[5]] = md["srv_cpu_pct"]
			combos[G[1] SUBSEP rate SUBSEP G[5]] = 1
			printf "| %s | %s | %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", \
				mode, (rate == 0 ? "unbounded" : rate "/s"), G[4], (G[5] == "bench" ? "bootd bench" : "perfdhcp"), cnt[g], \
				fmt(md["offered_per_s"], "%.0f"), fmt(md["leases_per_s"], "%.0f"), fmt(md["drop_pct"], "%.2f"), \
				fmt(md["p50_ms"], "%.2f"), fmt(md["p99_ms"], "%.2f"), fmt(md["p999_ms"], "%.2f"), \
				fmt(md["avg_ms"], "%.2f"), fmt(md["max_ms"], "%.1f"), fmt(md["srv_cpu_pct"], "%.0f"), \
				fmt(md["gen_cpu_pct"], "%.0f"), fmt(md["other_cpu_pct"], "%.0f"), fmt(md["fsyncs_per_s"], "%.0f"), \
				fmt(md["records_per_fsync"], "%.1f")
		}
		print ""
		print "Ratios of the medians, same generator and load (leases/s; server CPU %):"
		print ""
		print "| mode | offered | generator | bootd/kea leases/s | bootd/null leases/s | kea/null leases/s | bootd/kea server CPU |"
		print "|---|---|---|---|---|---|---|"
		nc = 0; for (c in combos) ck[++nc] = c
		for (i = 2; i <= nc; i++) { t = ck[i]; for (j = i - 1; j >= 1 && ck[j] > t; j--) ck[j + 1] = ck[j]; ck[j + 1] = t }
		for (k = 1; k <= nc; k++) {
			split(ck[k], X, SUBSEP); md_ = X[1]; r = X[2]; gn = X[3]
			b = L[md_, r, "bootd", gn]; ke = L[md_, r, "kea", gn]; nu = L[md_, r, "null", gn]
			bc = C[md_, r, "bootd", gn]; kc = C[md_, r, "kea", gn]
			printf "| %s | %s | %s | %s | %s | %s | %s |\n", (md_ == "onlink" && gn == "perfdhcp") ? "bcast" : md_, (r == 0 ? "unbounded" : r "/s"), \
				(gn == "bench" ? "bootd bench" : "perfdhcp"), \
				(b != "" && ke > 0) ? sprintf("%.2f", b / ke) : "–", (b != "" && nu > 0) ? sprintf("%.2f", b / nu) : "–", \
				(ke != "" && nu > 0) ? sprintf("%.2f", ke / nu) : "–", (bc != "" && kc > 0) ? sprintf("%.2f", bc / kc) : "–"
		}
		nb = 0; for (b in bad) { if (!nb++) print "\nFailed runs (left out of the medians):"; printf "- %s (x%d)\n", b, bad[b] }
	}' "$RUNS"
	cat <<EOF

Columns: drops % = exchanges started that got no ACK within 1 s. Latency of
a whole DORA (DISCOVER->OFFER plus REQUEST->ACK): p50/p99/p99.9 and max
(slowest DORA) from bootd bench; perfdhcp gives only avg (DO avg + RA avg)
and max (slowest single reply). Server CPU = utime+stime of every process
in the server namespace over the run, % of one core; generator CPU
likewise from /usr/bin/time; other CPU = the rest of the machine's busy time minus
softirq (other work sharing the CPUs: high values mean noisy figures).
started/s = DISCOVERs (exchanges) started per second. fsyncs/s and
leases/fsync: bootd's journal fdatasyncs per second and lease changes per
fdatasync over the run (from bootd stats; group commit shares one
fdatasync among the leases committed together).
Unbounded runs mostly measure overload behaviour; read leases/s there and
drops/latency at the fixed rate. perfdhcp wraps around its clients, so in
long unbounded runs later exchanges renew leases already held.

Durability is not the same: bootd fdatasyncs every lease to its journal
before the ACK that grants it (one fdatasync covers all leases committed
together); Kea's memfile backend (persist true) appends each lease to its
CSV file without fsync, so a power loss can lose leases already ACKed.
The null responder keeps no state at all: its rate is the ceiling that
the generator, the socket path and this machine allow. perfdhcp (one
thread) saturates its own core well below that ceiling, so under perfdhcp
"bootd/null" compares two generator-bound figures; bootd bench is the
generator to read it with.
EOF
}
report | tee "$OUT/report.md"
note "raw outputs and report: $OUT"

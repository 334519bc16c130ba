#!/usr/bin/env bash
# capture.sh - regenerate bootd's golden DHCPv4/BOOTP test vectors from real
# Debian DHCP clients talking to a real dnsmasq.
#
# What it does:
#   * builds private network namespaces (bootdcap-srv-PID, bootdcap-cli-PID,
#     bootdcap-rly-PID, bootdcap-rcl-PID) joined by veth pairs, a bridge and a
#     tap device; only addresses from 198.18.0.0/15 (RFC 2544 benchmarking
#     range) are used: 198.18.0.0/24 is the server link, 198.18.1.0/24 the
#     relayed client link.  No host interface is touched, no client runs in the
#     root namespace, no traffic leaves the namespaces.
#   * runs dnsmasq (--conf-file=/dev/null, everything on the command line, DNS
#     off, lease file in a temp dir) as the DHCP server in the server
#     namespace, bound to its bridge br0 (whose ports are the veths and the
#     qemu tap), and tcpdump on br0;
#   * runs, one session at a time (each session = one pcap):
#       dhclient         dhclient DORA + dhclient -r (RELEASE)
#       dhclient-reboot  dhclient INIT-REBOOT REQUEST for a stale address, NAK
#       udhcpc           busybox udhcpc with -V/-x/-O: DORA, renew, RELEASE
#       udhcpc-overload  udhcpc (max size 576) while dnsmasq forces bulky
#                        options on its MAC: option overload (52) in replies
#       dhcpcd           dhcpcd DORA, dhcpcd -k (RELEASE), dhcpcd --inform
#       nmap             nmap --script broadcast-dhcp-discover (DISCOVER/OFFER)
#       dhcrelay         dhclient behind ISC dhcrelay -a (giaddr, option 82)
#       ipxe             iPXE ROM, legacy BIOS (SeaBIOS), in qemu/TCG
#       ipxe-efi         the same iPXE ROM's EFI driver under OVMF (arch 7)
#       ovmf             OVMF's own UEFI PXE client, virtio-net, no ROM (arch 7)
#   * writes the raw capture of every session to internal/cli/testdata/pcap/
#     (plus dhclient.pcapng, converted with editcap), and one .hex file per
#     interesting packet (UDP payload = BOOTP message from op) to this
#     directory, each with a '#' header holding the tcpdump -vvv decoding;
#     then rewrites README.md here with a table of the vectors.
#   * cleans everything up on exit (trap): kills the processes it started, by
#     PID, and deletes its namespaces.  timeout(1) bounds the whole run (30 min).
#
# Usage:  sudo ./capture.sh [--extract-only] [session ...]
#   (default: all sessions, about 1.5 minutes).  Only the selected sessions
#   are captured again; the vectors and README.md are then re-extracted from
#   all pcaps present.
#   --extract-only: capture nothing, only re-extract vectors and README.md.
#   KEEP_WORK=1 keeps the temporary directory (logs) for debugging.
#
# Needs root (network namespaces, tcpdump, tap) and these Debian packages:
#   iproute2 ethtool isc-dhcp-client udhcpc busybox dhcpcd-base dnsmasq-base
#   tcpdump nmap isc-dhcp-relay qemu-system-x86 ipxe-qemu ovmf tshark (for editcap,
#   from wireshark-common) python3 util-linux coreutils procps
# (the vectors in this directory were made with Debian 12 "bookworm").
#
# It is not run by CI.
set -euo pipefail
umask 022

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../../.." && pwd)
VEC_DIR=$HERE
PCAP_DIR=$REPO/internal/cli/testdata/pcap

die() { echo "capture.sh: $*" >&2; exit 1; }
log() { echo "[capture $(date -u +%T)] $*" >&2; }

# The whole run is bounded: after 30 minutes timeout(1) sends SIGTERM and the
# trap below cleans up.
if [ -z "${BOOTDCAP_BOUNDED:-}" ]; then
  BOOTDCAP_BOUNDED=1 exec timeout -s TERM 1800 "$BASH" "${BASH_SOURCE[0]}" "$@"
fi

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, tcpdump, tap devices)"
for c in ip ethtool dnsmasq tcpdump dhclient udhcpc dhcpcd nmap dhcrelay \
         qemu-system-x86_64 editcap python3 unshare timeout dpkg-query; do
  command -v "$c" >/dev/null 2>&1 || die "missing command: $c (see header for packages)"
done

ALL_SESSIONS="dhclient dhclient-reboot udhcpc udhcpc-overload dhcpcd nmap dhcrelay ipxe ipxe-efi ovmf"
EXTRACT_ONLY=0
if [ "${1:-}" = --extract-only ]; then EXTRACT_ONLY=1; shift; fi
SESSIONS=${*:-$ALL_SESSIONS}
for s in $SESSIONS; do
  case " $ALL_SESSIONS " in *" $s "*) ;; *) die "unknown session: $s";; esac
done

NS_SRV=bootdcap-srv-$$   # dnsmasq, bridge br0 198.18.0.1/24, tcpdump, qemu tap
NS_CLI=bootdcap-cli-$$   # direct clients, c0 on br0
NS_RLY=bootdcap-rly-$$   # dhcrelay: r0 198.18.0.2/24 (server side), r1 198.18.1.1/24
NS_RCL=bootdcap-rcl-$$   # relayed client, c0 on r1's link
ALL_NS="$NS_SRV $NS_CLI $NS_RLY $NS_RCL"
for ns in $ALL_NS; do
  [ ! -e "/run/netns/$ns" ] || die "namespace $ns already exists"
done

WORK=$(mktemp -d /tmp/bootdcap.XXXXXX)
chmod 0755 "$WORK"
PIDS=()

cleanup() {
  local rc=$? pid ns
  set +e
  trap - EXIT INT TERM
  # only PIDs that are still our own children (never a reused PID)
  for pid in "${PIDS[@]}"; do is_child "$pid" && kill -TERM "$pid" 2>/dev/null; done
  sleep 1
  for pid in "${PIDS[@]}"; do is_child "$pid" && kill -KILL "$pid" 2>/dev/null; done
  for ns in $ALL_NS; do
    [ -e "/run/netns/$ns" ] || continue
    # anything still alive inside our own namespaces was started by us
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  if [ "${KEEP_WORK:-0}" = 1 ]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
is_child() { [ "$(ps -o ppid= -p "$1" 2>/dev/null | tr -d ' ')" = "$$" ]; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for SECONDS CMD... : poll until CMD succeeds; fail after SECONDS.
wait_for() {
  local t=$1; shift
  local end=$((SECONDS + t))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.3
  done
}

# stop PID: TERM, then KILL after 5 s; reap it.
stop_pid() {
  local pid=$1 sig=${2:-TERM} i
  kill -"$sig" "$pid" 2>/dev/null || true
  for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------- network ---
setup_net() {
  local ns
  for ns in $ALL_NS; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
  done
  ip -n "$NS_SRV" link add br0 type bridge stp_state 0 forward_delay 0
  ip -n "$NS_SRV" addr add 198.18.0.1/24 dev br0
  ip -n "$NS_SRV" link set br0 up
  # direct client link
  ip -n "$NS_SRV" link add p-cli type veth peer name c0 netns "$NS_CLI"
  ip -n "$NS_SRV" link set p-cli master br0 up
  # relay: r0 on the server bridge, r1 towards the relayed client
  ip -n "$NS_SRV" link add p-rly type veth peer name r0 netns "$NS_RLY"
  ip -n "$NS_SRV" link set p-rly master br0 up
  ip -n "$NS_RLY" addr add 198.18.0.2/24 dev r0
  ip -n "$NS_RLY" link set r0 up
  ip -n "$NS_RLY" link add r1 type veth peer name c0 netns "$NS_RCL"
  ip -n "$NS_RLY" addr add 198.18.1.1/24 dev r1
  ip -n "$NS_RLY" link set r1 up
  # no forwarding in the relay namespace: everything to port 67 from the
  # relayed client goes through dhcrelay
  ip netns exec "$NS_RLY" sysctl -qw net.ipv4.ip_forward=0
  ip -n "$NS_SRV" route add 198.18.1.0/24 via 198.18.0.2
  # no checksum offload, so the UDP checksums in the pcaps are the real ones
  no_offload "$NS_SRV" br0 p-cli p-rly
  no_offload "$NS_CLI" c0
  no_offload "$NS_RLY" r0 r1
  no_offload "$NS_RCL" c0
}
no_offload() {
  local ns=$1 dev; shift
  for dev in "$@"; do
    ip netns exec "$ns" ethtool -K "$dev" tx off rx off >/dev/null
  done
}

# set_client NS MAC : fresh, addressless c0 with a fixed MAC
set_client() {
  ip -n "$1" link set c0 down
  ip -n "$1" addr flush dev c0
  ip -n "$1" link set c0 address "$2"
  ip -n "$1" link set c0 up
}

# ---------------------------------------------------------------- dnsmasq ---
# Bulky options, forced on one client (MAC 02:b0:07:00:00:09) only: more than
# fits in a 576-byte message, so dnsmasq spills into file/sname (option 52
# overload); option 224 is a 154-byte string.
BIG_SEARCH=$(printf 'dept%02d.lab.example.test,' $(seq 1 6)); BIG_SEARCH=${BIG_SEARCH%,}
BIG_NTP=$(printf '198.18.0.%d,' $(seq 1 12)); BIG_NTP=${BIG_NTP%,}
BIG_URL="http://198.18.0.1/$(printf 'proxy-autoconfig/%.0s' $(seq 1 4))wpad.dat"
BIG_TEXT=$(printf 'bootd-long-option-%03d;' $(seq 1 7))
start_dnsmasq() {
  : >"$WORK/dnsmasq.log"
  ip netns exec "$NS_SRV" dnsmasq --keep-in-foreground --conf-file=/dev/null \
    --no-resolv --no-hosts --port=0 --user=root --group=root \
    --interface=br0 --except-interface=lo --bind-interfaces \
    --pid-file="$WORK/dnsmasq.pid" --dhcp-leasefile="$WORK/dnsmasq.leases" \
    --log-dhcp --log-facility="$WORK/dnsmasq.log" \
    --dhcp-authoritative --no-ping \
    --dhcp-range=set:lan,198.18.0.100,198.18.0.200,255.255.255.0,1h \
    --dhcp-range=set:relayed,198.18.1.100,198.18.1.200,255.255.255.0,1h \
    --dhcp-option=tag:lan,option:router,198.18.0.1 \
    --dhcp-option=tag:relayed,option:router,198.18.1.1 \
    --dhcp-option=option:dns-server,198.18.0.1 \
    --dhcp-option=option:domain-name,example.test \
    --dhcp-option=option:domain-search,example.test,lab.example.test \
    --dhcp-option=option:ntp-server,198.18.0.1 \
    --dhcp-option=option:time-offset,3600 \
    --dhcp-option=option:mtu,1500 \
    --dhcp-option=tag:lan,option:classless-static-route,198.18.2.0/24,198.18.0.1 \
    --dhcp-option=252,"http://198.18.0.1/wpad.dat" \
    --dhcp-option=vendor:bootd-test,1,"hello from dnsmasq" \
    --dhcp-mac=set:big,02:b0:07:00:00:09 \
    --dhcp-option-force=tag:big,option:domain-search,$BIG_SEARCH \
    --dhcp-option-force=tag:big,option:ntp-server,$BIG_NTP \
    --dhcp-option-force=tag:big,252,"$BIG_URL" \
    --dhcp-option-force=tag:big,224,"$BIG_TEXT" \
    --dhcp-vendorclass=set:pxe,PXEClient \
    --dhcp-userclass=set:ipxe,iPXE \
    --dhcp-match=set:efi64,option:client-arch,7 \
    --dhcp-boot=tag:pxe,tag:!ipxe,tag:!efi64,undionly.kpxe,bootsrv,198.18.0.1 \
    --dhcp-boot=tag:efi64,tag:!ipxe,ipxe.efi,bootsrv,198.18.0.1 \
    --dhcp-boot=tag:ipxe,http://198.18.0.1/boot.ipxe,bootsrv,198.18.0.1 \
    >"$WORK/dnsmasq.stderr" 2>&1 &
  PIDS+=($!)
  wait_for 10 grep -q 'DHCP, IP range 198.18.1.100' "$WORK/dnsmasq.log" \
    || { cat "$WORK/dnsmasq.stderr" "$WORK/dnsmasq.log" >&2; die "dnsmasq did not start"; }
}

# dnsmasq log lines since mark_log; wait_log N PATTERN SECONDS
LOG_MARK=0
mark_log() { LOG_MARK=$(wc -l <"$WORK/dnsmasq.log"); }
log_count() { tail -n +"$((LOG_MARK + 1))" "$WORK/dnsmasq.log" | grep -c -- "$1" || true; }
log_has() { [ "$(log_count "$2")" -ge "$1" ]; }
wait_log() {
  wait_for "$3" log_has "$1" "$2" || { log "timeout waiting for $1 x '$2'"; return 1; }
}

# ---------------------------------------------------------------- tcpdump ---
CAP_PID=
CAP_NAME=
cap_start() {
  CAP_NAME=$1
  rm -f "$WORK/$1.raw.pcap"
  ip netns exec "$NS_SRV" tcpdump -Z root -i br0 -n -s 0 -U -w "$WORK/$1.raw.pcap" \
    'udp port 67 or udp port 68' >"$WORK/$1.tcpdump.log" 2>&1 &
  CAP_PID=$!
  PIDS+=($CAP_PID)
  wait_for 10 grep -q 'listening on' "$WORK/$1.tcpdump.log" || die "tcpdump did not start"
  mark_log
}
cap_stop() {
  sleep 1
  stop_pid "$CAP_PID" INT
  mkdir -p "$PCAP_DIR"
  tcpdump -Z root -r "$WORK/$CAP_NAME.raw.pcap" -w "$PCAP_DIR/$CAP_NAME.pcap" \
    'udp port 67 or udp port 68' 2>/dev/null
  log "$CAP_NAME: $(tcpdump -r "$PCAP_DIR/$CAP_NAME.pcap" -n 2>/dev/null | wc -l) packets -> $PCAP_DIR/$CAP_NAME.pcap"
}

# --------------------------------------------------------------- sessions ---
# dhclient: DISCOVER/OFFER/REQUEST/ACK, then dhclient -r => RELEASE.
# -sf /bin/true means dhclient configures nothing, so the leased address is put
# on c0 by hand (inside the client namespace) before the release, which is
# sent by unicast to the server.  Debian's /etc/dhcp/dhclient.conf is used as
# shipped (it sends the host name, set to dhclient-test in a private UTS ns).
run_dhclient() { # NS LEASEFILE PIDFILE HOSTNAME ARGS...
  local ns=$1 lf=$2 pf=$3 hn=$4; shift 4
  ip netns exec "$ns" unshare -u sh -c 'hostname "$1"; shift; exec "$@"' sh "$hn" \
    timeout 120 dhclient -4 -v -sf /bin/true -lf "$lf" -pf "$pf" "$@"
}
lease_ip() { awk '/fixed-address/ {gsub(";", "", $2); a = $2} END {print a}' "$1"; }

session_dhclient() {
  local lf=$WORK/dhclient.leases pf=$WORK/dhclient.pid pid ip
  set_client "$NS_CLI" 02:b0:07:00:00:01
  : >"$lf"
  cap_start dhclient
  run_dhclient "$NS_CLI" "$lf" "$pf" dhclient-test -d -1 c0 >"$WORK/dhclient.log" 2>&1 &
  pid=$!; PIDS+=($pid)
  wait_log 1 'DHCPACK(br0)' 40
  wait_for 10 grep -q fixed-address "$lf"
  ip=$(lease_ip "$lf")
  ip -n "$NS_CLI" addr add "$ip/24" dev c0
  # dhclient -r stops the running dhclient (its pid file) and sends RELEASE
  run_dhclient "$NS_CLI" "$lf" "$pf" dhclient-test -r c0 >>"$WORK/dhclient.log" 2>&1 || true
  wait_log 1 'DHCPRELEASE(br0)' 15
  stop_pid "$pid"
  cap_stop
}

# dhclient INIT-REBOOT: a stale lease for an address outside the pool makes
# dhclient send a REQUEST (option 50, no server id, ciaddr 0); the
# authoritative dnsmasq answers DHCPNAK.
session_dhclient-reboot() {
  local lf=$WORK/dhclient-reboot.leases pf=$WORK/dhclient-reboot.pid pid
  set_client "$NS_CLI" 02:b0:07:00:00:01
  cat >"$lf" <<'EOF'
lease {
  interface "c0";
  fixed-address 198.18.0.250;
  option subnet-mask 255.255.255.0;
  option routers 198.18.0.1;
  option dhcp-lease-time 3600;
  option dhcp-message-type 5;
  option dhcp-server-identifier 198.18.0.1;
  renew 4 2099/01/01 00:00:00;
  rebind 4 2099/01/01 00:00:00;
  expire 4 2099/01/01 00:00:00;
}
EOF
  cap_start dhclient-reboot
  run_dhclient "$NS_CLI" "$lf" "$pf" dhclient-test -d -1 c0 >"$WORK/dhclient-reboot.log" 2>&1 &
  pid=$!; PIDS+=($pid)
  wait_log 1 'DHCPNAK(br0)' 40
  sleep 1
  stop_pid "$pid"
  cap_stop
}

# udhcpc: vendor class (-V), host name (-x), extra requested options (-O);
# DORA, then SIGUSR1 (renew: unicast REQUEST with ciaddr), then SIGTERM with
# -R (RELEASE).  -s /bin/true: the address is put on c0 by hand.
session_udhcpc() {
  local pid ip
  set_client "$NS_CLI" 02:b0:07:00:00:02
  cap_start udhcpc
  ip netns exec "$NS_CLI" udhcpc -f -R -i c0 -s /bin/true -t 5 -T 2 -A 5 \
    -V bootd-test -x hostname:udhcpc-test -x lease:7200 \
    -O ntpsrv -O search -O staticroutes -O wpad -O 43 \
    >"$WORK/udhcpc.log" 2>&1 &
  pid=$!; PIDS+=($pid)
  wait_log 1 'DHCPACK(br0)' 40
  wait_for 10 grep -q 'lease of' "$WORK/udhcpc.log"
  ip=$(sed -n 's/.*lease of \([0-9.]*\) obtained.*/\1/p' "$WORK/udhcpc.log" | tail -n 1)
  ip -n "$NS_CLI" addr add "$ip/24" dev c0
  sleep 1
  kill -USR1 "$pid"
  wait_log 2 'DHCPACK(br0)' 20
  sleep 1
  kill -TERM "$pid"
  wait_log 1 'DHCPRELEASE(br0)' 15
  stop_pid "$pid"
  cap_stop
}

# dhcpcd: Debian's /etc/dhcpcd.conf as shipped, -c /bin/true (no hooks at all,
# so no resolv.conf change), run in a private mount namespace with tmpfs over
# /run and /var/lib/dhcpcd (its pid file, control socket, DUID and lease files
# never reach the host) and a private UTS namespace (host name dhcpcd-test).
# DORA, dhcpcd -k (RELEASE), then dhcpcd --inform 198.18.0.50/24 (INFORM).
session_dhcpcd() {
  local pid
  set_client "$NS_CLI" 02:b0:07:00:00:03
  cap_start dhcpcd
  ip netns exec "$NS_CLI" unshare -m -u --propagation private sh -c '
    set -u
    work=$1
    hostname dhcpcd-test
    mount -t tmpfs -o mode=0755 tmpfs /run
    mount -t tmpfs -o mode=0755 tmpfs /var/lib/dhcpcd
    has_addr() { ip -4 addr show dev c0 | grep -q "inet $1"; }
    dhcpcd -4 -B -c /bin/true -t 30 c0 >"$work/dhcpcd.log" 2>&1 &
    p=$!
    i=0; until has_addr 198.18.0.1 || [ $i -ge 150 ]; do sleep 0.3; i=$((i+1)); done
    sleep 1
    timeout 20 dhcpcd -4 -k c0 >>"$work/dhcpcd.log" 2>&1
    i=0; while kill -0 $p 2>/dev/null && [ $i -lt 50 ]; do sleep 0.3; i=$((i+1)); done
    kill $p 2>/dev/null; wait $p
    ip addr flush dev c0
    dhcpcd -4 -B -c /bin/true -t 15 --inform=198.18.0.50/24 c0 >>"$work/dhcpcd.log" 2>&1 &
    p=$!
    i=0; until grep -q "DHCPINFORM(br0)" "$work/dnsmasq.log" || [ $i -ge 60 ]; do sleep 0.3; i=$((i+1)); done
    sleep 2
    timeout 20 dhcpcd -4 -x c0 >>"$work/dhcpcd.log" 2>&1
    sleep 1; kill $p 2>/dev/null; wait $p
    exit 0
  ' sh "$WORK" &
  pid=$!; PIDS+=($pid)
  wait_log 1 'DHCPACK(br0)' 60
  wait_log 1 'DHCPRELEASE(br0)' 30
  wait_log 1 'DHCPINFORM(br0)' 30 || true
  wait_for 40 sh -c "! kill -0 $pid" || true
  stop_pid "$pid"
  ip -n "$NS_CLI" addr flush dev c0
  cap_stop
}

# nmap broadcast-dhcp-discover: a single DISCOVER (chaddr de:ad:c0:de:ca:fe,
# the script's default), the OFFER is only read.  Run in the client namespace
# on c0 only.
session_nmap() {
  local pid
  set_client "$NS_CLI" 02:b0:07:00:00:04
  ip -n "$NS_CLI" addr add 198.18.0.50/24 dev c0
  cap_start nmap
  ip netns exec "$NS_CLI" timeout 90 nmap -n -e c0 --script broadcast-dhcp-discover \
    --script-args broadcast-dhcp-discover.timeout=5s >"$WORK/nmap.log" 2>&1 &
  pid=$!; PIDS+=($pid)
  wait_log 1 'DHCPOFFER(br0)' 40
  wait_for 40 sh -c "! kill -0 $pid" || true
  stop_pid "$pid"
  ip -n "$NS_CLI" addr flush dev c0
  cap_stop
}

# dhclient behind ISC dhcrelay -a (option 82, circuit id = "r1"); captured on
# the server side: giaddr 198.18.1.1, hops 1, option 82 in requests and in
# dnsmasq's echoing replies.  The relay namespace does not forward, so the
# client's unicast RELEASE (to 198.18.0.1, via 198.18.1.1) is picked up and
# relayed by dhcrelay as well.
session_dhcrelay() {
  local lf=$WORK/dhcrelay-dhclient.leases pf=$WORK/dhcrelay-dhclient.pid rpid pid ip
  set_client "$NS_RCL" 02:b0:07:00:00:05
  : >"$lf"
  cap_start dhcrelay
  ip netns exec "$NS_RLY" timeout 180 dhcrelay -4 -d -a -pf "$WORK/dhcrelay.pid" \
    -iu r0 -id r1 198.18.0.1 >"$WORK/dhcrelay.log" 2>&1 &
  rpid=$!; PIDS+=($rpid)
  sleep 2
  run_dhclient "$NS_RCL" "$lf" "$pf" dhclient-relayed -d -1 c0 >"$WORK/dhcrelay-dhclient.log" 2>&1 &
  pid=$!; PIDS+=($pid)
  wait_log 1 'DHCPACK(br0)' 40
  wait_for 10 grep -q fixed-address "$lf"
  ip=$(lease_ip "$lf")
  ip -n "$NS_RCL" addr add "$ip/24" dev c0
  ip -n "$NS_RCL" route add default via 198.18.1.1
  run_dhclient "$NS_RCL" "$lf" "$pf" dhclient-relayed -r c0 >>"$WORK/dhcrelay-dhclient.log" 2>&1 || true
  wait_log 1 'DHCPRELEASE(br0)' 15 || true
  stop_pid "$pid"
  stop_pid "$rpid"
  cap_stop
}

# qemu (TCG); the tap device is created inside the server namespace and
# bridged to br0.  E1000_IPXE is an e1000 whose option ROM is ipxe-qemu's
# efi-e1000.rom (a combined legacy PXE + EFI iPXE ROM).
E1000_IPXE="e1000,romfile=/usr/lib/ipxe/qemu/efi-e1000.rom"
run_qemu() { # NAME NIC-DEVICE SECONDS EXTRA-ARGS...
  local name=$1 nic=$2 secs=$3; shift 3
  ip -n "$NS_SRV" tuntap add tap0 mode tap
  ip -n "$NS_SRV" link set tap0 master br0 up
  no_offload "$NS_SRV" tap0
  ip netns exec "$NS_SRV" timeout "$secs" qemu-system-x86_64 -accel tcg -m 512 \
    -nodefaults -display none -serial "file:$WORK/$name-serial.log" \
    -monitor none -no-reboot -boot n \
    -device "$nic,netdev=n0" \
    -netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
    "$@" >"$WORK/$name-qemu.log" 2>&1 &
  QEMU_PID=$!; PIDS+=($QEMU_PID)
}
stop_qemu() {
  stop_pid "$QEMU_PID"
  ip -n "$NS_SRV" link del tap0 2>/dev/null || true
}

# udhcpc again (max message size 576), but dnsmasq forces bulky options on
# this MAC: the OFFER/ACK use option overload (52) and split long options.
session_udhcpc-overload() {
  local pid
  set_client "$NS_CLI" 02:b0:07:00:00:09
  cap_start udhcpc-overload
  ip netns exec "$NS_CLI" udhcpc -f -q -i c0 -s /bin/true -t 5 -T 2 -A 5 \
    >"$WORK/udhcpc-overload.log" 2>&1 &
  pid=$!; PIDS+=($pid)
  wait_log 1 'DHCPACK(br0)' 40
  wait_for 10 sh -c "! kill -0 $pid" || true
  stop_pid "$pid"
  cap_stop
}

# iPXE (legacy BIOS: SeaBIOS + ipxe-qemu ROM): DISCOVER with user class iPXE,
# option 175; dnsmasq offers a boot file, iPXE sends REQUEST.
session_ipxe() {
  cap_start ipxe
  run_qemu ipxe "$E1000_IPXE,mac=52:54:00:b0:07:06" 150
  wait_log 1 'DHCPACK(br0)' 140 || true
  sleep 2
  stop_qemu
  cap_stop
}

# iPXE as a UEFI driver: OVMF + the same e1000/efi-e1000.rom; OVMF starts the
# ROM's EFI iPXE, which sends DISCOVER with option 93 = 7 and user class iPXE.
session_ipxe-efi() {
  cap_start ipxe-efi
  run_qemu ipxe-efi "$E1000_IPXE,mac=52:54:00:b0:07:07" 240 -bios /usr/share/ovmf/OVMF.fd
  wait_log 1 'DHCPACK(br0)' 230 || true
  sleep 2
  stop_qemu
  cap_stop
}

# OVMF's own UEFI PXE client (EDK2 PxeBcDxe over its VirtioNetDxe driver): a
# virtio-net NIC with no option ROM at all, so no iPXE is involved.
session_ovmf() {
  cap_start ovmf
  run_qemu ovmf "virtio-net-pci,romfile=,mac=52:54:00:b0:07:08" 240 -bios /usr/share/ovmf/OVMF.fd
  wait_log 1 'DHCPACK(br0)' 230 || true
  sleep 2
  stop_qemu
  cap_stop
}

# ------------------------------------------------------------- extraction ---
ver() { dpkg-query -W -f='${Version}' "$1"; }
DNSMASQ_UPSTREAM=$(dnsmasq --version | sed -n '1s/^Dnsmasq version \([^ ]*\).*/\1/p')
export V_DNSMASQ="dnsmasq $DNSMASQ_UPSTREAM (Debian dnsmasq-base $(ver dnsmasq-base))"
export V_TCPDUMP="tcpdump $(ver tcpdump) (libpcap0.8 $(ver libpcap0.8:amd64 2>/dev/null || ver libpcap0.8))"
V_QEMU="qemu-system-x86 $(ver qemu-system-x86)"
V_IPXE="ipxe-qemu $(ver ipxe-qemu)"
# S_key: full source line of a vector's header; SS_key: short form for README.
export S_dhclient="dhclient, Debian package isc-dhcp-client $(ver isc-dhcp-client)"
export SS_dhclient="dhclient (isc-dhcp-client $(ver isc-dhcp-client))"
export S_udhcpc="busybox udhcpc, Debian package udhcpc $(ver udhcpc) (busybox $(ver busybox))"
export SS_udhcpc="udhcpc (udhcpc/busybox $(ver udhcpc))"
export S_dhcpcd="dhcpcd, Debian package dhcpcd-base $(ver dhcpcd-base)"
export SS_dhcpcd="dhcpcd (dhcpcd-base $(ver dhcpcd-base))"
export S_nmap="nmap --script broadcast-dhcp-discover, Debian package nmap $(ver nmap)"
export SS_nmap="nmap broadcast-dhcp-discover (nmap $(ver nmap))"
export S_dhcrelay="dhcrelay -a, Debian package isc-dhcp-relay $(ver isc-dhcp-relay), relaying dhclient (isc-dhcp-client $(ver isc-dhcp-client))"
export SS_dhcrelay="dhcrelay (isc-dhcp-relay $(ver isc-dhcp-relay)) relaying dhclient"
export S_ipxe="iPXE legacy PXE ROM efi-e1000.rom from Debian package $V_IPXE, SeaBIOS $(ver seabios), $V_QEMU (TCG, e1000)"
export SS_ipxe="iPXE BIOS ($V_IPXE)"
export S_ipxe_efi="iPXE EFI driver from efi-e1000.rom, Debian package $V_IPXE, started by OVMF (ovmf $(ver ovmf)), $V_QEMU (TCG, e1000)"
export SS_ipxe_efi="iPXE EFI ($V_IPXE, ovmf $(ver ovmf))"
export S_ovmf="OVMF/EDK2 UEFI PXE (PxeBcDxe + VirtioNetDxe, no option ROM), Debian package ovmf $(ver ovmf), $V_QEMU (TCG, virtio-net-pci)"
export SS_ovmf="OVMF UEFI PXE (ovmf $(ver ovmf))"
export S_dnsmasq="$V_DNSMASQ"
export SS_dnsmasq="dnsmasq (dnsmasq-base $(ver dnsmasq-base))"

# session  sender  msgtype  nth  vector-file  source-key  note
# sender: "server" = sent by dnsmasq (198.18.0.1), "client" = anything else.
MANIFEST='
dhclient         client DISCOVER 1 dhclient-discover          dhclient  Debian dhclient.conf as shipped: host name (12), 13-entry PRL (55); no client id
dhclient         client REQUEST  1 dhclient-request           dhclient  SELECTING: requested address (50) + server id (54)
dhclient         client RELEASE  1 dhclient-release           dhclient  dhclient -r: unicast to the server, ciaddr set
dhclient         server OFFER    1 dnsmasq-offer              dnsmasq   reply to dhclient-discover: 121 classless route, 119 domain search with a compression pointer, siaddr set
dhclient         server ACK      1 dnsmasq-ack                dnsmasq   reply to dhclient-request: echoes host name (12)
dhclient-reboot  client REQUEST  1 dhclient-reboot-request    dhclient  INIT-REBOOT from a stale lease: option 50 = 198.18.0.250, no server id, ciaddr 0
dhclient-reboot  server NAK      1 dnsmasq-nak                dnsmasq   authoritative NAK to dhclient-reboot-request: message (56), broadcast flag
udhcpc           client DISCOVER 1 udhcpc-discover            udhcpc    -V bootd-test (60), -x hostname (12), -x lease:7200 (51), -O adds 42/119/121/252/43 to PRL, max size 576 (57), client id (61)
udhcpc           client REQUEST  1 udhcpc-request             udhcpc    SELECTING: 50 + 54
udhcpc           client REQUEST  2 udhcpc-renew-request       udhcpc    RENEWING (SIGUSR1): unicast, ciaddr set, no 50/54
udhcpc           client RELEASE  1 udhcpc-release             udhcpc    -R on exit: unicast, ciaddr set
udhcpc           server OFFER    1 dnsmasq-udhcpc-offer       dnsmasq   reply to udhcpc: vendor options (43) for vendor class bootd-test, 60 echoed, 252 WPAD URL
udhcpc           server ACK      1 dnsmasq-udhcpc-ack         dnsmasq   reply to udhcpc-request
udhcpc-overload  server OFFER    1 dnsmasq-overload-offer     dnsmasq   option overload (52 = 3): options continue in file and sname; 154-byte option 224; client max size 576
udhcpc-overload  server ACK      1 dnsmasq-overload-ack       dnsmasq   same as dnsmasq-overload-offer, as ACK
dhcpcd           client DISCOVER 1 dhcpcd-discover            dhcpcd    Debian dhcpcd.conf as shipped: client id (61) RFC 4361 IAID+DUID, rapid commit (80), 116, 145, max size 1472
dhcpcd           client REQUEST  1 dhcpcd-request             dhcpcd    SELECTING: 50 + 54
dhcpcd           client RELEASE  1 dhcpcd-release             dhcpcd    dhcpcd -k: unicast, ciaddr set
dhcpcd           client INFORM   1 dhcpcd-inform              dhcpcd    dhcpcd --inform=198.18.0.50/24: ciaddr set
dhcpcd           server ACK      2 dnsmasq-inform-ack         dnsmasq   ACK to dhcpcd-inform: yiaddr 0, no lease time (51)
nmap             client DISCOVER 1 nmap-discover              nmap      chaddr de:ad:c0:de:ca:fe (script default), broadcast flag, 64-entry PRL, 310 bytes
nmap             server OFFER    1 dnsmasq-nmap-offer         dnsmasq   reply to nmap-discover, broadcast
dhcrelay         client DISCOVER 1 dhcrelay-discover          dhcrelay  relayed: giaddr 198.18.1.1, hops 1, option 82 sub-option 1 circuit id "r1"
dhcrelay         client REQUEST  1 dhcrelay-request           dhcrelay  relayed: giaddr, hops 1, option 82
dhcrelay         client RELEASE  1 dhcrelay-release           dhcrelay  the client unicast RELEASE, picked up and relayed: ciaddr and giaddr, option 82
dhcrelay         server OFFER    1 dnsmasq-relayed-offer      dnsmasq   to giaddr port 67, option 82 echoed, yiaddr from the relay subnet
dhcrelay         server ACK      1 dnsmasq-relayed-ack        dnsmasq   to giaddr port 67, option 82 echoed
ipxe             client DISCOVER 1 ipxe-discover              ipxe      60 PXEClient:Arch:00000:UNDI:002001, 77 user class iPXE, 93 arch 0, 94, 97 UUID, 175 iPXE encapsulated options
ipxe             client REQUEST  1 ipxe-request               ipxe      the same + 50/54
ipxe             server OFFER    1 dnsmasq-ipxe-offer         dnsmasq   boot file URL in options 66/67 (NUL-terminated; file/sname fields empty)
ipxe             server ACK      1 dnsmasq-ipxe-ack           dnsmasq   reply to ipxe-request
ipxe-efi         client DISCOVER 1 ipxe-efi-discover          ipxe_efi  93 arch 7, 60 PXEClient:Arch:00007:UNDI:003010, 77 user class iPXE, 175
ipxe-efi         client REQUEST  1 ipxe-efi-request           ipxe_efi  the same + 50/54
ovmf             client DISCOVER 1 ovmf-discover              ovmf      EDK2 PXE: 93 arch 7, 60 PXEClient:Arch:00007:UNDI:003000, 94, 97 UUID, broadcast flag
ovmf             client REQUEST  1 ovmf-request               ovmf      EDK2 PXE REQUEST: max size (57) 65280
ovmf             server OFFER    1 dnsmasq-ovmf-offer         dnsmasq   boot file ipxe.efi for arch 7 in options 66/67
ovmf             server ACK      1 dnsmasq-ovmf-ack           dnsmasq   reply to ovmf-request
'
CAPTURE_DATE=$(date -u +%F)
export MANIFEST VEC_DIR PCAP_DIR CAPTURE_DATE

extract() {
  python3 - <<'PY'
import os, struct, subprocess, sys

vec_dir = os.environ["VEC_DIR"]
pcap_dir = os.environ["PCAP_DIR"]
date = os.environ["CAPTURE_DATE"]
SERVER_IP = "198.18.0.1"
TYPES = {1: "DISCOVER", 2: "OFFER", 3: "REQUEST", 4: "DECLINE", 5: "ACK",
         6: "NAK", 7: "RELEASE", 8: "INFORM"}

def read_pcap(path):
    data = open(path, "rb").read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        sys.exit("%s: not a classic pcap file" % path)
    linktype = struct.unpack(e + "I", data[20:24])[0]
    off, frames = 24, []
    while off < len(data):
        _, _, incl, orig = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        if incl != orig:
            sys.exit("%s: truncated packet" % path)
        frames.append(data[off:off + incl])
        off += incl
    return linktype, frames

def ip4(b):
    return ".".join(str(x) for x in b)

def udp_payload(linktype, frame):
    if linktype == 1:           # Ethernet
        et, off = struct.unpack(">H", frame[12:14])[0], 14
        while et in (0x8100, 0x88a8):
            et = struct.unpack(">H", frame[off + 2:off + 4])[0]
            off += 4
        assert et == 0x0800, "not IPv4"
        ip = frame[off:]
    elif linktype == 113:       # Linux cooked
        ip = frame[16:]
    else:
        sys.exit("unsupported linktype %d" % linktype)
    ihl = (ip[0] & 15) * 4
    total = struct.unpack(">H", ip[2:4])[0]
    assert ip[9] == 17, "not UDP"
    udp = ip[ihl:total]
    sport, dport, ulen = struct.unpack(">HHH", udp[:6])
    payload = udp[8:ulen]
    # the vector is exactly the UDP payload
    assert len(payload) == ulen - 8 == total - ihl - 8, "length mismatch"
    return ip4(ip[12:16]), ip4(ip[16:20]), sport, dport, payload

def walk(buf):
    out, i = [], 0
    while i < len(buf):
        c = buf[i]
        if c == 255:
            break
        if c == 0:
            i += 1
            continue
        l = buf[i + 1]
        out.append((c, buf[i + 2:i + 2 + l]))
        i += 2 + l
    return out

def options(p):
    """(main options, options from file, options from sname)"""
    assert p[236:240] == b"\x63\x82\x53\x63", "no magic cookie"
    main = walk(p[240:])
    ov = dict(main).get(52, b"\0")[0]
    f = walk(p[108:236]) if ov & 1 else []
    s = walk(p[44:108]) if ov & 2 else []
    return main, f, s

def show(v):
    if v and all(32 <= b < 127 for b in v.rstrip(b"\0")):
        return '"%s"' % v.decode("ascii")
    return v.hex()

def decode_blocks(pcap):
    txt = subprocess.run(["tcpdump", "-r", pcap, "-vvv", "-n"], check=True,
                         capture_output=True, text=True).stdout
    blocks = []
    for line in txt.splitlines():
        if line and not line[0].isspace():
            blocks.append([])
        blocks[-1].append(line.rstrip())
    return blocks

def facts(p, main, fopts, sopts):
    d = dict(main + fopts + sopts)
    n = []
    if p[3]:
        n.append("hops %d" % p[3])
    for name, off in (("ciaddr", 12), ("yiaddr", 16), ("siaddr", 20), ("giaddr", 24)):
        if p[off:off + 4] != b"\0\0\0\0":
            n.append("%s %s" % (name, ip4(p[off:off + 4])))
    if struct.unpack(">H", p[10:12])[0] & 0x8000:
        n.append("broadcast flag")
    if 82 in d:
        subs, v, i = [], d[82], 0
        while i + 1 < len(v):
            subs.append("%d=%s" % (v[i], show(v[i + 2:i + 2 + v[i + 1]])))
            i += 2 + v[i + 1]
        n.append("82 sub-options " + " ".join(subs))
    if 93 in d:
        n.append("93 arch " + ",".join(str(struct.unpack(">H", d[93][i:i + 2])[0]) for i in range(0, len(d[93]), 2)))
    if 52 in d:
        n.append("52 overload %d: file has %s; sname has %s" % (
            d[52][0], ",".join(str(c) for c, _ in fopts) or "-",
            ",".join(str(c) for c, _ in sopts) or "-"))
    n.append("options " + ",".join(str(c) for c, _ in main))
    return "; ".join(n)

rows = []
for line in os.environ["MANIFEST"].strip().splitlines():
    f = line.split(None, 6)
    rows.append((f[0], f[1], f[2], int(f[3]), f[4], f[5], f[6] if len(f) > 6 else ""))

table, missing = [], []
sessions = []
for r in rows:
    if r[0] not in sessions:
        sessions.append(r[0])
for session in sessions:
    pcap = os.path.join(pcap_dir, session + ".pcap")
    if not os.path.exists(pcap):
        missing += [r[4] for r in rows if r[0] == session]
        continue
    linktype, frames = read_pcap(pcap)
    blocks = decode_blocks(pcap)
    assert len(blocks) == len(frames), "%s: tcpdump shows %d packets, pcap has %d" % (pcap, len(blocks), len(frames))
    pkts = []
    for idx, fr in enumerate(frames):
        src, dst, sport, dport, p = udp_payload(linktype, fr)
        main, fo, so = options(p)
        mt = TYPES.get(dict(main).get(53, b"\0")[0], "BOOTP")
        pkts.append((idx, src, dst, sport, dport, p, main, fo, so, mt,
                     "server" if src == SERVER_IP else "client"))
    for (s, sender, mtype, nth, name, key, note) in rows:
        if s != session:
            continue
        sel = [k for k in pkts if k[10] == sender and k[9] == mtype]
        if len(sel) < nth:
            missing.append(name)
            continue
        idx, src, dst, sport, dport, p, main, fo, so, mt, _ = sel[nth - 1]
        hdr = [
            "bootd DHCPv4 golden vector: %s.hex" % name,
            "source:  " + os.environ["S_" + key],
            "message: DHCP%s (option 53 = %d), %s, %d bytes = the whole UDP payload (BOOTP message from op)"
            % (mt, dict(main)[53][0], "reply from the server" if sender == "server" else "sent to the server", len(p)),
            "capture: %s, %s inside a private Linux network namespace, on the bridge of the" % (date, os.environ["V_TCPDUMP"]),
            "         server namespace, against %s; only addresses in 198.18.0.0/15" % os.environ["V_DNSMASQ"],
            "pcap:    internal/cli/testdata/pcap/%s.pcap, packet %d of %d" % (session, idx + 1, len(frames)),
            "udp:     %s:%d -> %s:%d" % (src, sport, dst, dport),
            "notes:   " + note,
            "redo:    capture.sh in this directory (needs root); hex below: 32 bytes a line",
        ]
        if fo or so:
            hdr.append("overload (option 52, not decoded by tcpdump; decoded by capture.sh):")
            for where, lst in (("file", fo), ("sname", so)):
                for c, v in lst:
                    hdr.append("  in %s: option %d, length %d: %s" % (where, c, len(v), show(v)))
        hdr += ["", "tcpdump -r %s.pcap -vvv -n (this packet):" % session] + blocks[idx]
        hx = p.hex()
        body = [hx[i:i + 64] for i in range(0, len(hx), 64)]
        assert len("".join(body)) == 2 * len(p)
        with open(os.path.join(vec_dir, name + ".hex"), "w") as fh:
            for h in hdr:
                fh.write(("# " + h).expandtabs(8).rstrip() + "\n")
            for b in body:
                fh.write(b + "\n")
        fx = facts(p, main, fo, so)
        print("%-30s %-8s %4d bytes  %s" % (name + ".hex", mt, len(p), fx))
        table.append("| `%s.hex` | %s | DHCP%s | %d | %s. %s |" % (
            name, os.environ["SS_" + key], mt, len(p), note, fx))

if missing:
    print("NOT CAPTURED: " + " ".join(missing))

import textwrap
intro = [
    "Real packets from real Debian 12 clients, captured on %(date)s with %(tcpdump)s "
    "inside private network namespaces (addresses from 198.18.0.0/15 only), against "
    "%(dnsmasq)s as the server.  `capture.sh` in this directory regenerates all of it "
    "(needs root; not run by CI; see its header for the Debian packages).",
    "Each `*.hex` file is one packet, the UDP payload only (the BOOTP message from "
    "`op`), as lowercase hex, 32 bytes (64 hex digits) a line, after a header of `#` "
    "lines: source program and its Debian version, message type, how it was captured "
    "and the full `tcpdump -r <session>.pcap -vvv -n` decoding of that packet.  The "
    "raw capture of every session is in `internal/cli/testdata/pcap/<session>.pcap` "
    "(`dhclient.pcapng` is the same capture as `dhclient.pcap`, written as pcapng by "
    "`editcap -F pcapng`).  Server replies are named `dnsmasq-*`.",
]
subst = {"date": date, "tcpdump": os.environ["V_TCPDUMP"], "dnsmasq": os.environ["V_DNSMASQ"]}
readme = "# Golden DHCPv4/BOOTP captures\n\n" + "\n\n".join(
    textwrap.fill(para % subst, 79, break_long_words=False, break_on_hyphens=False)
    for para in intro) + """

| File | Source (Debian version) | Message | Bytes | Notable contents |
| --- | --- | --- | ---: | --- |
"""
readme += "\n".join(table) + "\n"
readme += """
`options` lists the option codes in the options field, in wire order (pad and
end left out).  Addresses, xids, DUIDs and timestamps differ on every run.
"""
with open(os.path.join(vec_dir, "README.md"), "w") as fh:
    fh.write(readme)
PY
}

# ------------------------------------------------------------------- main ---
if [ "$EXTRACT_ONLY" = 1 ]; then
  extract
  exit 0
fi
setup_net
start_dnsmasq
log "namespaces $ALL_NS up, dnsmasq running"
for s in $SESSIONS; do
  log "session $s"
  "session_$s"
done
[ ! -f "$PCAP_DIR/dhclient.pcap" ] || case " $SESSIONS " in *" dhclient "*)
  editcap -F pcapng "$PCAP_DIR/dhclient.pcap" "$PCAP_DIR/dhclient.pcapng" ;; esac
extract
log "done"

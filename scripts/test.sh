#!/usr/bin/env bash
# Runs every bootd test on this machine: installs what the tests need (Debian
# packages when running as root, Go modules), then the unit and integration
# tests under the race detector, then each fuzz target briefly on its corpus.
#
#   ./scripts/test.sh              all of it
#   FUZZTIME=2m ./scripts/test.sh  fuzz each target longer (default: 30000 inputs each)
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use: iproute2 for the network-namespace tests;
# real DHCP clients and a relay for the end-to-end tests of internal/server
# (util-linux for unshare, coreutils for timeout); qemu and Debian's iPXE ROMs
# for the network boot tests, and dnsmasq (the binary only, no service) as the
# address server beside bootd's proxyDHCP; tftp-hpa and curl as TFTP clients;
# chromium, the headless browser of the dashboard test in internal/api.
APT_PACKAGES=(iproute2 isc-dhcp-client udhcpc dhcpcd-base isc-dhcp-relay util-linux coreutils tftp-hpa curl qemu-system-x86 ipxe-qemu dnsmasq-base chromium)

if ((${#APT_PACKAGES[@]})); then
	missing=()
	for p in "${APT_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	if ((${#missing[@]})); then
		if [ "$(id -u)" -ne 0 ]; then
			echo "test.sh: missing Debian packages ${missing[*]}; run as root to install them" >&2
			exit 1
		fi
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${missing[@]}"
	fi
fi

go mod download

go test -race -count=1 ./...

# The allocation pins skip under the race detector (it allocates on its
# own), so they run once more without it.
go test -count=1 -run 'Alloc' ./...

# Each fuzz target for a few seconds, starting from its seed corpus in testdata/fuzz.
# A count of inputs rather than a duration: with a duration, Go 1.26's fuzz
# coordinator can report its own deadline as a failure ("context deadline
# exceeded", golang/go#75804, fixed in Go 1.27).
FUZZTIME=${FUZZTIME:-30000x}
for pkg in $(go list ./...); do
	for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		echo "fuzz $pkg $target for $FUZZTIME"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime 3s "$pkg"
	done
done

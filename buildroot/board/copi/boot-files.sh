#!/bin/sh
# Writes the files of CoPi's boot partition that come from the repository, to stdout.
# Shared by post-image.sh and scripts/check-buildroot (and usable by any image build).
#
#   boot-files.sh config-txt BOARD     the board's lines, then firmware/boot/config.txt
#   boot-files.sh cmdline-txt ROOT     firmware/boot/cmdline.txt on one line, then
#                                      root=ROOT ro rootfstype=ext4 and the consoles
#   boot-files.sh copi-toml            copi.example.toml for the appliance (see below)
#
# BOARD: rpizero2w, rpi3, rpi4 or rpi5. ROOT: e.g. PARTUUID=434f5049-02.
set -eu

BOARD_DIR="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$BOARD_DIR/../../.." && pwd)"

die() { printf 'boot-files.sh: error: %s\n' "$*" >&2; exit 1; }

config_txt() {
	board_file="$BOARD_DIR/config-$1.txt"
	[ -f "$board_file" ] || die "unknown board '$1' (no $board_file)"
	cat "$board_file"
	echo
	cat "$REPO/firmware/boot/config.txt"
}

# The kernel wants one line: the fragment's parameters joined by spaces, comments dropped.
cmdline_txt() {
	params="$(grep -v -e '^#' -e '^[[:space:]]*$' "$REPO/firmware/boot/cmdline.txt" | paste -sd' ' -)"
	printf '%s root=%s ro rootfstype=ext4 console=serial0,115200 console=tty1\n' "$params" "$1"
}

# copi.example.toml documents every key; on the appliance, `copi serve` is given the data
# dir and the address on its command line (copi.service), so the template says so rather
# than show a laptop's values. The [wifi] table must be there: the access point needs it.
copi_toml() {
	example="$REPO/copi.example.toml"
	grep -q '^\[wifi\]' "$example" || die "$example has no [wifi] table"
	grep -q '^data = ' "$example" || die "$example has no data = line"
	grep -q '^bind = ' "$example" || die "$example has no bind = line"
	cat <<'HEADER'
# copi.toml of this CoPi box. Edit it on any computer (it is on the SD card's boot
# partition), put the card back in the Pi and switch it on. At least: [hub] name, and
# [wifi] country, the two-letter code of the country the hub is in.
#
HEADER
	sed -e 's|^data = .*|data = "/var/lib/copi"  # the data partition (set by copi.service)|' \
		-e 's|^bind = .*|bind = "0.0.0.0:80"  # every interface (set by copi.service)|' \
		"$example"
}

case "${1:-}" in
config-txt) [ "$#" -eq 2 ] || die "usage: boot-files.sh config-txt BOARD"; config_txt "$2" ;;
cmdline-txt) [ "$#" -eq 2 ] || die "usage: boot-files.sh cmdline-txt ROOT"; cmdline_txt "$2" ;;
copi-toml) copi_toml ;;
*) sed -n '2,/^set -eu/{/^set -eu/d;s/^# \{0,1\}//;p}' "$0"; exit 2 ;;
esac

#!/usr/bin/env bash
# Buildroot post-build script (BR2_ROOTFS_POST_BUILD_SCRIPT), run after the rootfs overlay
# was copied into TARGET_DIR:
#
#   post-build.sh TARGET_DIR BOARD
#
# Makes the root file system read-only in fstab and fails early when something the
# overlay's units run is missing from the image (a defconfig that lost a package).
set -euo pipefail

log() { printf 'post-build: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# What the overlay's units and scripts run, by name.
REQUIRED=(copi hostapd dnsmasq wpa_supplicant iw ip sfdisk partx dumpe2fs e2fsck resize2fs
  mount networkctl systemctl)

# Finds a program in the target's usual directories.
in_target() {
  local target="$1" name="$2" dir
  for dir in usr/bin usr/sbin bin sbin; do
    [[ -x "$target/$dir/$name" ]] && return 0
  done
  return 1
}

# systemd-remount-fs remounts / with fstab's options: keep them read-only.
read_only_root() {
  local fstab="$1/etc/fstab"
  [[ -f "$fstab" ]] || return 0
  sed -i -E 's|^(/dev/root[[:space:]]+/[[:space:]]+[^[:space:]]+[[:space:]]+)rw|\1ro|' "$fstab"
}

main() {
  local target="${1:?usage: post-build.sh TARGET_DIR BOARD}" name missing=()
  for name in "${REQUIRED[@]}"; do
    in_target "$target" "$name" || missing+=("$name")
  done
  [[ "${#missing[@]}" -eq 0 ]] || die "not in the image: ${missing[*]} (see buildroot/README.md)"
  read_only_root "$target"
  log "ok: ${BR2_CONFIG:+$(basename "$(dirname "$BR2_CONFIG")") }${2:-}"
}

main "$@"

#!/usr/bin/env bash
# Buildroot post-image script (BR2_ROOTFS_POST_IMAGE_SCRIPT): assembles the SD card image
# from the kernel, DTBs and firmware in BINARIES_DIR, rootfs.ext4, and CoPi's boot files.
#
#   post-image.sh BINARIES_DIR BOARD         BOARD: rpizero2w, rpi3, rpi4 or rpi5
#
# Writes BINARIES_DIR/copi-VERSION-BOARD.img, its .img.xz and their .sha256 files.
# Environment (set by Buildroot): BUILD_DIR, and genimage, mkdosfs, mcopy and mke2fs on
# PATH (host-genimage, host-dosfstools, host-mtools, host-e2fsprogs).
set -euo pipefail

BOARD_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$BOARD_DIR/../../.." && pwd)"
# The root partition as cmdline.txt names it: the MBR disk signature set in genimage.cfg,
# then the partition number.
ROOT_PARTUUID="434f5049-02"

log() { printf 'post-image: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

version() {
  sed -n 's/^version = "\([^"]*\)"/\1/p' "$REPO/Cargo.toml" | head -n 1
}

# Fills STAGE/boot with what the boot partition holds, and leaves STAGE/data empty.
stage_boot_files() {
  local binaries="$1" board="$2" stage="$3" f
  rm -rf "$stage"
  mkdir -p "$stage/boot" "$stage/data"
  # The firmware (start*.elf, fixup*.dat, bootcode.bin, overlays/), without the config.txt
  # and cmdline.txt rpi-firmware may have installed: CoPi writes its own.
  for f in "$binaries"/rpi-firmware/*; do
    case "${f##*/}" in
      config.txt | cmdline.txt) ;;
      *) cp -r "$f" "$stage/boot/" ;;
    esac
  done
  compgen -G "$binaries/*.dtb" >/dev/null || die "no DTB in $binaries"
  cp "$binaries"/*.dtb "$stage/boot/"
  [[ -f "$binaries/Image" ]] || die "no kernel Image in $binaries"
  cp "$binaries/Image" "$stage/boot/Image"
  "$BOARD_DIR/boot-files.sh" config-txt "$board" >"$stage/boot/config.txt"
  "$BOARD_DIR/boot-files.sh" cmdline-txt "PARTUUID=$ROOT_PARTUUID" >"$stage/boot/cmdline.txt"
  "$BOARD_DIR/boot-files.sh" copi-toml >"$stage/boot/copi.toml"
}

main() {
  local binaries="${1:?usage: post-image.sh BINARIES_DIR BOARD}" board="${2:?usage: post-image.sh BINARIES_DIR BOARD}"
  local build_dir="${BUILD_DIR:-$binaries/..}"
  local stage="$build_dir/copi-genimage-root" tmp="$build_dir/copi-genimage.tmp"
  local name
  name="copi-$(version)-$board"

  [[ -f "$binaries/rootfs.ext4" ]] || die "no rootfs.ext4 in $binaries (BR2_TARGET_ROOTFS_EXT2_4)"
  stage_boot_files "$binaries" "$board" "$stage"

  rm -rf "$tmp"
  genimage \
    --rootpath "$stage" \
    --tmppath "$tmp" \
    --inputpath "$binaries" \
    --outputpath "$binaries" \
    --config "$BOARD_DIR/genimage.cfg"
  rm -rf "$tmp"

  mv -f "$binaries/copi.img" "$binaries/$name.img"
  log "compressing $name.img"
  xz -T0 -f -k "$binaries/$name.img"
  (cd "$binaries" && sha256sum "$name.img" >"$name.img.sha256" && sha256sum "$name.img.xz" >"$name.img.xz.sha256")
  log "image: $binaries/$name.img.xz (flash it with scripts/flash, Raspberry Pi Imager or dd)"
}

main "$@"

#!/usr/bin/env bash
# Tests scripts/flash: every refusal, the confirmation, and (where a loop device can be
# set up) a real write checked against the image's sha256. Writes only to files in a
# temporary dir and to a loop device backed by one. Run by scripts/check-buildroot.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FLASH="$ROOT/scripts/flash"
PASSED=0
FAILED=0
WORK="$(mktemp -d)"
LOOP=""

cleanup() {
  [[ -z "$LOOP" ]] || losetup -d "$LOOP" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

pass() { PASSED=$((PASSED + 1)); printf 'ok   %s\n' "$1"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL %s\n%s\n' "$1" "$2" | sed '2,$s/^/     /'; }

# expect NAME STATUS PATTERN CMD...: CMD (stdin closed) exits with STATUS (0, or any
# non-zero for "fail") and its output matches PATTERN.
expect() {
  local name="$1" want="$2" pattern="$3" out status=0
  shift 3
  out="$("$@" </dev/null 2>&1)" || status=$?
  if [[ "$want" == fail && "$status" -eq 0 ]] || [[ "$want" == 0 && "$status" -ne 0 ]]; then
    fail "$name" "exit $status; output: $out"
  elif ! grep -q -- "$pattern" <<<"$out"; then
    fail "$name" "output does not match '$pattern': $out"
  else
    pass "$name"
  fi
}

make_images() {
  head -c $((3 * 1024 * 1024 + 512)) /dev/urandom >"$WORK/copi-test.img"
  (cd "$WORK" && sha256sum copi-test.img >copi-test.img.sha256)
  xz -T1 -k -1 "$WORK/copi-test.img"
  (cd "$WORK" && sha256sum copi-test.img.xz >copi-test.img.xz.sha256)
  head -c $((8 * 1024 * 1024)) /dev/zero >"$WORK/card"
  : >"$WORK/not-an-image.iso"
}

refusals() {
  local img="$WORK/copi-test.img" xzimg="$WORK/copi-test.img.xz" card="$WORK/card"
  expect "refuses a plain file as device" fail "not a block device" "$FLASH" --yes "$img" "$card"
  expect "refuses a missing device" fail "does not exist" "$FLASH" --dry-run "$img" "$WORK/nope"
  expect "refuses a missing image" fail "no image" "$FLASH" --dry-run "$WORK/nope.img" "$card"
  expect "refuses other file types" fail "neither a .img" "$FLASH" --dry-run "$WORK/not-an-image.iso" "$card"
  expect "refuses when not interactive" fail "not interactive" "$FLASH" --dry-run "$img" "$card"
  expect "refuses --yes alone" fail "COPI_FLASH_ALLOW=$card" "$FLASH" --yes --dry-run "$img" "$card"
  expect "refuses --yes with another device allowed" fail "COPI_FLASH_ALLOW=$card" \
    env COPI_FLASH_ALLOW=/dev/sdz "$FLASH" --yes --dry-run "$img" "$card"
  expect "accepts --yes with COPI_FLASH_ALLOW (dry run)" 0 "would write $((3 * 1024 * 1024 + 512)) bytes" \
    env COPI_FLASH_ALLOW="$card" "$FLASH" --yes --dry-run "$img" "$card"
  expect "dry run of .img.xz knows the raw size and sha256" 0 "check sha256 $(awk '{print $1}' "$img.sha256")" \
    env COPI_FLASH_ALLOW="$card" "$FLASH" --yes --dry-run "$xzimg" "$card"
  cp "$xzimg" "$WORK/bad.img.xz"
  echo "0000000000000000000000000000000000000000000000000000000000000000  bad.img.xz" >"$WORK/bad.img.xz.sha256"
  expect "refuses a .img.xz that does not match its .sha256" fail "does not match" \
    env COPI_FLASH_ALLOW="$card" "$FLASH" --yes --dry-run "$WORK/bad.img.xz" "$card"

  local root_source root_disk
  root_source="$(findmnt -no SOURCE / 2>/dev/null || true)"
  if [[ "$root_source" == /dev/* && -b "$root_source" ]]; then
    root_disk="/dev/$(lsblk -ndo PKNAME "$root_source")"
    [[ "$root_disk" != /dev/ ]] || root_disk="$root_source"
    expect "refuses the disk holding / ($root_disk)" fail "holds /" \
      env COPI_FLASH_ALLOW="$root_disk" "$FLASH" --yes --dry-run "$img" "$root_disk"
  else
    printf 'skip refuses the disk holding / (/ is on %s, not a block device)\n' "${root_source:-?}"
  fi
}

# The typed confirmation, on a pseudo-terminal (util-linux `script`).
interactive() {
  local img="$WORK/copi-test.img" card="$WORK/card" out
  if ! command -v script >/dev/null 2>&1; then
    printf 'skip interactive confirmation (no script command)\n'
    return 0
  fi
  out="$(printf 'sdz\n' | script -qec "'$FLASH' --dry-run '$img' '$card'" /dev/null 2>&1)" || true
  if grep -q "you typed 'sdz'" <<<"$out" && ! grep -q "would write" <<<"$out"; then
    pass "refuses a mistyped device name"
  else
    fail "refuses a mistyped device name" "$out"
  fi
  out="$(printf '%s\n' "$card" | script -qec "'$FLASH' --dry-run '$img' '$card'" /dev/null 2>&1)" || true
  if grep -q "plain file" <<<"$out" && grep -q "would write" <<<"$out"; then
    pass "goes on when the device name is typed"
  else
    fail "goes on when the device name is typed" "$out"
  fi
}

# A real write to a loop device, checked against the image's sha256.
loop_write() {
  local xzimg="$WORK/copi-test.img.xz" img="$WORK/copi-test.img"
  if ! LOOP="$(losetup --find --show "$WORK/card" 2>/dev/null)" || [[ ! -b "$LOOP" ]]; then
    LOOP=""
    printf 'skip write to a loop device (losetup not allowed here)\n'
    return 0
  fi
  expect "writes a .img.xz to a loop device and checks it" 0 "written bytes match" \
    env COPI_FLASH_ALLOW="$LOOP" "$FLASH" --yes "$xzimg" "$LOOP"
  if cmp -s -n "$(stat -c %s "$img")" "$img" "$WORK/card"; then
    pass "the loop device's backing file holds the image"
  else
    fail "the loop device's backing file holds the image" "bytes differ"
  fi
  cp "$img" "$WORK/other.img"
  echo "1111111111111111111111111111111111111111111111111111111111111111  other.img" >"$WORK/other.img.sha256"
  expect "reports written bytes that do not match the .sha256" fail "do not match" \
    env COPI_FLASH_ALLOW="$LOOP" "$FLASH" --yes "$WORK/other.img" "$LOOP"
  expect "refuses a device smaller than the image" fail "smaller than the image" \
    env COPI_FLASH_ALLOW="$LOOP" "$FLASH" --yes "$(big_image)" "$LOOP"
}

big_image() {
  truncate -s 16M "$WORK/big.img"
  printf '%s\n' "$WORK/big.img"
}

main() {
  make_images
  refusals
  interactive
  loop_write
  printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
  [[ "$FAILED" -eq 0 ]]
}

main "$@"

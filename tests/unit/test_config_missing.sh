#!/usr/bin/env bash
# tests/vm/config-missing.sh: which of a fragment's options a .config lacks.
# A fragment whose last line is a satisfied "=n" (6.12's
# CONFIG_BLKDEV_UBLK_LEGACY_OPCODES=n) once made build-kernel.sh exit
# silently after configuring: the check's loop returned the status of the
# last grep, and pipefail turned that into a failed assignment.
set -euo pipefail
check=${1:?usage: $0 PATH/TO/config-missing.sh}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fails=0
expect() { # NAME WANT GOT
	if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: want '$2', got '$3'"; fails=$((fails + 1)); fi
}

cat >"$dir/frag" <<'F'
# comment
CONFIG_A=y
CONFIG_NR=64
CONFIG_OFF=n
F
cat >"$dir/good" <<'F'
CONFIG_A=y
CONFIG_NR=64
# CONFIG_OFF is not set
F
expect "all honoured, last line a satisfied =n" "" "$("$check" "$dir/frag" "$dir/good")"
# What build-kernel.sh does with it: under set -e and pipefail.
expect "under set -e -o pipefail" "ok:" "$(bash -c 'set -euo pipefail; m=$("$1" "$2" "$3"); echo "ok:$m"' _ "$check" "$dir/frag" "$dir/good")"

cat >"$dir/bad" <<'F'
CONFIG_A=m
CONFIG_NR=6
CONFIG_OFF=y
F
expect "each kind of miss named" "CONFIG_A=y CONFIG_NR=64 CONFIG_OFF=n" "$("$check" "$dir/frag" "$dir/bad" | tr '\n' ' ' | sed 's/ $//')"
# A prefix is not the option: CONFIG_NR=64 is not CONFIG_NR=640.
echo CONFIG_NR=640 >"$dir/prefix"
printf 'CONFIG_NR=64\n' >"$dir/frag2"
expect "no prefix match" "CONFIG_NR=64" "$("$check" "$dir/frag2" "$dir/prefix")"
rc=0; "$check" "$dir/frag" 2>/dev/null || rc=$?
expect "usage error" 2 "$rc"

# The real fragments parse, and every line of them is reported against an empty .config.
top=$(cd "$(dirname "$check")/../.." && pwd)
: >"$dir/empty"
n=$(cat "$top"/tests/vm/kernel*.config | grep -cE '^CONFIG_[A-Z0-9_]+=[^n]')
expect "kernel.config's =y lines all missing from an empty .config" "$n" \
	"$(cat "$top"/tests/vm/kernel*.config >"$dir/all"; "$check" "$dir/all" "$dir/empty" | grep -vc '=n$')"

[ "$fails" = 0 ] || { echo "$fails failed"; exit 1; }
echo "all passed"

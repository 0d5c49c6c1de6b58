#!/usr/bin/env bash
# usage: tests/vm/config-missing.sh FRAGMENT DOTCONFIG
#
# Prints every CONFIG_ line of the fragment that the configured kernel's
# .config does not honour: an "=y" (or "=value") line that is not there
# verbatim, an "=n" line whose option is set anyway. Prints nothing when
# all hold. Exits 0 either way, 2 on a usage error: what is missing is
# output, not failure, so that a caller under `set -e` sees the list.
set -euo pipefail
if [ $# -ne 2 ] || [ ! -r "$1" ] || [ ! -r "$2" ]; then echo "usage: $0 FRAGMENT DOTCONFIG" >&2; exit 2; fi
while read -r line; do
	if [[ $line == *=n ]]; then
		if grep -q "^${line%=n}=" "$2"; then echo "$line"; fi
	else
		grep -qxF "$line" "$2" || echo "$line"
	fi
done < <(grep -E '^CONFIG_[A-Z0-9_]+=' "$1" || true)

#!/usr/bin/env bash
# ddublkd's command line without a kernel: options it refuses exit 2 with
# a one-line reason before touching anything; --check-config takes and
# refuses daemon.on_stop and daemon.socket_group as the policy docs say.
# TAP output.
set -u

DDUBLKD=${1:?usage: test_ddublkd_cli.sh PATH/TO/ddublkd}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ddublkd-cli.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0

# check DESC WANT_RC WANT_STDERR_LINE ARGS...: exit status, and the first
# stderr line against a glob pattern.
check() {
	local desc=$1 want_rc=$2 want_err=$3 rc=0 err
	shift 3
	"$DDUBLKD" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	err=$(head -n 1 "$tmp/err")
	n=$((n + 1))
	# shellcheck disable=SC2053 # want_err is a pattern on purpose
	if [ "$rc" = "$want_rc" ] && [[ $err == $want_err ]]; then
		echo "ok $n - $desc"
	else
		failed=$((failed + 1))
		echo "not ok $n - $desc"
		echo "#   exit $rc (want $want_rc), stderr: $err"
		echo "#   want stderr: $want_err"
	fi
}

good=$tmp/good.conf
printf 'daemon = { socket = "%s/ctl.sock"; on_stop = "keep"; };\n' "$tmp" >"$good"
bad=$tmp/bad.conf
printf 'daemon = {\n  on_stop = "pause";\n};\n' >"$bad"

check "--on-stop with an unknown action" 2 "ddublkd: --on-stop must be delete or keep" \
	--config "$good" --on-stop pause
check "--on-stop without a value" 2 "*ddublkd: option '--on-stop' requires an argument" \
	--config "$good" --on-stop
check "--workers out of range" 2 "ddublkd: --workers must be 0..256" --config "$good" --workers 999
check "--log-level unknown" 2 "ddublkd: --log-level must be error, warn, info or debug" \
	--config "$good" --log-level loud
check "--check-config takes on_stop = keep" 0 "" --check-config "$good"
check "--check-config names file, line and key of a bad on_stop" 1 \
	"ddublkd: $bad:2: daemon.on_stop: \"pause\" is not a stop action (use delete, keep)" \
	--check-config "$bad"
printf 'daemon = {\n  socket_group = "root";\n};\n' >"$tmp/group.conf"
check "--check-config takes a socket_group that exists" 0 "" --check-config "$tmp/group.conf"
printf 'daemon = {\n  socket_group = "no-such-group.ddublk";\n};\n' >"$tmp/nogroup.conf"
check "--check-config refuses a socket_group this system lacks" 1 \
	"ddublkd: $tmp/nogroup.conf:2: daemon.socket_group: no group \"no-such-group.ddublk\" on this system (create it, or leave socket_group out: root only)" \
	--check-config "$tmp/nogroup.conf"
"$DDUBLKD" --help >"$tmp/help"
n=$((n + 1))
if grep -q -- "--on-stop ACTION" "$tmp/help" && grep -q "on_stop keep" "$tmp/help"; then
	echo "ok $n - --help documents --on-stop and what keep does"
else
	failed=$((failed + 1))
	echo "not ok $n - --help documents --on-stop"
fi

echo "1..$n"
[ "$failed" = 0 ] || { echo "# $failed of $n failed"; exit 1; }
echo "# all $n passed"

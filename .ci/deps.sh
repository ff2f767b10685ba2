#!/bin/sh
# Checks pscope's build and test dependencies with pkg-config and `command -v`.
# As root it installs what is missing with apt-get; otherwise it prints the
# exact apt-get line and fails, so a newcomer knows what to run.
set -eu

# pkg-config module -> Debian package
PKGS="
libproc2:libproc2-dev
ncursesw:libncurses-dev
libunwind-ptrace:libunwind-dev
libdw:libdw-dev
libelf:libelf-dev
cmocka:libcmocka-dev
inih:libinih-dev
libdeflate:libdeflate-dev
"
# command -> Debian package (tests and the benchmark drive these)
CMDS="
cc:gcc
make:make
pkg-config:pkg-config
python3:python3
tmux:tmux
setpriv:util-linux
lsof:lsof
top:procps
eu-stack:elfutils
gdb:gdb
strace:strace
go:golang-go
g++:g++
"

missing=""
command -v pkg-config >/dev/null 2>&1 || missing="pkg-config"
for pair in $PKGS; do
	mod=${pair%%:*}; pkg=${pair#*:}
	if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists "$mod"; then
		missing="$missing $pkg"
	fi
done
for pair in $CMDS; do
	cmd=${pair%%:*}; pkg=${pair#*:}
	command -v "$cmd" >/dev/null 2>&1 || missing="$missing $pkg"
done
# g++ above brings libstdc++ (__cxa_demangle, opened at run time; the symbol
# tests link it);
# libc's separate debug info has nothing to probe but the package itself
# (the symbol tests read file:line and static names from it).
dpkg-query -W -f='${Status}' libc6-dbg 2>/dev/null | grep -q 'ok installed' ||
	missing="$missing libc6-dbg"
# The locale sources, from which a test builds a German locale (a decimal
# comma) with localedef.
dpkg-query -W -f='${Status}' locales 2>/dev/null | grep -q 'ok installed' ||
	missing="$missing locales"
# libasan/libubsan come with gcc; htop is optional (the benchmark uses it when present).
[ -z "$missing" ] && exit 0

missing=$(echo $missing | tr ' ' '\n' | sort -u | tr '\n' ' ')
line="apt-get install -y --no-install-recommends $missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "pscope: missing build dependencies; as root run: apt-get update && $line" >&2
	exit 1
fi
echo "pscope: installing missing dependencies: $missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2

#!/bin/sh
# make demo: start the leaky demo service and watch it with pscope.
#   sh tests/demo.sh PSCOPE DEMO_BIN
# On a terminal, pscope's UI opens on leakyd: watch fds, CLOSE_WAIT sockets,
# threads and RSS climb (q quits).  Without a terminal (a script, a pipe)
# pscope samples it in batch mode every second, 8 times instead.  leakyd is
# always killed on the way out.
set -eu

if [ $# -ne 2 ]; then
	echo "usage: sh tests/demo.sh PSCOPE DEMO_BIN" >&2
	exit 64
fi
pscope=$1
demo=$2

"$demo" &
demo_pid=$!
# EXIT covers normal ends and `set -e` failures; INT/TERM turn Ctrl-C into
# an exit so the EXIT trap runs once.
trap 'kill "$demo_pid" 2>/dev/null || true; wait "$demo_pid" 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM

sleep 1   # let it leak a little first
if [ -t 0 ] && [ -t 1 ]; then
	"$pscope" "$demo_pid"
else
	echo "== pscope -b -d 1 -n 8 $demo_pid (leakyd) =="
	"$pscope" -b -d 1 -n 8 "$demo_pid"
fi

#!/usr/bin/env python3
"""Run each test suite given as a shell command, stream its output, and close
with one line for all of them: 'tests: N passed, N failed'.

Every suite ends with its own 'NAME: N passed, N failed[, N skipped]' line;
a suite that exits non-zero without such a line counts as one failure."""
import re
import subprocess
import sys

LINE = re.compile(r"^(?:\w+: )?(\d+) passed, (\d+) failed(?:, (\d+) skipped)?\s*$")

passed = failed = skipped = 0
for command in sys.argv[1:]:
    print(f"== {command}", flush=True)
    proc = subprocess.Popen(command, shell=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors="replace")
    last = None
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        m = LINE.match(line.strip())
        if m:
            last = m
    proc.wait()
    if last:
        passed += int(last.group(1))
        failed += int(last.group(2))
        skipped += int(last.group(3) or 0)
    if proc.returncode != 0 and (not last or int(last.group(2)) == 0):
        print(f"== {command}: exited with status {proc.returncode}")
        failed += 1

tail = f", {skipped} skipped" if skipped else ""
print(f"tests: {passed} passed, {failed} failed{tail}")
sys.exit(1 if failed else 0)

#!/usr/bin/env python3
"""Run every cmocka unit-test binary given on the command line and print one
closing line, 'N passed, N failed', counted over all their test cases."""
import re
import subprocess
import sys

passed = failed = 0
for binary in sys.argv[1:]:
    proc = subprocess.run([binary], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace")
    sys.stdout.write(proc.stdout)
    ok = len(re.findall(r"^\[       OK \]", proc.stdout, re.M))
    bad = len(re.findall(r"^\[  (?:FAILED|ERROR) \] (?!\d+ test)", proc.stdout, re.M))
    if proc.returncode != 0 and bad == 0:
        bad = 1  # crashed before cmocka could report
        print(f"{binary}: exited with status {proc.returncode}")
    passed += ok
    failed += bad
print(f"unit: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)

#!/usr/bin/env python3
"""pscope's benchmark (make bench): CPU cost per sample, next to lsof, top and htop.

    python3 tests/bench/bench.py --pscope ./pscope --targets build/targets

Starts the fat target (1,000 threads, 10,000 fds, 10,000 mappings) and the
small one, checks once that pscope really reads them, then measures in the same
run the CPU time (user+sys, from wait4) of:

  * pscope per sample on fat: steady state (no fd/socket rescan), the default
    tiering (--full-every 5) and a full fd+socket rescan every sample; and
    steady state on small.  Per-sample cost = (cpu(-n N) - cpu(-n 1)) / (N-1),
    which removes startup and the first (always full) sample.
  * lsof -n -P -p per snapshot, top -b -H per refresh, htop per second.

It prints a table and the ratios, with the goals from
/work/shared/notes/proc-sampling-costs.md (section 4).  Goals are reported,
never asserted: a missed goal prints MISSED but the exit status stays 0.  The
exit status is 1 only when the measurement itself is broken (a target or tool
failed, or pscope read nothing of the target), 130 when interrupted.

Everything started here is stopped at the end, also on error and Ctrl-C.
"""

import argparse
import json
import os
import selectors
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

DELAY = "0.2"            # pscope/top delay between samples, seconds
NO_RESCAN = "1000000"    # --full-every large enough that only sample 1 is full
TICK = os.sysconf("SC_CLK_TCK")

# Goals, from the notes' "Recommended targets" (section 4).
GOAL_STEADY_MS = 8.0       # 4.1: steady state per refresh, fat target
GOAL_TIERED_MS = 25.0      # 4.3: amortized default, per second at 1 Hz
GOAL_FULL_MS = 70.0        # 4.2: full fd+socket view per refresh
GOAL_SMALL_MS = 1.0        # 4.4: small process, strictly below
GOAL_RATIO = 4.0           # 4.1 and 4.2: >= 4x cheaper than lsof, top -H, htop


class BenchError(Exception):
    """The benchmark could not measure what it claims to (not a missed goal)."""


# ---------------------------------------------------------------- processes

class Children:
    """Every process this run starts, so cleanup can stop them all."""

    def __init__(self):
        self.procs = []
        self.tmux_socket = None

    def track(self, proc):
        self.procs.append(proc)
        return proc

    def stop_all(self):
        for p in self.procs:
            stop(p)
        if self.tmux_socket:
            kill_tmux(self.tmux_socket)


def stop(proc):
    """SIGTERM, then SIGKILL: the targets clean their scratch files on TERM."""
    if proc.returncode is not None:
        return
    try:
        proc.terminate()
        proc.wait(timeout=3)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    except ProcessLookupError:
        pass


def kill_tmux(socket_name):
    subprocess.run(["tmux", "-L", socket_name, "kill-server"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


CHILDREN = Children()


class Run:
    """One finished command: CPU of that child alone, from wait4."""

    def __init__(self, argv, status, ru, wall, stderr):
        self.argv = argv
        self.status = status
        self.user_ms = ru.ru_utime * 1000
        self.sys_ms = ru.ru_stime * 1000
        self.cpu_ms = self.user_ms + self.sys_ms
        self.wall = wall
        self.stderr = stderr


def run_cpu(argv, env, timeout, stdout=subprocess.DEVNULL):
    """Runs argv to completion and returns its CPU time.

    wait4() gives the rusage of exactly this child (and the children it
    waited for, like lsof's helper), where a getrusage(RUSAGE_CHILDREN) delta
    would also catch any other child reaped meanwhile."""
    with tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = CHILDREN.track(subprocess.Popen(argv, stdout=stdout, stderr=err, env=env))
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - start > timeout:
                proc.kill()
                os.wait4(proc.pid, 0)
                proc.returncode = -9
                raise BenchError(f"{argv[0]} took more than {timeout:.0f} s: {' '.join(argv)}")
            time.sleep(0.002)
        wall = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        CHILDREN.procs.remove(proc)
        err.seek(0)
        text = err.read().decode(errors="replace")
    return Run(argv, proc.returncode, ru, wall, text)


def check_status(run, ok=(0,)):
    if run.status not in ok:
        tail = run.stderr.strip().splitlines()[-3:]
        raise BenchError(f"{' '.join(run.argv)} exited {run.status}: " + " | ".join(tail))


# ---------------------------------------------------------------- targets

def start_target(path, args, timeout=60):
    """Starts a test target and returns (Popen, ready line as a dict)."""
    if not os.access(path, os.X_OK):
        raise BenchError(f"{path} missing: run make {path}")
    with tempfile.TemporaryFile() as err:
        # Own session: a Ctrl-C meant for the bench must not kill the targets
        # while a tool is still measuring them; cleanup (or, if the bench is
        # killed outright, their PR_SET_PDEATHSIG and --lifetime) ends them.
        proc = CHILDREN.track(subprocess.Popen([path, *args], stdout=subprocess.PIPE,
                                               stderr=err, start_new_session=True))
        line = read_line(proc.stdout, timeout)
        proc.stdout.close()   # it prints nothing after the ready line
        if not line:
            stop(proc)
            err.seek(0)
            why = err.read().decode(errors="replace").strip() or f"exit status {proc.returncode}"
            raise BenchError(f"{path} never got ready: {why}")
    return proc, json.loads(line)


def check_alive(targets):
    """A target that died mid-run makes every later figure meaningless."""
    for name, proc in targets:
        if proc.poll() is not None:
            raise BenchError(f"the {name} target exited during the run "
                             f"(status {proc.returncode}): no valid results")


def read_line(pipe, timeout):
    """One line from a pipe, or b'' after timeout or EOF."""
    sel = selectors.DefaultSelector()
    sel.register(pipe, selectors.EVENT_READ)
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0 or not sel.select(left):
            return b""
        chunk = os.read(pipe.fileno(), 4096)
        if not chunk:
            return b""
        buf += chunk
    return buf.split(b"\n", 1)[0]


# ---------------------------------------------------------------- host state

def host_sockets():
    """Entries in the host's TCP tables: socket lookups cost per host socket."""
    counts = {}
    for name in ("tcp", "tcp6"):
        try:
            with open(f"/proc/net/{name}") as f:
                counts[name] = sum(1 for _ in f) - 1
        except OSError:
            counts[name] = 0
    return counts


def host_tasks():
    """Threads on the host (/proc/loadavg): htop reads every one of them."""
    with open("/proc/loadavg") as f:
        return int(f.read().split()[3].split("/")[1])


def cpu_busy(seconds):
    """Fraction of all CPUs busy over the next `seconds`, from /proc/stat."""
    def sample():
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        idle = fields[3] + fields[4]
        return sum(fields), idle
    t0, i0 = sample()
    time.sleep(seconds)
    t1, i1 = sample()
    return 1 - (i1 - i0) / max(t1 - t0, 1)


def wait_for_quiet(limit=15, threshold=0.15):
    """The notes measured on a quiet machine; wait a little for one.

    Returns the last busy fraction seen; never blocks more than `limit` s."""
    deadline = time.monotonic() + limit
    busy = cpu_busy(1)
    while busy > threshold and time.monotonic() < deadline:
        busy = cpu_busy(1)
    return busy


# ---------------------------------------------------------------- pscope

def pscope_argv(pscope, pid, count, extra=()):
    return [pscope, "-b", "--json", "-d", DELAY, "-n", str(count), *extra, str(pid)]


def sanity_check(pscope, env, name, ready, expect_sockets):
    """One JSON run: pscope must exit 0/1 and count what the target has.

    A benchmark of a pscope that read nothing would look wonderfully cheap, so
    wrong thread, fd or socket counts (what the costs are about) are fatal;
    anything else amiss is a printed warning.  Returns a one-line summary."""
    # Steady samples after the first: the counts must hold without a rescan.
    argv = pscope_argv(pscope, ready["pid"], 5, ("--full-every", NO_RESCAN))
    with tempfile.TemporaryFile() as out:
        run = run_cpu(argv, env, 60, stdout=out)
        check_status(run, ok=(0, 1))
        out.seek(0)
        records = [json.loads(l) for l in out.read().splitlines() if l.strip()]
    mine = [r for r in records if r.get("pid") == ready["pid"] and not r.get("exited")]
    if not mine:
        raise BenchError(f"pscope printed no JSON record for {name} (pid {ready['pid']})")
    rec = mine[-1]

    fatal, warnings = [], []
    unreadable = rec.get("unreadable") or []
    if unreadable:
        msg = f"unreadable: {', '.join(unreadable)} {rec.get('unreadable_why', '')}"
        essential = any(u.split(".")[0] in ("threads", "fds", "sockets") for u in unreadable)
        (fatal if essential else warnings).append(msg)
    got = {
        "threads": dig(rec, "threads", "count"),
        "fds": dig(rec, "fds", "count"),
        "maps": dig(rec, "memory", "mappings"),
    }
    for key, tolerance, problems in (("threads", 0.02, fatal), ("fds", 0.02, fatal),
                                     ("maps", 0.05, warnings)):
        if not near(got[key], ready[key], tolerance):
            problems.append(f"{key}: pscope says {got[key]}, the target has {ready[key]}")
    sockets = dig(rec, "sockets", "count")
    if not (isinstance(sockets, int) and sockets >= expect_sockets):
        fatal.append(f"sockets: pscope says {sockets}, expected at least {expect_sockets}")
    if fatal:
        raise BenchError(f"pscope misread {name}: " + "; ".join(fatal + warnings))
    for w in warnings:
        print(f"  WARNING ({name}): {w}")
    states = dig(rec, "sockets", "by_state") or {}
    summary = (f"{got['threads']} threads, {got['fds']} fds, {got['maps']} maps, "
               f"{sockets} sockets ({states.get('CLOSE_WAIT', 0)} CLOSE_WAIT)")
    # pscope's own per-sample timing, if it reports one: informational only
    # (it cannot see its output cost), never used for the goals.
    own = [r["pscope_cpu_ms"] for r in mine[1:] if isinstance(r.get("pscope_cpu_ms"), (int, float))]
    if own:
        summary += f"; self-reported pscope_cpu_ms, steady, median {statistics.median(own):.1f}"
    return summary


def dig(obj, *keys):
    for k in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(k)
    return obj


def near(value, expected, tolerance):
    return isinstance(value, int) and abs(value - expected) <= max(2, expected * tolerance)


class Cost:
    """A CPU cost in ms, user and sys apart."""

    def __init__(self, user_ms, sys_ms):
        self.user_ms = user_ms
        self.sys_ms = sys_ms
        self.cpu_ms = user_ms + sys_ms


def median_cost(runs):
    return Cost(statistics.median(r.user_ms for r in runs),
                statistics.median(r.sys_ms for r in runs))


def per_sample_cost(base_runs, long_runs, count):
    """(median of -n count runs - median of -n 1 runs) / (count - 1)."""
    base, long = median_cost(base_runs), median_cost(long_runs)
    return Cost((long.user_ms - base.user_ms) / (count - 1),
                (long.sys_ms - base.sys_ms) / (count - 1))


def per_sample(make_argv, env, count, reps, ok=(0, 1)):
    """(cpu(-n count) - cpu(-n 1)) / (count - 1), medians over reps.

    Base and long runs alternate so a burst of foreign load hits both."""
    base_runs, long_runs = [], []
    timeout = count * float(DELAY) + 60
    for _ in range(reps):
        for runs, n in ((base_runs, 1), (long_runs, count)):
            run = run_cpu(make_argv(n), env, timeout)
            check_status(run, ok)
            runs.append(run)
    return per_sample_cost(base_runs, long_runs, count)


# ---------------------------------------------------------------- other tools

def measure_lsof(pid, env, reps=5):
    """lsof snapshots are independent runs: the median of several."""
    argv = ["lsof", "-n", "-P", "-p", str(pid)]
    run_cpu(argv, env, 60)   # warm-up: dentries, page cache
    runs = [run_cpu(argv, env, 60) for _ in range(reps)]
    for r in runs:
        check_status(r)
    return median_cost(runs), len(runs)


def measure_top(pid, env, count=11, reps=2):
    def argv(n):
        return ["top", "-b", "-H", "-n", str(n), "-d", DELAY, "-p", str(pid)]
    return per_sample(argv, env, count, reps, ok=(0,))


def measure_htop(pid, env, seconds=5.0):
    """htop's CPU per second with -d 10 (1 s refresh), in a detached tmux.

    Returns ms per second, or None when htop or tmux is not installed."""
    if not (shutil.which("htop") and shutil.which("tmux")):
        return None
    sock = "pscope-bench"
    kill_tmux(sock)   # a leftover from an interrupted run
    CHILDREN.tmux_socket = sock
    # -f /dev/null: no user tmux.conf; exec: the pane's process is htop itself.
    subprocess.run(["tmux", "-L", sock, "-f", "/dev/null", "new-session", "-d",
                    "-x", "200", "-y", "50", f"exec htop -d 10 -p {pid}"],
                   env=env, check=True)
    hpid = None
    try:
        hpid = int(subprocess.run(["tmux", "-L", sock, "list-panes", "-F", "#{pane_pid}"],
                                  capture_output=True, text=True, check=True).stdout.split()[0])
        time.sleep(1.5)   # past startup and the first full refresh
        c0, t0 = process_cpu_ms(hpid), time.monotonic()
        time.sleep(seconds)
        c1, t1 = process_cpu_ms(hpid), time.monotonic()
    finally:
        kill_tmux(sock)
        CHILDREN.tmux_socket = None
        if hpid:
            reap_htop(hpid)
    return (c1 - c0) / (t1 - t0)


def reap_htop(pid):
    """kill-server only HUPs htop; make sure it is gone before we return."""
    for _ in range(40):
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() != "htop":
                    return   # pid already reused
        except OSError:
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def process_cpu_ms(pid):
    """utime+stime of a process from /proc/PID/stat, in ms (tick resolution)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    if not fields or fields[0] == "Z":
        raise BenchError(f"process {pid} is gone")
    return (int(fields[11]) + int(fields[12])) * 1000 / TICK


# ---------------------------------------------------------------- report

def verdict(ok):
    return "ok" if ok else "MISSED"


def fmt_ms(v):
    return f"{v:8.2f}" if v is not None else "     n/a"


def print_report(r):
    print()
    print(f"{'CPU time (user+sys), ms':54} {'total':>8} {'user':>8} {'sys':>8}  goal")
    for label, m, goal in r["rows"]:
        if isinstance(m, Cost):
            print(f"{label:54} {m.cpu_ms:8.2f} {m.user_ms:8.2f} {m.sys_ms:8.2f}  {goal}")
        else:
            print(f"{label:54} {fmt_ms(m)} {'':8} {'':8}  {goal}")
    print()
    print(f"{'ratio (higher = pscope cheaper)':54} {'value':>8}  goal")
    for label, value, goal in r["ratios"]:
        shown = f"{value:7.1f}x" if value is not None else "     n/a"
        print(f"{label:54} {shown}  {goal}")


def goal_le(value, goal, strict=False):
    ok = value < goal if strict else value <= goal
    return f"{'<' if strict else '≤'} {goal:g} ms  {verdict(ok)}"


def ratio(num, den):
    if num is None or den is None or den <= 0:
        return None
    return num / den


def ratio_goal(value):
    if value is None:
        return ""
    return f"≥ {GOAL_RATIO:g}x    {verdict(value >= GOAL_RATIO)}"


# ---------------------------------------------------------------- main

def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pscope", required=True, help="the pscope binary")
    ap.add_argument("--targets", required=True, help="directory holding fat and small")
    ap.add_argument("--reps", type=int, default=2, help="runs per pscope/top measure (default 2)")
    return ap.parse_args()


def clean_env(home):
    """A fresh HOME so no user toprc/htoprc/pscope config changes the work done."""
    env = dict(os.environ, HOME=home, LC_ALL="C")
    env.pop("XDG_CONFIG_HOME", None)
    return env


def print_setup(busy, sockets_before, sockets, fat, small):
    """What the figures depend on besides pscope: load, host sockets, threads."""
    noisy = "  (NOISY: results may be high)" if busy > 0.15 else ""
    print(f"host: {os.cpu_count()} CPUs, kernel {os.uname().release}, "
          f"CPU busy before start {busy:.0%}{noisy}")
    print(f"host TCP sockets (/proc/net): tcp {sockets['tcp']}, tcp6 {sockets['tcp6']} "
          f"(before the targets: {sockets_before['tcp']} + {sockets_before['tcp6']}); "
          "socket lookup cost follows this, the notes had ~1850 + 511")
    tasks, ours = host_tasks(), fat["threads"] + small["threads"]
    print(f"host threads: {tasks}, {ours} of them the targets'; htop's cost follows this, "
          "the notes had ~1040")
    if tasks - ours > 500:
        print(f"WARNING: {tasks - ours} other threads on the host (another big process?): "
              "htop and socket figures are inflated")
    for name, t in (("fat", fat), ("small", small)):
        print(f"{name:6} pid {t['pid']}: {t['threads']} threads, {t['fds']} fds, {t['maps']} maps")


def build_report(m):
    """Rows and ratios, each with its goal from the notes."""
    rows = [
        ("pscope fat, steady (no fd rescan), per sample", m["steady"],
         goal_le(m["steady"].cpu_ms, GOAL_STEADY_MS)),
        ("pscope fat, default --full-every 5, per sample", m["tiered"],
         goal_le(m["tiered"].cpu_ms, GOAL_TIERED_MS) + " (per s at 1 Hz)"),
        ("pscope fat, full (--full-every 1), per sample", m["full"],
         goal_le(m["full"].cpu_ms, GOAL_FULL_MS)),
        ("pscope fat, full, JSON with every thread/fd/socket", m["lists"], ""),
        ("pscope small, steady (no fd rescan), per sample", m["small"],
         goal_le(m["small"].cpu_ms, GOAL_SMALL_MS, strict=True)),
        (f"lsof -n -P -p fat, per snapshot (median of {m['lsof_runs']})", m["lsof"], ""),
        ("top -b -H -p fat, per refresh", m["top"], ""),
        ("htop -d 10 -p fat, per second" + ("" if m["htop"] is not None else " (not installed)"),
         m["htop"], ""),
    ]
    lsof_ratio = ratio(m["lsof"].cpu_ms, m["full"].cpu_ms)
    top_ratio = ratio(m["top"].cpu_ms, m["steady"].cpu_ms)
    htop_ratio = ratio(m["htop"], m["steady"].cpu_ms)   # pscope at 1 Hz: one sample a second
    ratios = [
        ("lsof snapshot / pscope full sample", lsof_ratio, ratio_goal(lsof_ratio)),
        ("top -H refresh / pscope steady sample", top_ratio, ratio_goal(top_ratio)),
        ("htop per s / pscope steady per s (1 Hz)", htop_ratio, ratio_goal(htop_ratio)),
    ]
    return {"rows": rows, "ratios": ratios}


def measure_all(pscope, env, fat, small, reps):
    def ps(pid, count, *extra):
        m = per_sample(lambda n: pscope_argv(pscope, pid, n, extra), env, count, reps)
        progress(f"pscope {' '.join(extra) or 'default'} on {pid}: {m.cpu_ms:.2f} ms/sample")
        return m

    m = {}
    # --brief: the sampling cost, with counts, sizes and rates as output.
    # The full-list JSON row shows what printing 10,000 fds a line adds.
    # N-1 is a multiple of 5, so the default tiering's full scans are 1 in 5.
    m["steady"] = ps(fat["pid"], 26, "--brief", "--full-every", NO_RESCAN)
    m["tiered"] = ps(fat["pid"], 26, "--brief")
    m["full"] = ps(fat["pid"], 16, "--brief", "--full-every", "1")
    m["lists"] = ps(fat["pid"], 16, "--full-every", "1")
    m["small"] = ps(small["pid"], 26, "--brief", "--full-every", NO_RESCAN)
    m["lsof"], m["lsof_runs"] = measure_lsof(fat["pid"], env)
    progress(f"lsof: {m['lsof'].cpu_ms:.1f} ms")
    m["top"] = measure_top(fat["pid"], env, reps=reps)
    progress(f"top -H: {m['top'].cpu_ms:.1f} ms/refresh")
    m["htop"] = measure_htop(fat["pid"], env)
    progress(f"htop: {'n/a' if m['htop'] is None else round(m['htop'], 1)} ms/s")
    return m


def bench(args, env):
    pscope = os.path.abspath(args.pscope)
    if not os.access(pscope, os.X_OK):
        raise BenchError(f"{args.pscope} missing: run make")

    sockets_before = host_sockets()
    fat_proc, fat = start_target(os.path.join(args.targets, "fat"), ["--lifetime", "400"])
    small_proc, small = start_target(os.path.join(args.targets, "small"), ["--lifetime", "400"])
    busy = wait_for_quiet()
    sockets = host_sockets()
    print_setup(busy, sockets_before, sockets, fat, small)

    print("pscope sanity (one JSON run of 5 steady samples each):")
    print(f"  fat:   {sanity_check(pscope, env, 'fat', fat, expect_sockets=fat['fds'] // 4)}")
    print(f"  small: {sanity_check(pscope, env, 'small', small, expect_sockets=4)}")
    sys.stdout.flush()

    m = measure_all(pscope, env, fat, small, args.reps)

    check_alive((("fat", fat_proc), ("small", small_proc)))
    after = sum(host_sockets().values())
    if abs(after - sum(sockets.values())) > 0.2 * sum(sockets.values()):
        print(f"WARNING: host TCP sockets moved from {sum(sockets.values())} to {after} "
              "during the run: socket costs are not comparable")
    print_report(build_report(m))
    if min(m["steady"].cpu_ms, m["full"].cpu_ms, m["small"].cpu_ms) <= 0:
        print("NOTE: a per-sample cost <= 0 means noise exceeded the signal; rerun on a quiet machine")


def progress(msg):
    print(f"  .. {msg}", file=sys.stderr, flush=True)


def on_signal(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main():
    args = parse_args()
    # SIGTERM/SIGHUP take the same path as Ctrl-C: through the finally below.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pscope-bench.") as home:
        try:
            bench(args, clean_env(home))
        except BenchError as e:
            print(f"bench: {e}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("bench: interrupted", file=sys.stderr)
            return 130
        finally:
            CHILDREN.stop_all()
    print(f"\n(bench took {time.monotonic() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

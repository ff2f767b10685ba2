#!/usr/bin/env python3
"""Integration tests for pscope's batch mode, run against real processes.

    python3 tests/integration/run.py --pscope ./pscope --targets build/targets [-k WORD]

Each test starts real target programs (tests/targets/*.c, built into
--targets), reads the ground truth they print about themselves, runs pscope
on them and checks what a user would check.  Targets are always killed when
a test ends, and every subprocess call has a timeout: a hang is a failure,
never a stuck run.  No assertion depends on timing.

The very last line printed is exactly
    integration: N passed, N failed[, N skipped]
and the exit status is 1 when anything failed.  Standard library only.
"""
import argparse
import contextlib
import glob
import json
import os
import random
import re
import select
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import threading
import time
import traceback

PSCOPE = None        # absolute path, set from --pscope
TARGETS = None       # absolute path of the built targets, set from --targets
START_TIMEOUT = 15   # seconds for a target to print its truth line
RUN_TIMEOUT = 30     # default limit for one pscope run
NOBODY = 65534

# Top-level keys of a full JSON record: always present unless named in
# "unreadable" (the schema in the CLI spec).
RECORD_KEYS = ["time", "pid", "comm", "cmdline", "exe", "uid", "ppid", "state",
               "start_time", "kernel_thread", "exited", "memory", "threads",
               "fds", "sockets", "growth", "delta"]
MEMORY_KEYS = ["rss_kb", "pss_kb", "anon_kb", "file_kb", "shmem_kb", "heap_kb",
               "swap_kb", "vmdata_kb", "vmsize_kb", "mappings"]
FD_KINDS = ["file", "dir", "socket", "pipe", "fifo", "eventfd", "epoll", "timerfd",
            "signalfd", "inotify", "memfd", "anon_inode", "device", "other"]
GROWTH_KEYS = ["rss_kb_per_min", "pss_kb_per_min", "heap_kb_per_min",
               "fds_per_min", "threads_per_min", "sockets_per_min"]


class Fail(Exception):
    """An assertion about pscope's behaviour did not hold."""


class Skip(Exception):
    """The test cannot run here (not root, tool missing, ...)."""


def check(cond, message):
    if not cond:
        raise Fail(message)


# ------------------------------------------------------------ line reading

class LineReader:
    """Reads lines from a pipe with a timeout, so nothing can block forever."""

    def __init__(self, pipe):
        self.fd = pipe.fileno()
        self.buf = b""
        self.eof = False

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([self.fd], [], [], left)[0]:
            return False
        chunk = os.read(self.fd, 65536)
        if not chunk:
            self.eof = True
        self.buf += chunk
        return True

    def readline(self, timeout):
        """One line (without its newline), or None on timeout or EOF."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            if self.eof or not self._fill(deadline):
                return None
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def read_rest(self, timeout):
        """Everything up to EOF; raises Fail when EOF does not come in time."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            if not self._fill(deadline):
                raise Fail("output did not end within %ss" % timeout)
        rest, self.buf = self.buf, b""
        return rest


# ---------------------------------------------------------------- targets

class Target:
    """A running test program and the ground truth it printed."""

    def __init__(self, proc, truth, reader):
        self.proc = proc
        self.pid = proc.pid
        self.truth = truth
        self.reader = reader

    def next_truth(self, timeout=START_TIMEOUT):
        line = self.reader.readline(timeout)
        check(line is not None, "target %d printed no new truth line" % self.pid)
        self.truth = json.loads(line)
        return self.truth

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()   # SIGTERM: truth removes its temp dir
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=3)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe:
                pipe.close()


class Context:
    """What one test started: stopped and removed when the test ends."""

    def __init__(self):
        self.targets = []
        self.dirs = []

    def tempdir(self):
        d = tempfile.mkdtemp(prefix="pscope-it-")
        os.chmod(d, 0o755)   # nobody must be able to run binaries from it
        self.dirs.append(d)
        return d

    def cleanup(self):
        for t in self.targets:
            try:
                t.stop()
            except Exception:   # keep stopping the others
                traceback.print_exc()
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)


def as_user(cmd, uid):
    """Prefix cmd so it runs as uid (with the same gid, no groups)."""
    if uid is None:
        return cmd
    return ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups"] + cmd


def start_target(ctx, name, *args, user=None, exe=None):
    """Starts a target (stdin /dev/null, stdout and stderr pipes) and waits
    for its first JSON line."""
    cmd = as_user([exe or os.path.join(TARGETS, name)] + [str(a) for a in args], user)
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    # Reap it as soon as it exits, like a real parent would: an unreaped
    # target would stay a zombie and never look "exited" to pscope.
    threading.Thread(target=proc.wait, daemon=True).start()
    reader = LineReader(proc.stdout)
    target = Target(proc, None, reader)
    ctx.targets.append(target)
    line = reader.readline(START_TIMEOUT)
    if line is None:
        proc.kill()
        proc.wait(timeout=5)
        err = proc.stderr.read()   # the writer is dead: no blocking
        target.stop()
        raise Fail("target %s printed no truth line; stderr: %r" % (" ".join(cmd), err))
    target.truth = json.loads(line)
    return target


def start_truth(ctx, *args, **kw):
    return start_target(ctx, "truth", *args, **kw)


# ----------------------------------------------------------------- pscope

class Result:
    """One finished pscope run."""

    def __init__(self, args, rc, out, err):
        self.args, self.rc, self.out, self.err = args, rc, out, err

    @property
    def records(self):
        return parse_json_lines(self.out)

    @property
    def err_lines(self):
        return [l for l in self.err.decode("utf-8", "replace").splitlines() if l.strip()]

    def __str__(self):
        return ("`pscope %s` exit %s\n  stderr: %r\n  stdout: %r"
                % (" ".join(self.args), self.rc, self.err[:600], self.out[:1500]))


@contextlib.contextmanager
def streaming_pscope(*args):
    """pscope running in the background while a test acts on its target:
    yields the process and a reader of its stdout, and always stops and
    closes it on the way out."""
    proc = subprocess.Popen([PSCOPE] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        yield proc, LineReader(proc.stdout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def check_no_crash(res):
    """A signal or a sanitizer report is a failure whatever the test checks."""
    check(res.rc is not None and res.rc >= 0,
          "pscope died from signal %s\n%s" % (-res.rc if res.rc else "?", res))
    for marker in (b"AddressSanitizer", b"runtime error:", b"LeakSanitizer"):
        check(marker not in res.err, "sanitizer report\n%s" % res)


def run_pscope(*args, timeout=RUN_TIMEOUT, user=None, env=None, wrap=()):
    """env: variables to set (or, with None as value, unset) for this run;
    wrap: a command that runs pscope (a sandbox)."""
    args = [str(a) for a in args]
    cmd = list(wrap) + as_user([PSCOPE_FOR.get(user, PSCOPE)] + args, user)
    run_env = None
    if env:
        run_env = dict(os.environ)
        for k, v in env.items():
            if v is None:
                run_env.pop(k, None)
            else:
                run_env[k] = str(v)
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout, env=run_env)
    except subprocess.TimeoutExpired as e:
        raise Fail("`pscope %s` did not finish within %ss; stdout so far: %r"
                   % (" ".join(args), timeout, (e.stdout or b"")[:1000]))
    res = Result(args, p.returncode, p.stdout, p.stderr)
    check_no_crash(res)
    return res


PSCOPE_FOR = {}    # uid -> a pscope path that uid can execute
GLOBAL_DIRS = []   # temp dirs shared by several tests, removed at the very end


def parse_json_lines(out):
    records = []
    for n, line in enumerate(out.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line.decode("utf-8")))
        except (UnicodeDecodeError, ValueError) as e:
            raise Fail("stdout line %d is not a JSON object (%s): %r" % (n, e, line[:300]))
    return records


def records_for(res, pid):
    return [r for r in res.records if r.get("pid") == pid]


def only_record(res, pid):
    recs = records_for(res, pid)
    check(len(recs) == 1, "expected 1 record for pid %d, got %d\n%s" % (pid, len(recs), res))
    return recs[0]


def unreadable(rec):
    return rec.get("unreadable") or []


def check_record_keys(rec):
    """Every documented key is there, or the record says it is unreadable."""
    missing = [k for k in RECORD_KEYS if k not in rec and k not in unreadable(rec)]
    check(not missing, "record lacks %s without naming them in unreadable: %s"
          % (missing, json.dumps(rec)[:800]))


def dig(rec, path):
    """rec['a']['b'] for path 'a.b', with a Fail naming what is missing."""
    value = rec
    for part in path.split("."):
        check(isinstance(value, dict) and part in value,
              "record has no %s: %s" % (path, json.dumps(rec)[:800]))
        value = value[part]
    return value


def truth_args(**counts):
    """truth_args(threads=6, close_wait=3) -> ['--threads', 6, '--close-wait', 3]"""
    args = []
    for name, value in counts.items():
        args += ["--" + name.replace("_", "-"), value]
    return args


# ------------------------------------------------------------ test runner

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


# ------------------------------------------------------------------ tests

COUNTS = dict(threads=6, files=3, dirs=2, pipes=2, eventfds=2, epolls=1,
              timerfds=2, signalfds=1, inotify=1, memfds=2, tcp=5,
              close_wait=3, udp=2, unix_pairs=4)


@test
def counts(ctx):
    """Threads, fds by kind and TCP states match what the target measured."""
    t = start_truth(ctx, *truth_args(**COUNTS))
    truth = t.truth
    check(truth["threads"] == 7 and truth["tcp"]["ESTABLISHED"] == 10,
          "truth target did not build the expected set: %s" % truth)
    res = run_pscope("-b", "--json", "-n", 2, "-d", 0.2, t.pid)
    recs = records_for(res, t.pid)
    check(len(recs) == 2, "expected 2 records\n%s" % res)
    for rec in recs:
        check_record_keys(rec)
        check(not unreadable(rec), "unreadable on a readable target: %s"
              % rec.get("unreadable_why"))
        check(dig(rec, "threads.count") == truth["threads"],
              "threads.count %s != %s" % (rec["threads"]["count"], truth["threads"]))
        names = sorted(th.get("name") for th in dig(rec, "threads.list"))
        check(names == sorted(truth["thread_names"]),
              "thread names %s != %s" % (names, sorted(truth["thread_names"])))
        check(dig(rec, "fds.count") == truth["fds"],
              "fds.count %s != %s" % (rec["fds"]["count"], truth["fds"]))
        by_kind = dig(rec, "fds.by_kind")
        wrong = {k: (by_kind.get(k), v) for k, v in truth["by_kind"].items()
                 if by_kind.get(k) != v}
        check(not wrong, "fds.by_kind differs, kind: (pscope, truth): %s" % wrong)
        check(dig(rec, "sockets.count") == truth["by_kind"]["socket"],
              "sockets.count %s != %s" % (rec["sockets"]["count"], truth["by_kind"]["socket"]))
        by_state = dig(rec, "sockets.by_state")
        for state in ("ESTABLISHED", "CLOSE_WAIT", "LISTEN"):
            check(by_state.get(state) == truth["tcp"][state],
                  "sockets.by_state.%s %s != %s" % (state, by_state.get(state),
                                                    truth["tcp"][state]))
        remote = "127.0.0.1:%d" % truth["listen_port"]
        check(any(s.get("remote") == remote for s in dig(rec, "sockets.list")),
              "no socket with remote %s in sockets.list" % remote)
        check(dig(rec, "memory.rss_kb") > 0, "memory.rss_kb is %s" % rec["memory"]["rss_kb"])


@test
def new_fd_appears(ctx):
    """An fd opened between samples shows up in the next sample."""
    t = start_truth(ctx, "--files", 2)
    before = t.truth
    with streaming_pscope("-b", "--json", "-d", "0.5", "-n", "6", t.pid) as (proc, reader):
        first = reader.readline(10)
        check(first is not None,
              "no first record within 10 s while pscope runs (stdout not flushed per "
              "record when it is a pipe?)")
        os.kill(t.pid, signal.SIGUSR1)
        after = t.next_truth()
        rest = reader.read_rest(30)
        err = proc.stderr.read()
        proc.wait(timeout=10)
    res = Result(["-b", "--json", "-d", "0.5", "-n", "6", str(t.pid)], proc.returncode,
                 first + b"\n" + rest, err)
    check_no_crash(res)
    recs = records_for(res, t.pid)
    check(len(recs) == 6, "expected 6 records\n%s" % res)
    check(recs[0]["fds"]["count"] == before["fds"],
          "first fds.count %s != %s" % (recs[0]["fds"]["count"], before["fds"]))
    last = recs[-1]
    check(last["fds"]["count"] == before["fds"] + 1 == after["fds"],
          "last fds.count %s, expected %s" % (last["fds"]["count"], before["fds"] + 1))
    targets = [f.get("target") for f in last["fds"]["list"]]
    check(after["added"] in targets, "new file %s not in fds.list %s" % (after["added"], targets))


@test
def rss_growth_rate(ctx):
    """A heap growing at 2048 kB/s is reported as about 2048*60 kB/min."""
    t = start_truth(ctx, "--heap-kb-per-s", 2048)
    res = run_pscope("-b", "--json", "-d", 0.5, "-n", 24, "--window", 10, t.pid, timeout=60)
    recs = records_for(res, t.pid)
    check(len(recs) == 24, "expected 24 records\n%s" % res)
    expected = 2048 * 60
    for key in ("rss_kb_per_min", "heap_kb_per_min"):
        got = dig(recs[-1], "growth." + key)
        check(isinstance(got, (int, float)) and abs(got - expected) <= 0.25 * expected,
              "growth.%s is %s, expected %d +- 25%%" % (key, got, expected))


@test
def text_mode(ctx):
    """Text batch output names the pid, the comm, a thread and fd kinds."""
    t = start_truth(ctx, "--threads", 2, "--files", 2, "--pipes", 1, "--tcp", 1)
    res = run_pscope("-b", "-n", 1, t.pid)
    check(res.rc == 0, "exit status %s\n%s" % (res.rc, res))
    text = res.out.decode("utf-8", "replace")
    for word in (str(t.pid), "truth", "worker-0", "socket", "pipe", "file"):
        check(word in text, "%r not in text output:\n%s" % (word, text[:2000]))


@test
def several_pids(ctx):
    """-p A,B, -p A -p B and positional PIDs all sample both targets."""
    a, b = start_truth(ctx), start_truth(ctx)
    for args in (["-p", "%d,%d" % (a.pid, b.pid)], ["-p", a.pid, "-p", b.pid],
                 [a.pid, b.pid]):
        res = run_pscope("-b", "--json", "-n", 1, *args)
        pids = sorted(r.get("pid") for r in res.records)
        check(pids == sorted([a.pid, b.pid]), "records for %s, expected %s\n%s"
              % (pids, sorted([a.pid, b.pid]), res))
        check(res.rc == 0, "exit status %s\n%s" % (res.rc, res))


def unique_truth_copy(ctx):
    """truth copied under a name no other process has (comm <= 15 bytes)."""
    name = "truthname-" + "".join(random.choice(string.ascii_lowercase) for _ in range(5))
    path = os.path.join(ctx.tempdir(), name)
    shutil.copy(os.path.join(TARGETS, "truth"), path)
    os.chmod(path, 0o755)
    return name, path


@test
def name_matches_several(ctx):
    """A name matching two processes attaches to both and says so on stderr."""
    name, path = unique_truth_copy(ctx)
    a, b = start_truth(ctx, exe=path), start_truth(ctx, exe=path)
    check(a.truth["comm"] == name, "copied truth runs as %r" % a.truth["comm"])
    res = run_pscope("-b", "--json", "-n", 1, name)
    pids = sorted(r.get("pid") for r in res.records)
    check(pids == sorted([a.pid, b.pid]), "records for %s, expected %s\n%s"
          % (pids, sorted([a.pid, b.pid]), res))
    err = res.err.decode("utf-8", "replace")
    check(name in err or (str(a.pid) in err and str(b.pid) in err),
          "stderr does not say the name matched several processes\n%s" % res)
    check(res.rc == 0, "exit status %s\n%s" % (res.rc, res))


def reaped_pid():
    """A pid that existed a moment ago and is gone (its process was reaped)."""
    p = subprocess.run([os.path.join(TARGETS, "exiter"), "0"], stdout=subprocess.PIPE,
                       timeout=10)
    pid = json.loads(p.stdout)["pid"]
    check(not os.path.exists("/proc/%d" % pid), "pid %d was reused already" % pid)
    return pid


def check_one_error_line(res, needle):
    lines = res.err_lines
    check(len(lines) == 1 and lines[0].startswith("pscope: ") and needle in lines[0],
          "expected one stderr line 'pscope: ...' naming %s\n%s" % (needle, res))


@test
def unknown_pid(ctx):
    """A PID that does not exist: one stderr line naming it, exit 2."""
    for pid in (reaped_pid(), 4194303):
        res = run_pscope("-b", "--json", "-n", 1, pid)
        check(res.rc == 2, "exit status %s, expected 2\n%s" % (res.rc, res))
        check_one_error_line(res, str(pid))
        check(not res.records, "records for a missing pid\n%s" % res)


@test
def unknown_name(ctx):
    """A name no process has: one stderr line naming it, exit 2."""
    name = "nosuch-%d" % random.randrange(10**8)
    res = run_pscope("-b", "--json", "-n", 1, name)
    check(res.rc == 2, "exit status %s, expected 2\n%s" % (res.rc, res))
    check_one_error_line(res, name)
    check(not res.records, "records for a missing name\n%s" % res)


@test
def unknown_among_valid(ctx):
    """One unknown PID among valid ones: the valid one is sampled, exit 1."""
    t = start_truth(ctx)
    missing = reaped_pid()
    res = run_pscope("-b", "--json", "-n", 1, t.pid, missing)
    only_record(res, t.pid)
    check(not records_for(res, missing), "records for the missing pid\n%s" % res)
    check(res.rc == 1, "exit status %s, expected 1\n%s" % (res.rc, res))
    check(str(missing) in res.err.decode(), "stderr does not name %d\n%s" % (missing, res))


@test
def bad_option_values(ctx):
    """Bad options and values are usage errors: exit 64, message on stderr."""
    t = start_truth(ctx)
    cases = [["-d", "abc", "-n", "1"], ["-d", "-1", "-n", "1"], ["-n", "0"],
             ["-n", "abc"], ["--nope", "-n", "1"], ["-p", "x", "-n", "1"]]
    problems = []
    for case in cases:
        res = run_pscope("-b", "--json", *case, t.pid)
        err = res.err.decode("utf-8", "replace")
        if res.rc != 64:
            problems.append("%s: exit %s, expected 64" % (case, res.rc))
        elif not err.startswith("pscope: "):
            problems.append("%s: stderr does not start with 'pscope: ': %r" % (case, err))
        elif not re.search(r"usage|--help", err, re.I):
            problems.append("%s: no usage message (or --help hint): %r" % (case, err))
        elif res.out:
            problems.append("%s: sampled anyway: %r" % (case, res.out[:200]))
    check(not problems, "\n  ".join(["bad options accepted or reported badly:"] + problems))


@test
def exits_mid_run(ctx):
    """A target that exits ends the run: last record exited:true, quietly."""
    t = start_target(ctx, "exiter", 1.5)
    res = run_pscope("-b", "--json", "-d", 0.3, t.pid, timeout=20)
    recs = records_for(res, t.pid)
    check(len(recs) >= 2, "expected several records\n%s" % res)
    check(recs[-1].get("exited") is True, "last record not exited:true\n%s" % res)
    for key in ("time", "pid", "comm"):
        check(key in recs[-1], "final record lacks %s: %s" % (key, recs[-1]))
    check(all(r.get("exited") is False for r in recs[:-1]),
          "an earlier record is not exited:false\n%s" % res)
    check(res.rc in (0, 1), "exit status %s\n%s" % (res.rc, res))
    check(len(res.err_lines) <= 1, "error spam on stderr\n%s" % res)


@test
def exit_teardown_is_not_zero(ctx):
    """A process tearing down a large address space at exit still runs but
    has no mappings left, then no fds: samples taken then say "exiting",
    they never show 0 mappings, 0 heap or 0 fds."""
    seen_exiting = False
    for _ in range(3):
        t = start_target(ctx, "exiter", 0.3, "--touch", 256, "--files", 10)
        res = run_pscope("-b", "--json", "-d", 0.01, "--history", 60, t.pid, timeout=30)
        recs = records_for(res, t.pid)
        check(recs and recs[-1].get("exited") is True, "run did not end with the exit\n%s" % res)
        for rec in recs[:-1]:
            mem, fds = rec.get("memory") or {}, rec.get("fds") or {}
            shown = {"memory.mappings": mem.get("mappings"), "memory.heap_kb": mem.get("heap_kb")}
            if rec.get("state") != "Z":
                shown["fds.count"] = fds.get("count")
            zeros = [k for k, v in shown.items() if v == 0]
            check(not zeros, "state %s sample shows %s = 0 (unreadable: %s)"
                  % (rec.get("state"), zeros, rec.get("unreadable_why")))
            why = (rec.get("unreadable_why") or {}).get("maps", "")
            seen_exiting = seen_exiting or "exiting" in why
        if seen_exiting:
            return
    print("    (no sample landed in the teardown window in 3 runs)")


@test
def idle_threads_then_one_wakes(ctx):
    """Threads that sleep show 0% CPU, sample after sample; one that wakes
    and blocks again between two samples shows it (its voluntary context
    switches go up), although it uses next to no CPU."""
    t = start_target(ctx, "stacky", "--threads", 4, "--mover")
    with streaming_pscope("-b", "--json", "-d", "0.1", t.pid) as (proc, reader):
        def record():
            line = reader.readline(10)
            check(line is not None, "no record")
            rec = json.loads(line)
            return rec, {th["name"]: th for th in rec["threads"]["list"]}

        record()
        for _ in range(3):
            rec, threads = record()
            names = sorted(threads)
            check(len(names) == 6 and "stk-mover" in names, "threads %s" % names)
            busy = {n: th["cpu_pct"] for n, th in threads.items()
                    if th["cpu_pct"] is None or th["cpu_pct"] > 1}
            check(not busy, "sleeping threads with CPU: %s" % busy)
        before = threads["stk-mover"]["vol_ctxsw"]
        os.kill(t.pid, signal.SIGUSR2)
        t.next_truth()
        deadline = time.monotonic() + 10
        after = before
        while after == before and time.monotonic() < deadline:
            _, threads = record()
            after = threads["stk-mover"]["vol_ctxsw"]
        check(after > before, "the mover woke, yet its context switches stay at %s" % before)


@test
def json_ignores_a_decimal_comma(ctx):
    """Under a locale whose decimal point is a comma (de_DE), JSON numbers
    still use a point: the lines stay JSON, the fractions stay fractions."""
    locdir = ctx.tempdir()
    made = subprocess.run(["localedef", "-i", "de_DE", "-f", "UTF-8",
                           os.path.join(locdir, "de_DE.UTF-8")],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if made.returncode not in (0, 1) or not os.path.isdir(os.path.join(locdir, "de_DE.UTF-8")):
        raise Skip("localedef could not build de_DE.UTF-8 (package locales)")
    t = start_truth(ctx)
    res = run_pscope("-b", "--json", "-n", 2, "-d", 0.2, t.pid,
                     env={"LOCPATH": locdir, "LC_ALL": "de_DE.UTF-8"})
    recs = records_for(res, t.pid)
    check(len(recs) == 2, "expected 2 records\n%s" % res)
    check(isinstance(recs[0].get("time"), float) and recs[0]["time"] > 1e9,
          "time %r" % recs[0].get("time"))


@test
def history_costs_what_it_holds(ctx):
    """A long history at a short delay (an hour at 0.01 s: 360,000 slots)
    is reserved, not filled up front: pscope starts small and at once."""
    t = start_target(ctx, "small")
    with streaming_pscope("-b", "--json", "--brief", "-d", 0.01, "--history", 3600,
                          t.pid) as (proc, reader):
        for _ in range(3):
            check(reader.readline(10) is not None, "fewer than 3 records")
        with open("/proc/%d/status" % proc.pid) as f:
            rss = int(next(l for l in f if l.startswith("VmRSS:")).split()[1])
    check(rss < 48 * 1024, "pscope holds %d MiB after 3 samples" % (rss // 1024))


@test
def pid_reuse_is_an_exit(ctx):
    """A PID that a new process takes over is reported as exited, not
    followed: pscope keeps the old /proc/PID open and checks start times."""
    if os.geteuid() != 0 or not os.path.exists("/proc/sys/kernel/ns_last_pid"):
        raise Skip("needs root and ns_last_pid")
    t = start_target(ctx, "exiter", 1.0)
    newcomer = None
    with streaming_pscope("-b", "--json", "--brief", "-d", "0.3", t.pid) as (proc, reader):
        try:
            check(reader.readline(10) is not None, "no first record")
            deadline = time.monotonic() + 10
            while os.path.exists("/proc/%d" % t.pid) and time.monotonic() < deadline:
                time.sleep(0.02)
            t.proc.wait(timeout=5)
            # Hand the same PID to a new process before pscope's next sample.
            with open("/proc/sys/kernel/ns_last_pid", "w") as f:
                f.write(str(t.pid - 1))
            newcomer = subprocess.Popen(["sleep", "5"])
            rest = reader.read_rest(15)
            proc.wait(timeout=10)
        finally:
            if newcomer and newcomer.poll() is None:
                newcomer.kill()
                newcomer.wait()
    if newcomer.pid != t.pid:
        raise Skip("the PID went to another process first (busy machine)")
    recs = [json.loads(l) for l in rest.splitlines() if l.strip()]
    check(recs and recs[-1].get("exited") is True,
          "pscope did not report the exit: %s" % recs[-1:])
    check(all(r.get("comm") != "sleep" for r in recs), "pscope followed the new process")


@test
def mark_by_signal(ctx):
    """SIGUSR1 sets the mark: later deltas count from it."""
    t = start_truth(ctx, "--files", 1)
    with streaming_pscope("-b", "--json", "--brief", "-d", "0.3", "-n", "8", t.pid) as (proc, reader):
        first = reader.readline(10)
        check(first is not None, "no first record")
        os.kill(t.pid, signal.SIGUSR1)          # one more fd before the mark
        t.next_truth()
        reader.readline(10)
        reader.readline(10)
        os.kill(proc.pid, signal.SIGUSR1)       # the mark
        rest = reader.read_rest(20)
        proc.wait(timeout=10)
    recs = [json.loads(l) for l in rest.splitlines() if l.strip()]
    check(recs and recs[-1]["delta"]["since"] == "mark", "delta not since the mark: %s" % recs[-1:])
    check(recs[-1]["delta"]["fds"] == 0, "fds delta since the mark %s, expected 0" %
          recs[-1]["delta"]["fds"])
    check(json.loads(first)["delta"]["since"] == "attach", "first record not since attach")


@test
def brief_leaves_out_lists(ctx):
    """--brief keeps counts, sizes and rates and drops the per-item lists."""
    t = start_truth(ctx, "--threads", 2, "--files", 2, "--tcp", 1)
    res = run_pscope("-b", "--json", "--brief", "-n", 1, t.pid)
    rec = only_record(res, t.pid)
    check(rec["threads"]["count"] == t.truth["threads"], "threads.count wrong")
    check(rec["fds"]["by_kind"]["file"] == t.truth["by_kind"]["file"], "fds.by_kind wrong")
    check("list" not in rec["threads"] and "list" not in rec["fds"] and
          "list" not in rec["sockets"], "a list was printed: %s" % rec)


def need_root_and_setpriv():
    if os.geteuid() != 0:
        raise Skip("needs root")
    if not shutil.which("setpriv"):
        raise Skip("setpriv missing")


def pscope_for_nobody():
    """A pscope path nobody can execute: /work may not be traversable for
    it, so copy the binary to a world-readable temp dir when needed."""
    if NOBODY in PSCOPE_FOR:
        return
    probe = subprocess.run(as_user([PSCOPE, "--version"], NOBODY), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=10)
    if probe.returncode == 0:
        PSCOPE_FOR[NOBODY] = PSCOPE
        return
    d = tempfile.mkdtemp(prefix="pscope-nobody-")
    os.chmod(d, 0o755)
    GLOBAL_DIRS.append(d)
    path = os.path.join(d, "pscope")
    shutil.copy(PSCOPE, path)
    os.chmod(path, 0o755)
    PSCOPE_FOR[NOBODY] = path


def targets_for_nobody(ctx):
    """truth path nobody can execute (copied like pscope when needed)."""
    path = os.path.join(TARGETS, "truth")
    probe = subprocess.run(as_user(["test", "-x", path], NOBODY), timeout=10)
    if probe.returncode == 0:
        return path
    copy = os.path.join(ctx.tempdir(), "truth")
    shutil.copy(path, copy)
    os.chmod(copy, 0o755)
    return copy



@test
def permission_other_user(ctx):
    """As nobody against root's process: fds unreadable, status still read."""
    need_root_and_setpriv()
    pscope_for_nobody()
    t = start_truth(ctx, "--threads", 3, "--files", 2, "--tcp", 1)
    res = run_pscope("-b", "--json", "-n", 1, t.pid, user=NOBODY)
    rec = only_record(res, t.pid)
    check(res.rc == 1, "exit status %s, expected 1\n%s" % (res.rc, res))
    check("fds" in unreadable(rec), "fds not in unreadable\n%s" % res)
    # Anyone may count a process's fds (fstat of /proc/PID/fd), so the count
    # stays; the table itself (list, kinds) is what is unreadable.
    check(dig(rec, "fds.count") == t.truth["fds"],
          "fds.count %s != %s" % (dig(rec, "fds.count"), t.truth["fds"]))
    check("list" not in rec["fds"] and "by_kind" not in rec["fds"],
          "fd table printed although unreadable: %s" % rec.get("fds"))
    why = (rec.get("unreadable_why") or {}).get("fds", "")
    check(re.search(r"ptrace|user|uid", why, re.I),
          "unreadable_why.fds does not mention the other user / CAP_SYS_PTRACE: %r" % why)
    check("sockets" in unreadable(rec) or
          dig(rec, "sockets.count") == t.truth["by_kind"]["socket"],
          "sockets shown although fds are unreadable: %s" % rec.get("sockets"))
    check(dig(rec, "memory.rss_kb") > 0, "memory.rss_kb not > 0")
    check(dig(rec, "threads.count") == t.truth["threads"],
          "threads.count %s != %s" % (rec["threads"]["count"], t.truth["threads"]))


@test
def permission_nondumpable(ctx):
    """Same uid, but the target is non-dumpable: fds unreadable, says why."""
    need_root_and_setpriv()
    pscope_for_nobody()
    t = start_truth(ctx, "--nondumpable", "--files", 2, user=NOBODY,
                    exe=targets_for_nobody(ctx))
    check(t.truth["uid"] == NOBODY, "target runs as uid %s" % t.truth["uid"])
    res = run_pscope("-b", "--json", "-n", 1, t.pid, user=NOBODY)
    rec = only_record(res, t.pid)
    check(res.rc == 1, "exit status %s, expected 1\n%s" % (res.rc, res))
    check("fds" in unreadable(rec), "fds not in unreadable\n%s" % res)
    why = (rec.get("unreadable_why") or {}).get("fds", "")
    check("dumpable" in why.lower(), "unreadable_why.fds does not mention dumpable: %r" % why)
    check(dig(rec, "memory.rss_kb") > 0, "memory.rss_kb not > 0")


def a_kernel_thread():
    """kthreadd (pid 2) normally; any PF_KTHREAD process otherwise."""
    pids = [2] + sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[6]) & 0x00200000:   # flags (field 9): PF_KTHREAD
            return pid
    raise Skip("no kernel thread visible (container?)")


@test
def kernel_thread(ctx):
    """A kernel thread: flagged, memory unreadable ("kernel thread"), no fake 0."""
    pid = a_kernel_thread()
    res = run_pscope("-b", "--json", "-n", 1, pid)
    rec = only_record(res, pid)
    check(res.rc in (0, 1), "exit status %s\n%s" % (res.rc, res))
    check(rec.get("kernel_thread") is True, "kernel_thread is %r" % rec.get("kernel_thread"))
    rss = (rec.get("memory") or {}).get("rss_kb")
    check(rss != 0, "a kernel thread reported with rss_kb 0: %s" % rec.get("memory"))
    check("memory" in unreadable(rec), "memory not in unreadable\n%s" % res)
    why = (rec.get("unreadable_why") or {}).get("memory", "")
    check("kernel" in why.lower(), "unreadable_why.memory %r does not say kernel thread" % why)
    mem = rec.get("memory") or {}
    for key, part in (("mappings", "maps"), ("heap_kb", "heap")):
        check(mem.get(key) is None and part in unreadable(rec),
              "a kernel thread shows memory.%s = %r" % (key, mem.get(key)))


@test
def zombie(ctx):
    """An unreaped child: state Z, not 'exited', no crash."""
    z = start_target(ctx, "zombie")
    child = z.truth["child"]
    res = run_pscope("-b", "--json", "-n", 2, "-d", 0.2, child)
    recs = records_for(res, child)
    check(recs, "no record for the zombie\n%s" % res)
    check(recs[0].get("state") == "Z", "state %r, expected Z" % recs[0].get("state"))
    check(recs[0].get("exited") is False, "exited %r on the first record"
          % recs[0].get("exited"))
    check(res.rc in (0, 1), "exit status %s\n%s" % (res.rc, res))
    # A zombie has no address space: no mapping count or heap, and why.
    for rec in recs:
        mem = rec.get("memory") or {}
        for key, part in (("mappings", "maps"), ("heap_kb", "heap")):
            check(mem.get(key) is None and part in unreadable(rec),
                  "zombie shows memory.%s = %r" % (key, mem.get(key)))
            why = (rec.get("unreadable_why") or {}).get(part, "")
            check("zombie" in why, "unreadable_why.%s %r does not say zombie" % (part, why))


@test
def main_thread_exited(ctx):
    """A process whose main thread exited (pthread_exit) while another runs
    on: /proc/PID shows Z and an empty fd/, but the process is not a zombie.
    Its fds, socket and memory are read through the thread that runs."""
    t = start_target(ctx, "leaderless", "--files", 5)
    res = run_pscope("-b", "--json", "-n", 2, "-d", 0.2, t.pid)
    recs = records_for(res, t.pid)
    check(len(recs) == 2 and res.rc == 0, "expected 2 records, exit 0\n%s" % res)
    for rec in recs:
        check(rec.get("state") not in ("Z", "X"), "state %r" % rec.get("state"))
        check(not unreadable(rec), "unreadable: %s" % rec.get("unreadable_why"))
        fds = rec.get("fds") or {}
        check(fds.get("count") == t.truth["fds"], "fds.count %r, the process holds %d"
              % (fds.get("count"), t.truth["fds"]))
        listen = ((rec.get("sockets") or {}).get("by_state") or {}).get("LISTEN")
        check(listen == 1, "LISTEN sockets %r, expected 1" % listen)
        mem = rec.get("memory") or {}
        check((mem.get("rss_kb") or 0) > 0 and (mem.get("mappings") or 0) > 0,
              "memory %s" % mem)
        check(rec.get("exe", "").endswith("leaderless"), "exe %r" % rec.get("exe"))


def check_clean_text(data, what):
    """Valid UTF-8, no ESC/BEL or other C0 controls but \\n and \\t, no C1."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Fail("%s is not valid UTF-8: %s" % (what, e))
    bad = sorted({"U+%04X" % ord(c) for c in text
                  if (ord(c) < 0x20 and c not in "\n\t") or 0x7f <= ord(c) <= 0x9f})
    check(not bad, "%s contains control characters %s" % (what, bad))
    return text


@test
def hostile_names_json(ctx):
    """Escapes, C1 and invalid UTF-8 in comm, thread, argv[0], file name:
    the JSON is valid, UTF-8, free of raw control bytes, and stat is parsed
    right although comm contains ') R 9'."""
    t = start_truth(ctx, "--hostile", "--threads", 2, "--files", 1)
    res = run_pscope("-b", "--json", "-n", 1, t.pid)
    check(not [b for b in res.out if b < 0x20 and b != 0x0a],
          "raw control bytes in JSON output: %r" % res.out[:1500])
    check_clean_text(res.err, "stderr")
    try:
        res.out.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Fail("JSON output is not valid UTF-8: %s" % e)
    rec = only_record(res, t.pid)    # also proves every line is valid JSON
    check(res.rc == 0, "exit status %s\n%s" % (res.rc, res))
    check(isinstance(rec.get("comm"), str) and rec["comm"], "empty comm: %r" % rec.get("comm"))
    check(rec.get("ppid") == os.getpid(),
          "ppid %r, expected %d: /proc/PID/stat split at the first ')'?"
          % (rec.get("ppid"), os.getpid()))
    check(dig(rec, "threads.count") == t.truth["threads"], "threads.count wrong")
    check(dig(rec, "fds.count") == t.truth["fds"], "fds.count wrong")


@test
def hostile_names_text(ctx):
    """Text mode never lets terminal escapes or invalid UTF-8 through."""
    t = start_truth(ctx, "--hostile", "--threads", 2, "--files", 1)
    res = run_pscope("-b", "-n", 1, t.pid)
    check(res.rc == 0, "exit status %s\n%s" % (res.rc, res))
    text = check_clean_text(res.out, "text output")
    check(str(t.pid) in text, "pid missing from text output")
    check_clean_text(res.err, "stderr")


@test
def healthy_exits_0(ctx):
    """Everything readable, every sample taken: exit 0, full records."""
    t = start_truth(ctx, "--threads", 2, "--files", 2, "--tcp", 1, "--pipes", 1)
    res = run_pscope("-b", "--json", "-n", 2, "-d", 0.2, t.pid)
    check(res.rc == 0, "exit status %s, expected 0\n%s" % (res.rc, res))
    check(not res.err_lines, "stderr not empty\n%s" % res)
    recs = records_for(res, t.pid)
    check(len(recs) == 2, "expected 2 records\n%s" % res)
    for rec in recs:
        check_record_keys(rec)
        check(not unreadable(rec), "unreadable: %s" % rec.get("unreadable_why"))
        check(rec.get("exited") is False and rec.get("kernel_thread") is False,
              "exited/kernel_thread not false")
        for key in MEMORY_KEYS:
            dig(rec, "memory." + key)
        for kind in FD_KINDS:
            dig(rec, "fds.by_kind." + kind)
    for key in GROWTH_KEYS:
        got = dig(recs[1], "growth." + key)
        check(isinstance(got, (int, float)), "second record growth.%s is %r, not a number"
              % (key, got))


# ----------------------------------------------------------------- runner

def run_all(selected):
    passed = failed = skipped = 0
    for fn in selected:
        ctx = Context()
        start = time.monotonic()
        try:
            fn(ctx)
            passed += 1
            print("ok    %-24s (%.1fs)" % (fn.__name__, time.monotonic() - start))
        except Skip as e:
            skipped += 1
            print("skip  %-24s %s" % (fn.__name__, e))
        except Fail as e:
            failed += 1
            print("FAIL  %-24s %s" % (fn.__name__, e))
        except Exception:
            failed += 1
            print("FAIL  %-24s test error:\n%s" % (fn.__name__, traceback.format_exc()))
        finally:
            ctx.cleanup()
        sys.stdout.flush()
    return passed, failed, skipped


def main():
    global PSCOPE, TARGETS
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pscope", required=True)
    ap.add_argument("--targets", required=True)
    ap.add_argument("-k", dest="only", help="run only tests whose name contains this")
    opts = ap.parse_args()
    PSCOPE = os.path.abspath(opts.pscope)
    TARGETS = os.path.abspath(opts.targets)
    # Each feature keeps its tests in suite_*.py beside this file; they use
    # the helpers above and register with @test like the tests here.
    here = os.path.dirname(os.path.abspath(__file__))
    for path in sorted(glob.glob(os.path.join(here, "suite_*.py"))):
        with open(path) as f:
            exec(compile(f.read(), path, "exec"), globals())
    selected = [fn for fn in TESTS if not opts.only or opts.only in fn.__name__]
    if not os.access(PSCOPE, os.X_OK):
        print("pscope binary %s is missing or not executable" % PSCOPE)
        passed, failed, skipped = 0, len(selected), 0
    else:
        try:
            passed, failed, skipped = run_all(selected)
        finally:
            for d in GLOBAL_DIRS:
                shutil.rmtree(d, ignore_errors=True)
    summary = "integration: %d passed, %d failed" % (passed, failed)
    if skipped:
        summary += ", %d skipped" % skipped
    print(summary)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

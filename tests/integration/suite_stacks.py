# Native stack capture (--stacks): exec'd by run.py, which provides @test,
# start_target, run_pscope, check, Skip, Fail and the other helpers.
#
# The targets are stacky (C, built at -O1, -O0 and -O2 without frame
# pointers) and stacky_cpp; each prints the TIDs of its parked threads and
# the functions every one of them must show, innermost first.

import ctypes

STACKY_VARIANTS = ["stacky", "stacky-O0", "stacky-O2-nofp", "stacky_cpp"]


def thread_states(pid):
    """{tid: state letter} of every thread of pid ({} once it is gone)."""
    states = {}
    for path in glob.glob("/proc/%d/task/*/stat" % pid):
        try:
            with open(path) as f:
                states[int(path.split("/")[4])] = f.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError, ValueError):
            pass   # the thread exited meanwhile
    return states


def check_none_stopped(pid, what):
    """No thread of pid may be left in tracing stop ('t')."""
    time.sleep(0.1)   # the kernel resumes a released tracee at once; settle anyway
    stopped = sorted(t for t, s in thread_states(pid).items() if s == "t")
    check(not stopped, "%s: threads %s of %d left in tracing stop" % (what, stopped, pid))


def stacks_of(rec):
    st = rec.get("stacks")
    check(isinstance(st, dict), "record has no stacks (unreadable: %s)"
          % rec.get("unreadable_why"))
    return st


def func_names(thread):
    return [f.get("func") or "" for f in thread.get("frames", [])]


def check_in_order(names, expect, exact, what):
    """Every name of expect appears in names, in that order."""
    i = 0
    for want in expect:
        while i < len(names) and not (names[i] == want if exact else want in names[i]):
            i += 1
        check(i < len(names), "%s: %r missing (in order %s) from %s" % (what, want, expect, names))
        i += 1


def check_truth_stacks(target, st, exact):
    by_tid = {t["tid"]: t for t in st["threads"]}
    for want in target.truth["threads"]:
        th = by_tid.get(want["tid"])
        check(th is not None, "thread %d missing from stacks.threads" % want["tid"])
        check("error" not in th, "thread %d: %s" % (want["tid"], th.get("error")))
        check(th.get("name") == want["name"], "thread %d named %r, expected %r"
              % (want["tid"], th.get("name"), want["name"]))
        check_in_order(func_names(th), want["expect"], exact,
                       "thread %d (%s)" % (want["tid"], want["name"]))
    # Every thread with frames is in exactly one group of identical stacks.
    grouped = sorted(tid for g in st["groups"] for tid in g["tids"])
    with_frames = sorted(t["tid"] for t in st["threads"] if t.get("frames"))
    check(grouped == with_frames, "groups cover %s, threads with frames are %s"
          % (grouped, with_frames))
    counts = [g["count"] for g in st["groups"]]
    check(counts == sorted(counts, reverse=True), "groups not sorted by count: %s" % counts)
    for g in st["groups"]:
        check(g["count"] == len(g["tids"]) and g["frames"], "bad group %s" % g)


@test
def stacks_expected_functions(ctx):
    """Each variant: every parked thread shows its functions in order."""
    for variant in STACKY_VARIANTS:
        t = start_target(ctx, variant, "--threads", 6)
        res = run_pscope("-b", "--json", "-n", 1, "--stacks", t.pid)
        rec = only_record(res, t.pid)
        check(res.rc == 0, "%s: exit status %s\n%s" % (variant, res.rc, res))
        st = stacks_of(rec)
        check_truth_stacks(t, st, exact=variant != "stacky_cpp")
        check(st["consistent"] is False, "%s: consistent without --consistent" % variant)
        check(st["stop_us"]["max"] > 0, "%s: no stop time reported: %s" % (variant, st["stop_us"]))
        check_none_stopped(t.pid, variant)


@test
def stacks_consistent_mode(ctx):
    """--consistent: same stacks, flagged consistent, and nothing left stopped."""
    t = start_target(ctx, "stacky", "--threads", 9)
    res = run_pscope("-b", "--json", "-n", 2, "-d", 0.1, "--stacks", "--consistent", t.pid)
    recs = records_for(res, t.pid)
    check(len(recs) == 2 and res.rc == 0, "expected 2 records, exit 0\n%s" % res)
    for rec in recs:
        st = stacks_of(rec)
        check(st["consistent"] is True, "consistent is %r" % st["consistent"])
        check_truth_stacks(t, st, exact=True)
    check_none_stopped(t.pid, "consistent")


@test
def stacks_vdso_spinner(ctx):
    """A thread spinning in clock_gettime (the vDSO) unwinds to start_thread."""
    t = start_target(ctx, "stacky", "--threads", 1, "--spin", 1)
    spinner = t.truth["spinners"][0]
    res = run_pscope("-b", "--json", "-n", 3, "-d", 0.05, "--stacks", t.pid)
    for rec in records_for(res, t.pid):
        th = {x["tid"]: x for x in stacks_of(rec)["threads"]}.get(spinner)
        check(th is not None and "error" not in th, "spinner %d not captured: %s" % (spinner, th))
        check_in_order(func_names(th), ["spin_main", "start_thread"], True, "spinner")


@test
def stacks_text_dump(ctx):
    """Text mode: one grouped dump naming the functions and the stop times."""
    t = start_target(ctx, "stacky", "--threads", 6)
    res = run_pscope("-b", "-n", 1, "--stacks", t.pid)
    check(res.rc == 0, "exit status %s\n%s" % (res.rc, res))
    text = check_clean_text(res.out, "text output")
    for word in ("stacks: 7 of 7 threads in", "level1+0x", "level3+0x", "thread_main", "(stacky)",
                 "2 threads (stk-cond-0)", "us median"):
        check(word in text, "%r not in the text dump:\n%s" % (word, text[-3000:]))


@test
def stacks_dump_spelling(ctx):
    """pscope -s: one grouped dump and nothing else, text and JSON; the same
    errors as --stacks for a bad PID or with --no-ptrace."""
    t = start_target(ctx, "stacky", "--threads", 6)
    res = run_pscope("-s", t.pid)
    check(res.rc == 0, "exit status %s\n%s" % (res.rc, res))
    text = check_clean_text(res.out, "text output")
    for word in ("stacks: 7 of 7 threads in", "level1+0x", "thread_main", "(stacky)",
                 "2 threads (stk-cond-0)"):
        check(word in text, "%r not in the dump:\n%s" % (word, text[-3000:]))
    for word in ("rss", "fds", "threads:"):
        check(word not in text, "%r in a stack dump:\n%s" % (word, text[-3000:]))

    res = run_pscope("-s", "--json", t.pid)
    rec = only_record(res, t.pid)
    check(res.rc == 0, "exit status %s\n%s" % (res.rc, res))
    check_truth_stacks(t, stacks_of(rec), exact=True)
    extra = sorted(k for k in ("memory", "threads", "fds", "sockets", "growth", "plugins")
                   if k in rec)
    check(not extra, "a stack dump carries %s" % extra)
    check_none_stopped(t.pid, "-s")

    res = run_pscope("-s", "--no-ptrace", t.pid)
    check(res.rc == 64 and "--no-ptrace" in res.err_lines[0], "-s --no-ptrace: %s" % res)
    res = run_pscope("-s", 999999999)
    check(res.rc == 2 and len(res.err_lines) == 1, "-s on no process: %s" % res)


@test
def stacks_sandbox_refusing_affinity(ctx):
    """Under a seccomp filter that refuses sched_setaffinity (as some
    container sandboxes do), pscope -s still dumps every thread's stack."""
    t = start_target(ctx, "stacky", "--threads", 6)
    res = run_pscope("-s", "--json", t.pid, wrap=[os.path.join(TARGETS, "no_affinity")])
    check(res.rc == 0, "exit status %s\n%s" % (res.rc, res))
    check_truth_stacks(t, stacks_of(only_record(res, t.pid)), exact=True)
    check_none_stopped(t.pid, "no affinity")


def dump_matching_truth(t):
    """One `pscope -s --json` of stacky target t, checked against its truth;
    returns the stacks part."""
    res = run_pscope("-s", "--json", t.pid)
    check(res.rc == 0, "exit status %s\n%s" % (res.rc, res))
    st = stacks_of(only_record(res, t.pid))
    check_truth_stacks(t, st, exact=True)
    return st


def frames_in(st, func):
    return [f for th in st["threads"] for f in th.get("frames", []) if f.get("func") == func]


@test
def stacks_deleted_binary(ctx):
    """A program whose file was deleted after it started (an upgrade under a
    running service): its functions and lines are still named."""
    exe = os.path.join(ctx.tempdir(), "stacky-old")
    shutil.copy(os.path.join(TARGETS, "stacky"), exe)
    t = start_target(ctx, "stacky", "--threads", 3, exe=exe)
    os.unlink(exe)
    lines = frames_in(dump_matching_truth(t), "level1")
    check(lines and all("(deleted)" in f.get("module", "") and f.get("line") for f in lines),
          "level1 frames without module '(deleted)' or a line: %s" % lines[:2])


@test
def stacks_in_other_mount_namespace(ctx):
    """A process in a container sees its own files: its program's path
    here names nothing (or another build), yet its functions are named,
    from its file opened through /proc/PID/root."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        raise Skip("needs root and unshare")
    inside, mountpoint = ctx.tempdir(), ctx.tempdir()
    shutil.copy(os.path.join(TARGETS, "stacky"), inside)
    script = 'mount --bind "$1" "$2" && exec "$2/stacky" --threads 3'
    t = start_target(ctx, "stacky", "--mount", "--propagation", "private",
                     "sh", "-c", script, "sh", inside, mountpoint, exe="unshare")
    check(not os.listdir(mountpoint), "the bind mount leaked out of the namespace")
    dump_matching_truth(t)


@test
def stacks_debug_file_in_the_container(ctx):
    """A program stripped of its debug info, whose debug file is installed
    in its container's /usr/lib/debug only: its frames get file and line."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        raise Skip("needs root and unshare")
    inside, mountpoint, debug = ctx.tempdir(), ctx.tempdir(), ctx.tempdir()
    exe = os.path.join(inside, "stacky")
    subprocess.run(["objcopy", "--only-keep-debug", os.path.join(TARGETS, "stacky"),
                    os.path.join(debug, "stacky.debug")], check=True)
    subprocess.run(["objcopy", "--strip-debug", os.path.join(TARGETS, "stacky"), exe], check=True)
    note = subprocess.run(["readelf", "-n", exe], stdout=subprocess.PIPE, text=True).stdout
    build_id = re.search(r"Build ID: ([0-9a-f]+)", note).group(1)
    # In its own namespace the target sees a /usr/lib/debug holding just
    # its debug file, by build ID; ours stays as it is.
    script = ('mount --bind "$1" "$2" && mount -t tmpfs none /usr/lib/debug && '
              'mkdir -p "/usr/lib/debug/.build-id/$4" && '
              'cp "$3/stacky.debug" "/usr/lib/debug/.build-id/$4/$5.debug" && '
              'exec "$2/stacky" --threads 3')
    t = start_target(ctx, "stacky", "--mount", "--propagation", "private",
                     "sh", "-c", script, "sh", inside, mountpoint, debug,
                     build_id[:2], build_id[2:], exe="unshare")
    level1 = frames_in(dump_matching_truth(t), "level1")
    check(level1 and all(f.get("line") and "stacky.c" in f.get("file", "") for f in level1),
          "level1 frames without file:line from the container's debug file: %s" % level1[:2])


@test
def stacks_fifo_in_place_of_a_file(ctx):
    """Whoever owns a container's files decides what its paths hold: a FIFO
    put where the program's file was must not hang the capture."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        raise Skip("needs root and unshare")
    inside, mountpoint, fifo_dir = ctx.tempdir(), ctx.tempdir(), ctx.tempdir()
    shutil.copy(os.path.join(TARGETS, "stacky"), inside)
    fifo = os.path.join(fifo_dir, "fifo")
    os.mkfifo(fifo)
    # The background shell shares the namespace and, once stacky runs from
    # the bind mount, mounts the FIFO over its file there.
    script = ('mount --bind "$1" "$2" || exit 1; '
              '(sleep 0.3; mount --bind "$3" "$2/stacky") & exec "$2/stacky" --threads 2')
    t = start_target(ctx, "stacky", "--mount", "--propagation", "private",
                     "sh", "-c", script, "sh", inside, mountpoint, fifo, exe="unshare")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        time.sleep(0.1)
        r = subprocess.run(["nsenter", "-t", str(t.pid), "-m", "test", "-p",
                            os.path.join(mountpoint, "stacky")])
        if r.returncode == 0:
            break
    check(r.returncode == 0, "the FIFO never replaced the program's file")
    res = run_pscope("-s", "--json", t.pid, timeout=20)
    check(res.rc == 0, "exit status %s\n%s" % (res.rc, res))
    st = stacks_of(only_record(res, t.pid))
    check(any(f.get("func") == "pthread_cond_wait" for th in st["threads"]
              for f in th.get("frames", [])), "the C library's frames are not named")


class DebuginfodStub:
    """A debuginfod server that has nothing: records each request, 404s."""

    def __init__(self):
        import http.server
        stub = self
        self.paths = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                stub.paths.append(self.path)
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@test
def stacks_debuginfod_only_when_asked(ctx):
    """Debug info not installed here is asked of the servers in
    DEBUGINFOD_URLS only with --debuginfod: Debian sets that variable in
    every login shell, and a server that does not answer held a stack dump
    for 90 s.  Either way the functions are named from the symbol table."""
    exe = os.path.join(ctx.tempdir(), "stacky-nodebug")
    subprocess.run(["objcopy", "--strip-debug", os.path.join(TARGETS, "stacky"), exe],
                   check=True)
    t = start_target(ctx, "stacky", "--threads", 3, exe=exe)
    stub = DebuginfodStub()
    try:
        env = {"DEBUGINFOD_URLS": stub.url, "DEBUGINFOD_CACHE_PATH": ctx.tempdir()}
        for extra, asked in (((), False), (("--debuginfod",), True)):
            del stub.paths[:]
            res = run_pscope("-s", "--json", *extra, t.pid, env=env)
            check(res.rc == 0, "exit status %s\n%s" % (res.rc, res))
            check_truth_stacks(t, stacks_of(only_record(res, t.pid)), exact=True)
            fetched = [p for p in stub.paths if p.startswith("/buildid/")]
            if asked:
                check(fetched, "--debuginfod asked the server nothing")
            else:
                check(not stub.paths, "asked debuginfod without --debuginfod: %s" % stub.paths)
    finally:
        stub.close()


@test
def stacks_main_thread_exited(ctx):
    """The main thread exited while another runs on: that one's stack is
    unwound and named (the process's maps and memory are read through it),
    and the exited one is said to have exited."""
    t = start_target(ctx, "leaderless")
    res = run_pscope("-s", "--json", t.pid)
    check(res.rc == 0, "exit status %s\n%s" % (res.rc, res))
    by_tid = {th["tid"]: th for th in stacks_of(only_record(res, t.pid))["threads"]}
    worker = by_tid.get(t.truth["worker"]) or {}
    check_in_order(func_names(worker), ["worker_park", "worker_main", "start_thread"], True,
                   "worker")
    leader = by_tid.get(t.pid) or {}
    check("exited" in leader.get("error", ""), "main thread: %s" % leader)
    check_none_stopped(t.pid, "leaderless")


@test
def stacks_deep_thread(ctx):
    """A thread 150 calls deep (about 165 KiB of stack): every level in order,
    at the first capture and the next ones, one by one and consistent."""
    t = start_target(ctx, "stacky", "--threads", 2, "--deep", 150)
    deep = t.truth["deep"]
    for mode in ([], ["--consistent"]):
        res = run_pscope("-b", "--json", "-n", 3, "-d", 0.05, "--stacks", *mode, t.pid)
        recs = records_for(res, t.pid)
        check(len(recs) == 3 and res.rc == 0, "expected 3 records, exit 0\n%s" % res)
        for i, rec in enumerate(recs):
            th = {x["tid"]: x for x in stacks_of(rec)["threads"]}.get(deep["tid"])
            what = "deep thread, capture %d %s" % (i + 1, mode)
            check(th is not None and "error" not in th, "%s: %s" % (what, th))
            names = func_names(th)
            check(names.count("deep_recurse") == deep["levels"], "%s: %d deep_recurse frames, "
                  "expected %d: %s" % (what, names.count("deep_recurse"), deep["levels"], names))
            check_in_order(names, ["deep_park"] + ["deep_recurse"] * deep["levels"]
                           + ["deep_main", "start_thread"], True, what)
    check_none_stopped(t.pid, "deep")


SYS_tgkill = 234   # x86-64


def send_signals(pid, tids, stop, sent):
    """Queue real-time signals (never merged, so each one counts) until stop
    is set: to the process, and to the parked threads themselves, which is
    what can catch one of them between PTRACE_SEIZE and its stop (a
    signal-delivery-stop, whose signal pscope must hand back)."""
    libc = ctypes.CDLL(None, use_errno=True)
    targets = [None] + tids
    while not stop.is_set():
        tid = targets[sent[0] % len(targets)]
        if tid is None:
            rc = 0
            try:
                os.kill(pid, signal.SIGRTMIN + 1)
            except OSError:
                rc = -1
        else:
            rc = libc.syscall(SYS_tgkill, pid, tid, signal.SIGRTMIN + 1)
        if rc < 0:
            return
        sent[0] += 1
        if sent[0] % 4 == 0:
            time.sleep(0.0002)


@test
def stacks_signals_not_lost(ctx):
    """Signals sent during 20 captures all reach the target's handler."""
    t = start_target(ctx, "stacky", "--threads", 2)
    stop, sent = threading.Event(), [0]
    tids = [th["tid"] for th in t.truth["threads"]]
    sender = threading.Thread(target=send_signals, args=(t.pid, tids, stop, sent))
    sender.start()
    try:
        res = run_pscope("-b", "--json", "-n", 20, "-d", 0.01, "--stacks", t.pid, timeout=60)
    finally:
        stop.set()
        sender.join()
    recs = records_for(res, t.pid)
    check(len(recs) == 20, "expected 20 records\n%s" % res)
    check(all("stacks" in r for r in recs), "a capture failed: %s"
          % [r.get("unreadable_why") for r in recs if "stacks" not in r])
    check(sent[0] > 100, "only %d signals sent" % sent[0])
    deadline = time.monotonic() + 10
    got = None
    while time.monotonic() < deadline:
        time.sleep(0.2)   # let queued signals drain
        os.kill(t.pid, signal.SIGUSR1)
        got = t.next_truth()["signals"]
        if got == sent[0]:
            break
    check(got == sent[0], "target received %s signals, %d were sent (handed back: %d)"
          % (got, sent[0], sum(r["stacks"]["signals_redelivered"] for r in recs)))
    check_none_stopped(t.pid, "signals")


@test
def stacks_sigkill_safety(ctx):
    """pscope SIGKILLed at random moments of captures, 30 times: the target's
    threads always run on (none in tracing stop)."""
    t = start_target(ctx, "stacky", "--threads", 50)
    rng = random.Random(4)
    for i in range(30):
        args = ["-b", "--json", "-d", "0.01", "--stacks"]
        if i % 3 == 2:
            args.append("--consistent")
        with streaming_pscope(*(args + [t.pid])) as (proc, reader):
            time.sleep(rng.uniform(0.01, 0.3))
            proc.kill()
            proc.wait(timeout=10)
        check(t.proc.poll() is None, "target died after kill %d" % i)
        check_none_stopped(t.pid, "after SIGKILL %d" % i)


@test
def stacks_thread_churn(ctx):
    """Threads born and dying without pause during captures: no hang, no
    crash, the parked threads still captured right."""
    t = start_target(ctx, "stacky", "--threads", 6, "--churn")
    res = run_pscope("-b", "--json", "-n", 20, "-d", 0.02, "--stacks", t.pid, timeout=60)
    recs = records_for(res, t.pid)
    check(len(recs) == 20, "expected 20 records\n%s" % res)
    for rec in recs:
        check_truth_stacks(t, stacks_of(rec), exact=True)
    check(t.proc.poll() is None, "target died")
    check_none_stopped(t.pid, "churn")


@test
def stacks_did_not_stop_in_time(ctx):
    """A thread in an uninterruptible wait (a vfork parent) is reported, the
    capture ends, and the thread is not left stopped."""
    t = start_target(ctx, "stacky", "--threads", 2, "--vfork", 3)   # ready: it waits
    res = run_pscope("-b", "--json", "-n", 1, "--stacks", t.pid)
    rec = only_record(res, t.pid)
    st = stacks_of(rec)
    vf = [x for x in st["threads"] if x["name"] == "stk-vfork"]
    check(vf and "did not stop in time" in vf[0].get("error", ""),
          "vfork thread not reported as not stopped: %s" % vf)
    check(st["not_stopped"] == 1, "not_stopped is %s" % st["not_stopped"])
    check_truth_stacks(t, st, exact=True)
    time.sleep(3.5)   # the child exits: the vfork parent runs again
    check_none_stopped(t.pid, "vfork")


@test
def stacks_straggler_released_between_samples(ctx):
    """A thread that did not stop in time, and stops later while pscope
    waits for its next sample, is released then, not at the next sample."""
    t = start_target(ctx, "stacky", "--threads", 2, "--vfork", 2)
    with streaming_pscope("-b", "--json", "-d", 60, "-n", 2,
                          "--stacks", t.pid) as (proc, out):
        line = out.readline(RUN_TIMEOUT)
        check(line is not None, "pscope printed no first record")
        st = stacks_of(json.loads(line))
        check(st["not_stopped"] == 1, "the vfork thread stopped in time: %s" % st["not_stopped"])
        time.sleep(3)   # the vfork child exits; pscope sleeps until its next sample
        check(proc.poll() is None, "pscope exited early")
        check_none_stopped(t.pid, "between samples")


@test
def stacks_already_traced(ctx):
    """A target under gdb: a clear error naming gdb and its pid."""
    if not shutil.which("gdb"):
        raise Skip("gdb missing")
    t = start_target(ctx, "stacky", "--threads", 2)
    gdb = subprocess.Popen(["gdb", "-nx", "-q", "-p", str(t.pid), "-batch",
                            "-ex", "shell sleep 5"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with open("/proc/%d/status" % t.pid) as f:
                tracer = int(re.search(r"TracerPid:\s*(\d+)", f.read()).group(1))
            if tracer:
                break
            time.sleep(0.05)
        check(tracer == gdb.pid, "TracerPid %d, gdb is %d" % (tracer, gdb.pid))
        res = run_pscope("-b", "--json", "-n", 1, "--stacks", t.pid)
        rec = only_record(res, t.pid)
        check(res.rc == 1, "exit status %s, expected 1 (partial)\n%s" % (res.rc, res))
        check("stacks" in unreadable(rec), "stacks not unreadable\n%s" % res)
        why = rec["unreadable_why"]["stacks"]
        check(why == "already traced by gdb (pid %d)" % gdb.pid, "unreadable_why.stacks %r" % why)
    finally:
        try:
            gdb.wait(timeout=30)   # gdb detaches when its batch ends
        except subprocess.TimeoutExpired:
            gdb.terminate()
            gdb.wait(timeout=10)


@test
def stacks_no_ptrace(ctx):
    """--no-ptrace: pscope makes no ptrace call at all (strace shows none),
    and --stacks with it is a usage error."""
    if not shutil.which("strace"):
        raise Skip("strace missing")
    t = start_target(ctx, "stacky", "--threads", 3)
    log = os.path.join(ctx.tempdir(), "strace.log")

    # LeakSanitizer cannot run under a tracer: off for a sanitizer build.
    env = dict(os.environ, ASAN_OPTIONS=(os.environ.get("ASAN_OPTIONS", "") +
                                         ":detect_leaks=0").lstrip(":"))

    def ptrace_calls(*args):
        p = subprocess.run(["strace", "-f", "-qq", "-e", "trace=ptrace", "-o", log, PSCOPE,
                            "-b", "--json", "-n", "2", "-d", "0.1"] + list(args) + [str(t.pid)],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60, env=env)
        check(p.returncode == 0, "pscope %s under strace: exit %d %r"
              % (args, p.returncode, p.stderr[:500]))
        with open(log) as f:
            return [l for l in f if "ptrace(" in l]

    calls = ptrace_calls("--no-ptrace")
    check(not calls, "ptrace calls with --no-ptrace: %s" % calls[:5])
    # The control: the same strace does see the calls of a capture.
    calls = ptrace_calls("--stacks")
    check(any("PTRACE_SEIZE" in l for l in calls), "strace saw no PTRACE_SEIZE with --stacks")
    res = run_pscope("-b", "-n", 1, "--stacks", "--no-ptrace", t.pid)
    check(res.rc == 64, "--stacks --no-ptrace: exit %s, expected 64\n%s" % (res.rc, res))
    check_none_stopped(t.pid, "no-ptrace")


@test
def stacks_zombie(ctx):
    """A zombie has no stacks: said in one word, no hang."""
    z = start_target(ctx, "zombie")
    child = z.truth["child"]
    res = run_pscope("-b", "--json", "-n", 1, "--stacks", child)
    rec = only_record(res, child)
    check("stacks" in unreadable(rec), "stacks not unreadable for a zombie\n%s" % res)
    why = rec["unreadable_why"]["stacks"]
    check("zombie" in why, "unreadable_why.stacks %r does not say zombie" % why)


@test
def stacks_permission_other_user(ctx):
    """As nobody against root's process: stacks unreadable, and says why."""
    need_root_and_setpriv()
    pscope_for_nobody()
    t = start_target(ctx, "stacky", "--threads", 2)
    res = run_pscope("-b", "--json", "-n", 1, "--stacks", t.pid, user=NOBODY)
    rec = only_record(res, t.pid)
    check("stacks" in unreadable(rec), "stacks not unreadable\n%s" % res)
    why = rec["unreadable_why"]["stacks"]
    check(re.search(r"CAP_SYS_PTRACE|uid", why), "unreadable_why.stacks %r does not say why" % why)
    check_none_stopped(t.pid, "other user")


def mover_function(rec):
    th = [t for t in stacks_of(rec)["threads"] if t["name"] == "stk-mover"]
    check(th and "frames" in th[0], "mover thread not captured: %s" % th)
    names = func_names(th[0])
    found = [n for n in ("mover_even", "mover_odd") if n in names]
    check(len(found) == 1, "mover stack names %s" % names)
    return found[0]


@test
def stacks_follow_a_moved_thread(ctx):
    """Repeated captures in one pscope: a thread that moved to another
    function with the same frame (same registers, another return address)
    shows where it is now, never a remembered stack."""
    t = start_target(ctx, "stacky", "--threads", 2, "--mover")
    with streaming_pscope("-b", "--json", "-d", "0.1", "--stacks", t.pid) as (proc, reader):
        line = reader.readline(10)
        check(line is not None, "no first record")
        check(mover_function(json.loads(line)) == "mover_even", "mover not in mover_even first")
        for _ in range(4):
            os.kill(t.pid, signal.SIGUSR2)
            moved = t.next_truth()
            since = time.time()
            deadline = time.monotonic() + 10
            while True:
                line = reader.readline(max(0.1, deadline - time.monotonic()))
                check(line is not None, "no record after phase %d" % moved["phase"])
                rec = json.loads(line)
                if rec["stacks"]["captured_at"] > since:
                    break
            got = mover_function(rec)
            check(got == moved["mover_in"], "phase %d: stack shows %s, the thread waits in %s"
                  % (moved["phase"], got, moved["mover_in"]))
    check_none_stopped(t.pid, "mover")


@test
def stacks_same_place_other_callers(ctx):
    """Threads stopped at the same instruction (all in pthread_cond_wait)
    but called from different functions: each shows its own callers, at
    the first capture and at later ones, where one thread's unwind may be
    reused for another's only if their stacks match."""
    t = start_target(ctx, "stacky", "--threads", 12, "--mover", "--deep", 3, "--twins")
    truth = t.truth
    os.kill(t.pid, signal.SIGWINCH)
    check(t.next_truth().get("leaked") == 5, "no leaked threads")
    t.truth = truth
    want = {"stk-leak": "leak_park", "stk-mover": "mover_even", "stk-deep": "deep_park",
            "stk-twin-a": "twin_a", "stk-twin-b": "twin_b"}
    res = run_pscope("-b", "--json", "-n", 3, "-d", 0.05, "--stacks", t.pid)
    recs = records_for(res, t.pid)
    check(len(recs) == 3, "expected 3 records\n%s" % res)
    for i, rec in enumerate(recs):
        st = stacks_of(rec)
        check_truth_stacks(t, st, exact=True)
        for th in st["threads"]:
            names = func_names(th)
            if th["name"] in want:
                check(want[th["name"]] in names and "level1" not in names and
                      not ("twin_a" in names and "twin_b" in names),
                      "capture %d: %s (%d) shows %s" % (i + 1, th["name"], th["tid"], names))
    check_none_stopped(t.pid, "same place")


@test
def stacks_straggler_released(ctx):
    """A thread that did not stop in time is released at a later capture of
    the same pscope once its wait ends, and captured normally again."""
    t = start_target(ctx, "stacky", "--threads", 1, "--vfork", 2)
    seen = []
    with streaming_pscope("-b", "--json", "-d", "0.3", "--stacks", t.pid) as (proc, reader):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            line = reader.readline(max(0.1, deadline - time.monotonic()))
            check(line is not None, "pscope stopped printing records")
            vf = [x for x in stacks_of(json.loads(line))["threads"] if x["name"] == "stk-vfork"]
            check(len(vf) == 1, "vfork thread missing: %s" % vf)
            seen.append("error" if "error" in vf[0] else "frames")
            if seen[-1] == "frames":
                check_in_order(func_names(vf[0]), ["vfork_main", "start_thread"], True, "vfork")
                break
        check(seen[0] == "error" and seen[-1] == "frames",
              "vfork thread never reported, then captured: %s" % seen)
        check_none_stopped(t.pid, "straggler, pscope still running")


@test
def stacks_diff_since_mark(ctx):
    """After the mark (SIGUSR1 to pscope), 5 new threads parked in one place
    show as a group that is new since the mark, 5 more than before."""
    t = start_target(ctx, "stacky", "--threads", 3)
    with streaming_pscope("-b", "--json", "-d", "0.1", "--stacks", t.pid) as (proc, reader):
        first = reader.readline(10)
        check(first is not None, "no first record")
        st = stacks_of(json.loads(first))
        check(st.get("since") == "attach" and all(g["delta"] == 0 and not g["new"]
                                                  for g in st["groups"]),
              "first capture not compared with itself: %s" % st.get("groups"))
        os.kill(proc.pid, signal.SIGUSR1)
        time.sleep(0.5)   # a few captures: the mark is set
        os.kill(t.pid, signal.SIGWINCH)
        leaked = t.next_truth()
        check(leaked.get("leaked") == 5, "target did not leak 5 threads: %s" % leaked)
        since = time.time()
        deadline = time.monotonic() + 10
        while True:
            line = reader.readline(max(0.1, deadline - time.monotonic()))
            check(line is not None, "no record after the leak")
            st = stacks_of(json.loads(line))
            if st["captured_at"] > since:
                break
    check(st.get("since") == "mark", "since is %r" % st.get("since"))
    leak = [g for g in st["groups"] if "leak_park" in [f.get("func") for f in g["frames"]]]
    check(len(leak) == 1, "no single leak_park group: %s" % [g["count"] for g in st["groups"]])
    check(leak[0]["count"] == 5 and leak[0]["delta"] == 5 and leak[0]["new"] is True,
          "leak group: count %s delta %s new %s" % (leak[0]["count"], leak[0]["delta"],
                                                    leak[0]["new"]))
    others = [g for g in st["groups"] if g is not leak[0]]
    check(all(g["delta"] == 0 and not g["new"] for g in others),
          "unchanged groups changed: %s" % [(g["count"], g["delta"], g["new"]) for g in others])

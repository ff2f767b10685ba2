# The Go plugin (plugins/go) against tests/go/leaky, built normally and with
# -ldflags='-s -w'.  Exec'd by run.py: uses its test, start_target,
# run_pscope, check, dig and Skip.
#
# goleaky leaks goroutines in three kinds of bursts, then holds still and
# prints runtime.NumGoroutine() and ReadMemStats as one JSON line at start,
# on SIGUSR1, and after one more burst on SIGUSR2.  While it holds still
# pscope's numbers must equal its own.

GO_LEAKS = ["--chan", 20, "--select", 10, "--sleep", 5, "--bursts", 3]
# (wait reason, first user function, creator) of each leaked kind, and the
# key of its per-kind count in the target's line.
GO_GROUPS = [("chan receive", "main.leakChan", "main.burstChan", "chan"),
             ("select", "main.leakSelect", "main.burstSelect", "select"),
             ("sleep", "main.leakSleep", "main.burstSleep", "sleep")]


def go_target(ctx, name):
    exe = os.path.join(TARGETS, name)
    if not os.path.exists(exe):
        raise Skip("%s not built (no Go toolchain?)" % exe)
    return start_target(ctx, name, *GO_LEAKS)


def go_plugin_dir():
    """The plugins of this build tree, named explicitly so that a plugin
    installed elsewhere cannot stand in for the one under test."""
    d = os.path.join(os.path.dirname(TARGETS), "plugins")
    if not os.path.exists(os.path.join(d, "go.so")):
        raise Skip("build/plugins/go.so not built")
    return d


def go_record(t):
    res = run_pscope("--plugin-dir", go_plugin_dir(), "-b", "--json", "-n", 1, t.pid)
    check(res.rc == 0, "exit status %s\n%s" % (res.rc, res))
    rec = only_record(res, t.pid)
    go = dig(rec, "plugins.go")
    return go, res


def go_close(got, want, rel, what):
    check(isinstance(got, (int, float)) and abs(got - want) <= rel * want,
          "%s is %s, the target says %s (allowed +-%d%%)" % (what, got, want, rel * 100))


def go_check_snapshot(go, truth, stripped):
    why = go.get("why", "")
    check(go.get("goroutines") == truth["goroutines"],
          "goroutines %s != runtime.NumGoroutine() %s (why: %s)"
          % (go.get("goroutines"), truth["goroutines"], why))
    check(go.get("gc_count") == truth["num_gc"],
          "gc_count %s != NumGC %s (why: %s)" % (go.get("gc_count"), truth["num_gc"], why))
    # Read from outside, the counters lag what per-P caches hold (the man
    # page says so); and the target allocates a little to print its line.
    go_close(go.get("heap_inuse_bytes"), truth["heap_inuse"], 0.05, "heap_inuse_bytes")
    go_close(go.get("total_alloc_bytes"), truth["total_alloc"], 0.05, "total_alloc_bytes")
    go_close(go.get("next_gc_bytes"), truth["next_gc"], 0.02, "next_gc_bytes")
    go_close(go.get("heap_live_bytes"), truth["heap_alloc"], 0.10, "heap_live_bytes")

    build = dig(go, "build")
    check(len(build) == 1 and build[0]["go_version"] == truth["go_version"]
          and build[0]["module"] == "pscope.test/leaky"
          and build[0]["stripped"] == ("yes" if stripped else "no"),
          "build table %s, expected %s, module pscope.test/leaky" % (build, truth["go_version"]))

    by_reason = dig(go, "by_wait_reason")
    check(isinstance(by_reason, dict), "by_wait_reason is not an object: %r" % (by_reason,))
    check(sum(by_reason.values()) == truth["goroutines"],
          "by_wait_reason %s does not add up to %s" % (by_reason, truth["goroutines"]))
    groups = {(g["state"], g["function"], g["creator"]): g["count"] for g in dig(go, "groups")}
    for state, func, creator, key in GO_GROUPS:
        check(groups.get((state, func, creator)) == truth[key],
              "group [%s] %s created by %s: %s goroutines, expected %s; groups: %s"
              % (state, func, creator, groups.get((state, func, creator)), truth[key],
                 dig(go, "groups")))
        check(by_reason.get(state, 0) >= truth[key],
              "by_wait_reason[%s] is %s, below the %s leaked" % (state, by_reason.get(state),
                                                                truth[key]))


def go_leak_then_check(ctx, name, stripped):
    t = go_target(ctx, name)
    go, _ = go_record(t)
    go_check_snapshot(go, t.truth, stripped)
    # One more burst of each kind: the leaked groups grow by exactly that.
    before = t.truth
    os.kill(t.pid, signal.SIGUSR2)
    after = t.next_truth()
    burst = sum(GO_LEAKS[1:6:2])
    check(after["goroutines"] == before["goroutines"] + burst,
          "the target leaked %s, not %s" % (after["goroutines"] - before["goroutines"], burst))
    go, _ = go_record(t)
    go_check_snapshot(go, after, stripped)


@test
def go_plugin_matches_runtime(ctx):
    """Go plugin: goroutines, wait reasons, groups and GC equal the target's own view."""
    go_leak_then_check(ctx, "goleaky", False)


@test
def go_plugin_stripped(ctx):
    """Go plugin on a -s -w build: the same exact numbers, without symbols or DWARF."""
    go_leak_then_check(ctx, "goleaky-stripped", True)


@test
def go_plugin_declines_non_go(ctx):
    """Go plugin: a C program is not Go; the plugin says so and adds nothing."""
    t = start_truth(ctx)
    res = run_pscope("--plugin-dir", go_plugin_dir(), "-b", "--json", "-n", 1, t.pid)
    rec = only_record(res, t.pid)
    check("go" not in (rec.get("plugins") or {}),
          "plugins.go present for a C program: %s" % json.dumps(rec.get("plugins"))[:500])
    declined = dig(rec, "plugins_declined")
    check("Go" in declined.get("go", ""),
          "plugins_declined.go does not say why: %s" % declined)


@test
def go_plugin_degrades_visibly(ctx):
    """Go plugin: a stripped build it has no GC table for still counts goroutines
    exactly, and leaves the GC metrics null with a reason instead of guessing."""
    src = os.path.join(TARGETS, "goleaky-stripped")
    if not os.path.exists(src):
        raise Skip("%s not built (no Go toolchain?)" % src)
    with open(src, "rb") as f:
        data = bytearray(f.read())
    # Claim go1.99 in the build info (the runtime is what it is): a release
    # the offset table does not list.  Layouts read from the binary itself
    # still work.
    at = data.find(b"\xff Go buildinf:")
    check(at >= 0 and data[at + 33:at + 37] == b"go1." and data[at + 37:at + 39].isdigit(),
          "no go1.NN build info in %s" % src)
    data[at + 37:at + 39] = b"99"
    exe = os.path.join(ctx.tempdir(), "goleaky-oldinfo")
    with open(exe, "wb") as f:
        f.write(data)
    os.chmod(exe, 0o755)
    t = start_target(ctx, None, *GO_LEAKS, exe=exe)
    go, _ = go_record(t)
    check(go.get("goroutines") == t.truth["goroutines"],
          "goroutines %s != runtime.NumGoroutine() %s (why: %s)"
          % (go.get("goroutines"), t.truth["goroutines"], go.get("why")))
    for key in ("gc_count", "heap_live_bytes", "heap_inuse_bytes", "next_gc_bytes",
                "total_alloc_bytes"):
        check(go.get(key) is None, "%s is %s with no GC table for the version" % (key, go[key]))
        check(key in go.get("metric_why", {}), "metric_why lacks %s: %s" % (key, go))
    check("GC" in go.get("why", ""), "why does not name the GC stats: %r" % go.get("why"))


def go_toolchains():
    """Go toolchains as Debian's golang-1.NN-go packages install them:
    {"1.22": "/usr/lib/go-1.22/bin/go"}."""
    found = {}
    for d in sorted(glob.glob("/usr/lib/go-1.*")):
        go = os.path.join(d, "bin", "go")
        if os.access(go, os.X_OK):
            found[os.path.basename(d)[3:]] = go
    return found


def go_build_leaky(go, version, stripped):
    """Builds tests/go/leaky with toolchain go into build/targets/go-versions
    (offline, caches under build/); returns the binary's path."""
    top = os.path.dirname(os.path.dirname(TARGETS))
    out = os.path.join(TARGETS, "go-versions",
                       "goleaky-%s%s" % (version, "-stripped" if stripped else ""))
    env = dict(os.environ, GOCACHE=os.path.join(top, "build", "go-cache-" + version),
               GOPATH=os.path.join(top, "build", "go-path"), GOTOOLCHAIN="local",
               GOFLAGS="", GOPROXY="off")
    cmd = [go, "build", "-o", out] + (["-ldflags=-s -w"] if stripped else []) + ["."]
    try:
        p = subprocess.run(cmd, cwd=os.path.join(top, "tests", "go", "leaky"), env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
    except subprocess.TimeoutExpired:
        raise Fail("`%s` took over 600 s" % " ".join(cmd))
    check(p.returncode == 0, "`%s` failed: %s" % (" ".join(cmd), p.stdout[-2000:]))
    return out


@test
def go_plugin_other_go_versions(ctx):
    """Go plugin: the same exact numbers with every Go release installed as
    golang-1.NN-go, built normally and stripped."""
    chains = go_toolchains()
    if not chains:
        raise Skip("no golang-1.NN-go toolchain installed")
    for version, go in chains.items():
        for stripped in (False, True):
            exe = go_build_leaky(go, version, stripped)
            t = start_target(ctx, None, *GO_LEAKS, exe=exe)
            got, _ = go_record(t)
            try:
                go_check_snapshot(got, t.truth, stripped)
            except Fail as e:
                raise Fail("Go %s%s: %s" % (version, " stripped" if stripped else "", e))
            t.stop()


@test
def go_groups_grow_since_mark(ctx):
    """After the mark, one more burst: each leaked group says it grew by
    exactly its share of the burst, by_wait_reason's changes add up, and
    the goroutine count's delta is the burst."""
    t = go_target(ctx, "goleaky")
    with streaming_pscope("--plugin-dir", go_plugin_dir(), "-b", "--json", "-d", 0.3,
                          t.pid) as (proc, out):
        check(out.readline(RUN_TIMEOUT) is not None, "no first record")
        proc.send_signal(signal.SIGUSR1)       # the mark
        for _ in range(5):                     # a record taken after the mark
            rec = json.loads(out.readline(RUN_TIMEOUT) or "{}")
            if dig(rec, "plugins.go.delta.since") == "mark":
                break
        check(dig(rec, "plugins.go.delta.since") == "mark", "the mark did not take")
        os.kill(t.pid, signal.SIGUSR2)         # one more burst of each kind
        after = t.next_truth()
        burst = sum(GO_LEAKS[1:6:2])
        go = None
        for _ in range(40):
            rec = json.loads(out.readline(RUN_TIMEOUT) or "{}")
            go = dig(rec, "plugins.go")
            if go.get("goroutines") == after["goroutines"]:
                break
        check(go.get("goroutines") == after["goroutines"], "pscope never saw the burst")
        check(dig(go, "delta.goroutines") == burst,
              "goroutines delta %s, the burst was %s" % (dig(go, "delta.goroutines"), burst))
        deltas = {(g["state"], g["function"], g["creator"]): g.get("delta")
                  for g in dig(go, "groups")}
        share = dict(zip(["chan", "select", "sleep"], GO_LEAKS[1:6:2]))
        for state, func, creator, key in GO_GROUPS:
            check(deltas.get((state, func, creator)) == share[key],
                  "group [%s] %s grew by %s since the mark, expected %s"
                  % (state, func, deltas.get((state, func, creator)), share[key]))
        reason_deltas = dig(go, "delta.by_wait_reason")
        check(sum(v for v in reason_deltas.values()) == burst,
              "by_wait_reason changes %s do not add up to %s" % (reason_deltas, burst))

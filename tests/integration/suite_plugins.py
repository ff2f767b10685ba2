# Plugins (issue 5): loading, the security rule, the ABI check, --list-plugins,
# --no-plugins, and the cgroup plugin's numbers against the files it reads.
# Exec'd inside run.py: uses its @test, start_target, run_pscope, check, Skip.
#
# Plugin directories are made under the build tree, wherever it is; one test
# checks the rule for sticky directories such as /tmp on its own.


def plugin_build_dirs():
    """build/plugins and build/test-plugins, found from the pscope binary the
    way pscope finds them (next to ./pscope or one level above build/X/)."""
    bindir = os.path.dirname(PSCOPE)
    for base in (os.path.join(bindir, "build"), os.path.join(bindir, "..")):
        plugins = os.path.realpath(os.path.join(base, "plugins"))
        if os.path.exists(os.path.join(plugins, "cgroup.so")):
            return plugins, os.path.realpath(os.path.join(base, "test-plugins"))
    raise Fail("build/plugins/cgroup.so not found near %s: build the plugins first" % PSCOPE)


def plugin_tempdir(ctx, mode=0o755):
    """A fresh directory beside build/plugins, removed when the test ends."""
    plugins, _ = plugin_build_dirs()
    d = tempfile.mkdtemp(prefix="pscope-it-plugins-", dir=os.path.dirname(plugins))
    os.chmod(d, mode)
    ctx.dirs.append(d)
    return d


def copy_plugin(src, dirpath, mode=0o644):
    dst = os.path.join(dirpath, os.path.basename(src))
    shutil.copyfile(src, dst)
    os.chmod(dst, mode)
    return dst


def start_plugin_target(ctx):
    return start_target(ctx, "small", "--lifetime", 120)


# ----------------------------------------------------- cgroup ground truth

def cgroup_dir_of(pid):
    """The target's cgroup v2 directory as pscope should find it, or None
    with the reason (v1 only, no cgroup2 mount)."""
    with open("/proc/%d/cgroup" % pid) as f:
        lines = f.read().splitlines()
    v2 = [l.split(":", 2)[2] for l in lines if l.startswith("0::")]
    if not v2:
        return None, "v1"
    with open("/proc/%d/mountinfo" % pid) as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            if post.split()[0] != "cgroup2":
                continue
            fields = pre.split()
            root, mnt = fields[3], fields[4].replace("\\040", " ")
            rel = v2[0]
            if root != "/":
                rel = rel[len(root):]
            return (mnt.rstrip("/") + rel).rstrip("/") or "/", None
    return None, "no cgroup2 mount"


def read_cgroup_file(d, name):
    try:
        with open(os.path.join(d, name)) as f:
            return f.read()
    except OSError:
        return None


def keyed(text, key):
    for line in (text or "").splitlines():
        k, _, v = line.partition(" ")
        if k == key:
            return float(v)
    return None


def check_limit(cg, metric, text):
    """memory.max-like: 'max' is null with the note "no limit"."""
    value = cg[metric]
    why = cg.get("metric_why", {}).get(metric)
    if text is None:
        check(value is None and why, "%s: file absent, yet value %r, why %r" % (metric, value, why))
    elif text.strip() == "max":
        check(value is None and why == "no limit",
              "%s: file says max, plugin says %r (%r)" % (metric, value, why))
    else:
        check(value == int(text), "%s: file says %s, plugin says %r" % (metric, text.strip(), value))


def check_counter(cg, metric, before, after):
    """A counter read between two reads of its file lies between them."""
    value = cg[metric]
    if before is None or after is None:
        check(value is None and cg.get("metric_why", {}).get(metric),
              "%s: not in the file, yet value %r and no reason" % (metric, value))
    else:
        check(value is not None and before <= value <= after,
              "%s: %r not within the file's %r..%r" % (metric, value, before, after))


@test
def plugin_cgroup_matches_files(ctx):
    """cgroup metrics in batch JSON equal the files under the cgroup2 mount."""
    plugin_build_dirs()
    t = start_plugin_target(ctx)
    d, why_not = cgroup_dir_of(t.pid)
    if d is None:
        res = run_pscope("-b", "--json", "-n", 1, t.pid)
        rec = only_record(res, t.pid)
        declined = dig(rec, "plugins_declined.cgroup")
        check("v1" in declined or "cgroup2" in declined,
              "cgroup v2 absent (%s), the reason says %r" % (why_not, declined))
        return
    files = ("memory.events", "cpu.stat")
    before = {n: read_cgroup_file(d, n) for n in files}
    res = run_pscope("-b", "--json", "-n", 2, "-d", 0.2, t.pid)
    after = {n: read_cgroup_file(d, n) for n in files}
    check(res.rc in (0, 1), "exit status %s\n%s" % (res.rc, res))
    recs = records_for(res, t.pid)
    check(len(recs) == 2, "expected 2 records\n%s" % res)
    cg = dig(recs[-1], "plugins.cgroup")

    for metric, name in (("memory_max", "memory.max"), ("memory_high", "memory.high"),
                         ("pids_max", "pids.max")):
        check_limit(cg, metric, read_cgroup_file(d, name))
    for metric, key in (("oom", "oom"), ("oom_kill", "oom_kill")):
        check_counter(cg, metric, keyed(before["memory.events"], key),
                      keyed(after["memory.events"], key))
    for metric, key in (("cpu_nr_throttled", "nr_throttled"),
                        ("cpu_throttled_usec", "throttled_usec")):
        check_counter(cg, metric, keyed(before["cpu.stat"], key), keyed(after["cpu.stat"], key))
    if read_cgroup_file(d, "memory.current") is not None:
        check(cg["memory_current"] and cg["memory_current"] > 0,
              "memory_current %r with memory.current present" % cg["memory_current"])
    if read_cgroup_file(d, "pids.current") is not None:
        check(cg["pids_current"] and cg["pids_current"] >= 11,   # small has 11 threads
              "pids_current %r, the target alone has 11 tasks" % cg["pids_current"])
    pressure = read_cgroup_file(d, "memory.pressure")
    if pressure is None:
        check(cg["memory_pressure_some_avg10"] is None, "pressure without memory.pressure")
    else:
        check(isinstance(cg["memory_pressure_some_avg10"], (int, float)),
              "memory.pressure is there, the plugin says %r" % cg["memory_pressure_some_avg10"])

    # The table lists the files with their raw contents; the values are in
    # history too, so growth and delta come with them.
    rows = {r["file"]: r for r in cg["files"]}
    check(rows.get("(cgroup)", {}).get("value") == cgroup_path_of(t.pid),
          "table row (cgroup) is %r" % rows.get("(cgroup)"))
    max_text = read_cgroup_file(d, "memory.max")
    check(rows["memory.max"]["value"] == (max_text.strip() if max_text else None),
          "table memory.max %r, file %r" % (rows["memory.max"], max_text))
    check("memory_current_per_min" in cg["growth"] and "oom_kill" in cg["delta"],
          "growth/delta lack the plugin's metrics: %s" % json.dumps(cg)[:600])

    text = run_pscope("-b", "-n", 1, t.pid)
    check("  cgroup:" in text.out.decode(), "text mode has no cgroup section\n%s" % text)


def cgroup_path_of(pid):
    with open("/proc/%d/cgroup" % pid) as f:
        for line in f:
            if line.startswith("0::"):
                return line[3:].rstrip("\n")
    return None


@test
def plugin_cgroup_limits(ctx):
    """A cgroup with memory.max and pids.max: the plugin shows both and how
    close memory is to the limit.  Needs root and a v2 hierarchy whose root
    already delegates memory and pids (nothing here changes that)."""
    plugin_build_dirs()
    if os.geteuid() != 0:
        raise Skip("needs root to create a cgroup")
    t = start_plugin_target(ctx)
    d, _ = cgroup_dir_of(1)
    if d is None or cgroup_path_of(1) != "/":
        raise Skip("no cgroup v2 root reachable from here")
    control = (read_cgroup_file(d, "cgroup.subtree_control") or "").split()
    if "memory" not in control or "pids" not in control:
        raise Skip("the cgroup v2 root does not delegate memory and pids (%s)" % control)
    child = os.path.join(d, "pscope-it-%d" % t.pid)
    os.mkdir(child)
    try:
        with open(os.path.join(child, "memory.max"), "w") as f:
            f.write("268435456")
        with open(os.path.join(child, "pids.max"), "w") as f:
            f.write("50")
        with open(os.path.join(child, "cgroup.procs"), "w") as f:
            f.write(str(t.pid))
        rec = only_record(run_pscope("-b", "--json", "-n", 1, t.pid), t.pid)
        cg = dig(rec, "plugins.cgroup")
        check(cg["memory_max"] == 268435456 and cg["pids_max"] == 50,
              "limits read as %r / %r" % (cg["memory_max"], cg["pids_max"]))
        check(cg["pids_current"] == 11, "pids_current %r, the target has 11 tasks"
              % cg["pids_current"])
        pct = 100.0 * cg["memory_current"] / cg["memory_max"]
        check(abs(cg["memory_max_pct"] - pct) < 0.01, "memory_max_pct %r, expected %.3f"
              % (cg["memory_max_pct"], pct))
    finally:
        t.stop()
        for _ in range(50):   # the cgroup empties once the target is reaped
            try:
                os.rmdir(child)
                break
            except OSError:
                time.sleep(0.1)


@test
def plugin_bad_abi_refused(ctx):
    """A plugin built for another ABI version is refused by name; pscope runs on."""
    plugins, test_plugins = plugin_build_dirs()
    bad = os.path.join(test_plugins, "bad_abi.so")
    check(os.path.exists(bad), "%s not built" % bad)
    d = plugin_tempdir(ctx)
    copy = copy_plugin(bad, d)
    t = start_plugin_target(ctx)
    res = run_pscope("-b", "--json", "-n", 1, "--plugin-dir", d, t.pid)
    check(res.rc == 0, "exit status %s\n%s" % (res.rc, res))
    refusals = [l for l in res.err_lines if copy in l and "refused" in l]
    check(refusals and "ABI version" in refusals[0],
          "no refusal naming the ABI version\n%s" % res)
    rec = only_record(res, t.pid)
    check("cgroup" in rec.get("plugins", {}) or "cgroup" in rec.get("plugins_declined", {}),
          "the good plugins did not run alongside: %s" % json.dumps(rec)[:600])


@test
def plugin_world_writable_refused(ctx):
    """A good plugin in a directory others can write to, or itself writable
    by others, is refused with the reason."""
    plugins, _ = plugin_build_dirs()
    open_dir = plugin_tempdir(ctx, 0o777)
    copy_plugin(os.path.join(plugins, "cgroup.so"), open_dir)
    safe_dir = plugin_tempdir(ctx)
    open_file = copy_plugin(os.path.join(plugins, "cgroup.so"), safe_dir, 0o666)
    t = start_plugin_target(ctx)
    for d, what in ((open_dir, "directory " + open_dir), (safe_dir, "file " + open_file)):
        res = run_pscope("-b", "--json", "-n", 1, "--plugin-dir", d, t.pid)
        check(res.rc == 0, "exit status %s\n%s" % (res.rc, res))
        lines = [l for l in res.err_lines if "refused" in l]
        check(lines and what + " is writable by others" in lines[0],
              "no refusal saying '%s is writable by others'\n%s" % (what, res))
        # The refused copy is not used: the build tree's cgroup.so is.
        rec = only_record(res, t.pid)
        check("cgroup" in rec.get("plugins", {}) or "cgroup" in rec.get("plugins_declined", {}),
              "cgroup from the build tree missing: %s" % json.dumps(rec)[:600])


@test
def plugin_sticky_ancestor(ctx):
    """A safe directory below a sticky, world-writable one (/tmp) is
    accepted; a sticky world-writable plugin directory itself is not."""
    plugins, _ = plugin_build_dirs()
    sticky = tempfile.mkdtemp(prefix="pscope-it-sticky-")
    ctx.dirs.append(sticky)
    os.chmod(sticky, 0o1777)
    safe = os.path.join(sticky, "plugins")
    os.mkdir(safe, 0o755)
    copy_plugin(os.path.join(plugins, "cgroup.so"), safe)
    res = run_pscope("--list-plugins", "--plugin-dir", safe)
    line = [l for l in res.out.decode("utf-8", "replace").splitlines()
            if l.startswith(os.path.join(safe, "cgroup.so"))]
    check(res.rc == 0 and line and ": accepted" in line[0],
          "a plugin below a sticky /tmp-like directory was not accepted:\n%s" % res)
    copy_plugin(os.path.join(plugins, "cgroup.so"), sticky)
    res = run_pscope("--list-plugins", "--plugin-dir", sticky)
    line = [l for l in res.out.decode("utf-8", "replace").splitlines()
            if l.startswith(os.path.join(sticky, "cgroup.so"))]
    check(line and ": refused" in line[0] and "writable by others" in line[0],
          "a plugin directly in a world-writable sticky directory was not refused:\n%s" % res)


@test
def plugin_list(ctx):
    """--list-plugins shows the search path and each file, accepted or
    refused with the reason, and exits 0 without a process."""
    plugins, test_plugins = plugin_build_dirs()
    d = plugin_tempdir(ctx)
    copy_plugin(os.path.join(test_plugins, "bad_abi.so"), d)
    with open(os.path.join(d, "garbage.so"), "w") as f:
        f.write("not an ELF file\n")
    res = run_pscope("--list-plugins", "--plugin-dir", d)
    check(res.rc == 0, "exit status %s\n%s" % (res.rc, res))
    out = res.out.decode()
    check("plugin search path" in out and d in out, "no search path\n%s" % res)
    lines = out.splitlines()

    def line_for(path):
        found = [l for l in lines if l.startswith(path + ":")]
        check(found, "no line for %s\n%s" % (path, out))
        return found[0]
    check(": accepted: cgroup" in line_for(os.path.join(plugins, "cgroup.so")),
          "cgroup.so not accepted\n%s" % out)
    check("refused: plugin ABI version" in line_for(os.path.join(d, "bad_abi.so")),
          "bad_abi.so not refused for its ABI\n%s" % out)
    check("refused: cannot load" in line_for(os.path.join(d, "garbage.so")),
          "garbage.so not refused as unloadable\n%s" % out)


@test
def plugin_none_with_no_plugins(ctx):
    """--no-plugins: no plugin runs, no "plugins" key, no refusal messages."""
    _, test_plugins = plugin_build_dirs()
    d = plugin_tempdir(ctx)
    copy_plugin(os.path.join(test_plugins, "bad_abi.so"), d)
    t = start_plugin_target(ctx)
    res = run_pscope("-b", "--json", "-n", 1, "--no-plugins", "--plugin-dir", d, t.pid)
    check(res.rc == 0 and not res.err_lines, "exit %s or stderr not empty\n%s" % (res.rc, res))
    rec = only_record(res, t.pid)
    check("plugins" not in rec and "plugins_declined" not in rec,
          "plugin keys present with --no-plugins: %s" % sorted(rec))


@test
def plugin_host_helpers(ctx):
    """The helpers lent to plugins (ELF symbol with the PIE bias, section
    bytes, memory reads, mappings) agree with each other on a real target:
    tests/plugins/host_check.so reports each check as a 0/1 metric."""
    _, test_plugins = plugin_build_dirs()
    so = os.path.join(test_plugins, "host_check.so")
    check(os.path.exists(so), "%s not built" % so)
    d = plugin_tempdir(ctx)
    copy_plugin(so, d)
    t = start_plugin_target(ctx)
    res = run_pscope("-b", "--json", "-n", 1, "--plugin-dir", d, t.pid)
    checks = dig(only_record(res, t.pid), "plugins.host_check")
    for name in ("main_matches", "main_executable", "unmapped_efault", "partial_read"):
        check(checks.get(name) == 1, "host check %s failed: %s" % (name, checks))

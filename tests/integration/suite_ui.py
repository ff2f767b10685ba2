# UI tests in a real terminal: tmux runs pscope on tests/targets processes,
# keys go in with send-keys, and what a user would see comes back with
# capture-pane.  Exec'd inside run.py (its helpers are in scope).  Every
# wait polls the screen until a condition holds or a generous deadline
# passes: a hang fails the test, and no assertion is about speed.

import fcntl
import pty
import struct
import termios

UI_TIMEOUT = 15


class Tmux:
    """One tmux server of our own (its own socket), running a shell."""

    def __init__(self, ctx, width, height, env=None):
        if not shutil.which("tmux"):
            raise Skip("tmux is not installed")
        self.sock = "pscope-test-%d-%d" % (os.getpid(), random.randrange(1 << 30))
        self.width, self.height = width, height
        environ = {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PS1": "READY$ ",
                   "HOME": ctx.tempdir(), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        environ.update(env or {})
        envargs = []
        for k, v in environ.items():
            envargs += ["-e", "%s=%s" % (k, v)]
        self.tmux("-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", str(width),
                  "-y", str(height), *envargs, "sh", "-i")
        ctx.targets.append(self)   # stopped with the test's targets
        self.wait_for(lambda s: "READY$" in s, "the shell prompt")

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.sock] + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=10)

    def stop(self):
        self.tmux("kill-server")

    def screen(self, escapes=False):
        args = ["capture-pane", "-p", "-t", "t"] + (["-e"] if escapes else [])
        return self.tmux(*args).stdout

    def display(self, fmt):
        return self.tmux("display-message", "-p", "-t", "t", fmt).stdout.strip()

    def keys(self, *keys, literal=False):
        self.tmux("send-keys", "-t", "t", *(["-l"] if literal else []), *keys)

    def run(self, line):
        self.keys(line, literal=True)
        self.keys("Enter")

    def resize(self, width, height):
        self.tmux("resize-window", "-t", "t", "-x", str(width), "-y", str(height))

    def wait_for(self, cond, what, timeout=UI_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if cond(screen):
                return screen
            if time.monotonic() > deadline:
                raise Fail("waited for %s; the screen was:\n%s" % (what, screen))
            time.sleep(0.1)

    def wait_text(self, text, timeout=UI_TIMEOUT):
        return self.wait_for(lambda s: text in s, repr(text), timeout)


def pscope_line(*args):
    return " ".join([PSCOPE] + [str(a) for a in args]) + "; echo PSCOPE-EXIT $?"


def start_ui(ctx, width, height, *args, env=None):
    tm = Tmux(ctx, width, height, env)
    tm.run(pscope_line(*args))
    tm.wait_text("1 Threads")
    return tm


def pane_title_line(screen, title):
    for line in screen.splitlines():
        if line.startswith(title):
            return line
    return None


def header_value(screen, label):
    """(now, change) of a vital sign in the header, as shown."""
    m = re.search(r"(?:^|\s)%s\s+(\S+)\s+(\S+)" % re.escape(label), screen, re.M)
    return (m.group(1), m.group(2)) if m else (None, None)


def check_panes(ctx, width, height):
    t = start_truth(ctx, "--threads", 6, "--files", 2)
    tm = start_ui(ctx, width, height, "-p", t.pid)
    want = t.truth["threads"]
    tm.wait_for(lambda s: "%d threads," % want in s, "the Threads pane to count %d threads" % want)
    for key, title in (("2", "Stacks"), ("3", "Memory"), ("4", "Resources"), ("5", "Plugins"),
                       ("1", "Threads")):
        tm.keys(key)
        screen = tm.wait_for(lambda s: pane_title_line(s, title) is not None,
                             "the %s pane's title" % title)
    check("%d threads" % want in screen, "thread count differs from the target's %d" % want)
    # Tab and Shift-Tab go round the panes.
    tm.keys("Tab")
    tm.wait_for(lambda s: pane_title_line(s, "Stacks") is not None, "Tab to Stacks")
    tm.keys("BTab")
    tm.wait_for(lambda s: pane_title_line(s, "Threads") is not None, "Shift-Tab to Threads")
    tm.keys("q")
    tm.wait_text("PSCOPE-EXIT 0")


@test
def ui_panes_80x24(ctx):
    """Each pane has its title; the thread count is the target's (80x24)."""
    check_panes(ctx, 80, 24)


@test
def ui_panes_200x50(ctx):
    """The same at 200x50."""
    check_panes(ctx, 200, 50)


@test
def ui_new_fd_appears(ctx):
    """A file the target opens shows up in Resources, marked new."""
    t = start_truth(ctx, "--files", 2)
    tm = start_ui(ctx, 120, 40, "-p", t.pid, "-d", "0.3")
    tm.keys("4")
    tm.wait_text("Open files")
    os.kill(t.pid, signal.SIGUSR1)
    added = t.next_truth()["added"]
    name = os.path.basename(added)
    screen = tm.wait_text(name)
    line = [l for l in screen.splitlines() if name in l][0]
    check(line.lstrip().startswith("+"), "the new fd's row is not marked '+': %r" % line)


@test
def ui_mark_resets_deltas(ctx):
    """After m, changes count from the mark: the fds change goes back to 0."""
    t = start_truth(ctx, "--files", 1)
    tm = start_ui(ctx, 120, 40, "-p", t.pid, "-d", "0.3")
    os.kill(t.pid, signal.SIGUSR1)
    t.next_truth()
    tm.wait_for(lambda s: header_value(s, "fds")[1] == "+1", "the fds change to read +1")
    tm.keys("m")
    tm.wait_for(lambda s: header_value(s, "fds")[1] == "0", "the fds change to read 0 after m")
    tm.wait_text("since mark")
    tm.keys("M")
    tm.wait_for(lambda s: "since attach" in s, "M to go back to changes since attach")


@test
def ui_search_thread(ctx):
    """/ finds a thread by name, even one scrolled out of view."""
    t = start_truth(ctx, "--threads", 60)
    tm = start_ui(ctx, 80, 24, "-p", t.pid)
    tm.wait_text("61 threads")
    screen = tm.screen()
    check("worker-59" not in screen, "worker-59 is visible before the search")
    tm.keys("/")
    tm.keys("worker-59", literal=True)
    tm.keys("Enter")
    tm.wait_text("worker-59")
    tm.keys("n")
    tm.wait_text("worker-59")


@test
def ui_resize(ctx):
    """The UI follows resizes, and says so when the terminal is too small."""
    t = start_truth(ctx)
    tm = start_ui(ctx, 80, 24, "-p", t.pid)
    tm.resize(60, 20)
    tm.wait_for(lambda s: "1 Threads" in s and max(len(l) for l in s.splitlines()) <= 60,
                "a redraw at 60x20")
    tm.resize(40, 10)
    tm.wait_text("terminal too small")
    tm.resize(80, 24)
    screen = tm.wait_for(lambda s: "1 Threads" in s and "too small" not in s, "a redraw at 80x24")
    check(pane_title_line(screen, "Threads"), "no Threads title after resizing back")


@test
def ui_quit_restores_terminal(ctx):
    """q, SIGTERM and SIGHUP leave the alternate screen and give the prompt
    back; so does a crash (SIGSEGV), through the crash handler."""
    t = start_truth(ctx)
    for how in ("q", signal.SIGTERM, signal.SIGHUP, signal.SIGSEGV):
        tm = start_ui(ctx, 80, 24, "-p", t.pid)
        check(tm.display("#{alternate_on}") == "1", "pscope did not use the alternate screen")
        if how == "q":
            tm.keys("q")
        else:
            pid = int(tm.display("#{pane_pid}"))
            children = subprocess.run(["pgrep", "-P", str(pid), "-f", "pscope"],
                                      stdout=subprocess.PIPE, text=True).stdout.split()
            check(children, "pscope's process not found")
            os.kill(int(children[0]), how)
        screen = tm.wait_for(lambda s: re.search(r"^PSCOPE-EXIT \d+", s, re.M),
                             "pscope to exit after %s" % how)
        check(tm.display("#{alternate_on}") == "0", "still on the alternate screen after %s" % how)
        check(tm.display("#{cursor_flag}") == "1", "cursor still hidden after %s" % how)
        tm.wait_for(lambda s: s.rstrip().endswith("READY$"), "the prompt after %s" % how)
        if how == "q":
            check("PSCOPE-EXIT 0" in screen, "q did not exit with status 0:\n%s" % screen)
        tm.stop()


ESCAPE_OK = re.compile(r"\x1b\[[0-9;]*m")   # colours and attributes (SGR)


@test
def ui_hostile_names(ctx):
    """Names full of ESC, OSC, BEL and C1 bytes reach the terminal as
    visible replacements: the title is unchanged and the only escape
    sequences on screen are pscope's own colours."""
    t = start_truth(ctx, "--hostile", "--threads", 2)
    tm = start_ui(ctx, 120, 40, "-p", t.pid)
    title = tm.display("#{pane_title}")
    tm.wait_text("3 threads")
    for key in ("1", "2", "3", "4"):
        tm.keys(key)
        time.sleep(0.3)
        raw = tm.screen(escapes=True)
        leftover = ESCAPE_OK.sub("", raw)
        if "\x1b" in leftover:
            raise Fail("an escape sequence other than SGR on screen: %r"
                       % leftover[leftover.index("\x1b"):][:40])
        for c1 in range(0x80, 0xa0):
            check(chr(c1) not in raw, "C1 control U+%04X on screen" % c1)
    check(tm.display("#{pane_title}") == title, "the terminal title changed to %r"
          % tm.display("#{pane_title}"))
    tm.keys("1")
    screen = tm.wait_text("\ufffd")
    check("-w0" in screen, "the hostile thread name is not shown at all")


@test
def ui_picker(ctx):
    """Without a target, a picker lists processes; / filters, Enter attaches."""
    t = start_truth(ctx)
    tm = Tmux(ctx, 120, 40)
    tm.run(pscope_line())
    tm.wait_text("pick processes")
    tm.keys("/")
    tm.keys(str(t.pid), literal=True)
    tm.keys("Enter")
    tm.wait_for(lambda s: re.search(r"^\*?\s+%d\s" % t.pid, s, re.M) is not None,
                "the target's row in the picker")
    tm.keys("Enter")
    tm.wait_for(lambda s: re.search(r"^pscope %d truth" % t.pid, s, re.M),
                "the header to show the picked target")
    tm.keys("q")
    tm.wait_text("PSCOPE-EXIT 0")


@test
def ui_no_color_ascii(ctx):
    """NO_COLOR and --ascii: no colour sequences, no non-ASCII graph glyphs."""
    t = start_truth(ctx)
    tm = start_ui(ctx, 100, 30, "-p", t.pid, "--ascii", env={"NO_COLOR": "1"})
    time.sleep(1.5)
    raw = tm.screen(escapes=True)
    check(not re.search(r"\x1b\[[0-9;]*3[0-7]m|\x1b\[[0-9;]*38;", raw),
          "a colour sequence with NO_COLOR set")
    check(all(ord(c) < 128 for c in tm.screen()), "non-ASCII characters with --ascii")


@test
def ui_config_file(ctx):
    """The config file chooses the default pane; a bad line is a clear error."""
    t = start_truth(ctx)
    d = ctx.tempdir()
    good = os.path.join(d, "good")
    with open(good, "w") as f:
        f.write("# pscope settings\n[pscope]\ndefault_pane = memory\ndelay = 0.5\n")
    tm = start_ui(ctx, 100, 30, "-c", good, "-p", t.pid)
    tm.wait_for(lambda s: pane_title_line(s, "Memory") is not None, "the Memory pane first")
    tm.keys("q")
    tm.wait_text("PSCOPE-EXIT 0")
    bad = os.path.join(d, "bad")
    with open(bad, "w") as f:
        f.write("delay = 1\nfrobnicate = yes\n")
    res = run_pscope("-c", bad, "-p", t.pid)
    check(res.rc == 64, "a bad config exited %s, not 64" % res.rc)
    check(len(res.err_lines) == 2 and "line 2" in res.err_lines[0]
          and "frobnicate" in res.err_lines[0], "unclear config error: %s" % res)


@test
def ui_pause_and_delay(ctx):
    """p pauses and resumes sampling, + and - change the delay, and the
    UI keeps answering keys meanwhile."""
    t = start_truth(ctx)
    tm = start_ui(ctx, 140, 30, "-p", t.pid)
    tm.keys("p")
    tm.wait_text("PAUSED")
    tm.keys("+")
    tm.wait_text("delay 2s")
    tm.keys("-", "-")
    tm.wait_text("delay 0.5s")
    tm.keys("p")
    tm.wait_for(lambda s: "PAUSED" not in s, "p to resume")
    tm.keys("3")
    tm.wait_for(lambda s: pane_title_line(s, "Memory") is not None, "a key after pausing")
    tm.keys("q")
    tm.wait_text("PSCOPE-EXIT 0")


@test
def ui_demo(ctx):
    """make demo's script opens the UI on leakyd, and stops leakyd after q."""
    demo = os.path.join(TARGETS, "demo")
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "demo.sh")
    tm = Tmux(ctx, 120, 40)
    tm.run("sh %s %s %s; echo DEMO-EXIT $?" % (script, PSCOPE, demo))
    screen = tm.wait_for(lambda s: re.search(r"^pscope (\d+) leakyd", s, re.M), "leakyd in the header")
    pid = int(re.search(r"^pscope (\d+) leakyd", screen, re.M).group(1))
    tm.keys("q")
    tm.wait_text("DEMO-EXIT 0")
    deadline = time.monotonic() + 10
    while os.path.exists("/proc/%d" % pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    check(not os.path.exists("/proc/%d" % pid), "leakyd %d still runs after the demo" % pid)


@test
def ui_plugins_pane(ctx):
    """The Plugins pane has a tab per plugin that applies; on a Go target
    the go tab shows the goroutine count the target itself reports."""
    exe = os.path.join(TARGETS, "goleaky")
    plugins = os.path.join(os.path.dirname(TARGETS), "plugins")
    if not os.path.exists(exe) or not os.path.exists(os.path.join(plugins, "go.so")):
        raise Skip("goleaky or the go plugin is not built")
    t = start_target(ctx, "goleaky", "--chan", 7, "--select", 3, "--sleep", 2, "--bursts", 2)
    tm = start_ui(ctx, 130, 40, "--plugin-dir", plugins, "-p", t.pid)
    tm.keys("5")
    tm.wait_for(lambda s: pane_title_line(s, "Plugins") is not None, "the Plugins pane")
    want = t.truth["goroutines"]
    for _ in range(4):   # t goes round the tabs until the go one is shown
        screen = tm.screen()
        if re.search(r"^goroutines\s", screen, re.M):
            break
        tm.keys("t")
        time.sleep(0.3)
    screen = tm.wait_for(lambda s: re.search(r"^goroutines\s+%d\s" % want, s, re.M),
                         "goroutines %d in the go tab" % want)
    # Mark, then one more burst: the leaking group's CHANGE is the burst.
    tm.keys("m")
    os.kill(t.pid, signal.SIGUSR2)
    t.next_truth()
    tm.wait_for(lambda s: re.search(r"main\.leakChan\s+main\.burstChan\s+\d+\s+\+7\b", s),
                "the chan-receive group's CHANGE to read +7 after a burst")
    tm.keys("T")
    tm.wait_for(lambda s: "by_wait_reason" in s or "groups" in s or "build" in s,
                "T to show another of the plugin's tables")


@test
def ui_several_targets(ctx):
    """[ and ] switch between targets; o lists them side by side."""
    a = start_truth(ctx, "--threads", 2)
    b = start_truth(ctx, "--threads", 4)
    tm = start_ui(ctx, 120, 40, "-p", "%d,%d" % (a.pid, b.pid))
    tm.wait_for(lambda s: re.search(r"^pscope %d truth" % a.pid, s, re.M), "the first target")
    tm.wait_text("3 threads")
    tm.keys("]")
    tm.wait_for(lambda s: re.search(r"^pscope %d truth" % b.pid, s, re.M), "] to the second")
    tm.wait_text("5 threads")
    tm.keys("[")
    tm.wait_for(lambda s: re.search(r"^pscope %d truth" % a.pid, s, re.M), "[ back to the first")
    tm.keys("o")
    screen = tm.wait_text("Overview")
    for t in (a, b):
        check(re.search(r"^\s*%d\s+truth" % t.pid, screen, re.M),
              "target %d missing from the overview:\n%s" % (t.pid, screen))


@test
def ui_monochrome_terminal(ctx):
    """On a terminal without colours (TERM=vt100) the UI still draws every
    role, with attributes only."""
    t = start_truth(ctx)
    tm = Tmux(ctx, 100, 30)
    tm.run("TERM=vt100 " + pscope_line("-p", t.pid))
    tm.wait_text("1 Threads")
    time.sleep(1)
    raw = tm.screen(escapes=True)
    check(not re.search(r"\x1b\[[0-9;]*(3[0-7]|4[0-7]|38;|48;)[0-9;]*m", raw),
          "colour sequences on a vt100")
    check("\x1b[7m" in raw or re.search(r"\x1b\[[0-9;]*7[;m]", raw),
          "no reverse video for the selection and tabs on a vt100")
    tm.keys("q")
    tm.wait_text("PSCOPE-EXIT 0")


@test
def ui_stacks(ctx):
    """r captures stacks: the Stacks pane groups threads parked in the same
    functions, the Threads pane shows the selected thread's stack, and
    --no-ptrace refuses to capture."""
    t = start_target(ctx, "stacky", "--threads", 6)
    tm = start_ui(ctx, 140, 45, "-p", t.pid)
    tm.keys("2")
    tm.wait_text("No stacks captured yet")
    tm.keys("r")
    screen = tm.wait_for(lambda s: re.search(r"\d+ threads in \d+ groups", s),
                         "a capture in the Stacks pane")
    check("stopped" in screen, "the capture does not say how long threads were stopped")
    tm.keys("z")   # the frames of the selected group, on the whole screen
    tm.wait_for(lambda s: "level1" in s or "thread_main" in s or "main" in s,
                "frames of a group")
    tm.keys("z", "1", "/")
    tm.keys("stk-cond-0", literal=True)
    tm.keys("Enter")
    tm.wait_for(lambda s: "Stack of thread" in s and "level1" in s and "level3" in s,
                "the selected thread's stack under the Threads table")
    tm.keys("q")
    tm.wait_text("PSCOPE-EXIT 0")
    tm.stop()
    tm = start_ui(ctx, 120, 40, "--no-ptrace", "-p", t.pid)
    tm.keys("2")
    tm.wait_text("--no-ptrace")
    tm.keys("r")
    tm.wait_text("stacks are off")


def _pty_read(fd, seconds):
    """Everything the terminal receives during `seconds`."""
    data = b""
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return data
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            return data
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return data
        if not chunk:
            return data
        data += chunk


@test
def ui_quiet_when_nothing_changes(ctx):
    """Redraws are flag-driven: paused, with no key pressed, pscope writes
    nothing at all to the terminal; a key then redraws."""
    t = start_truth(ctx)
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(PSCOPE, [PSCOPE, "-d", "0.2", str(t.pid)],
                  dict(os.environ, TERM="xterm", LANG="C.UTF-8", LC_ALL="C.UTF-8"))
    try:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        check(b"Threads" in _pty_read(fd, 2), "the UI did not draw")
        os.write(fd, b"p")
        _pty_read(fd, 1)
        quiet = _pty_read(fd, 2)
        check(quiet == b"", "%d bytes written while paused and idle: %r" % (len(quiet), quiet[:80]))
        os.write(fd, b"3")
        check(b"Memory" in _pty_read(fd, 1), "a key did not redraw")
    finally:
        try:
            os.write(fd, b"q")
            _pty_read(fd, 1)
        except OSError:
            pass
        for _ in range(50):
            if os.waitpid(pid, os.WNOHANG)[0]:
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)


@test
def ui_attach_error_shown(ctx):
    """A PID among several that cannot be attached: the UI opens on the
    others and says why on its bottom line."""
    t = start_truth(ctx)
    gone = reaped_pid()
    tm = start_ui(ctx, 120, 30, "-p", "%d,%d" % (t.pid, gone))
    tm.wait_text("no such process: %d" % gone)

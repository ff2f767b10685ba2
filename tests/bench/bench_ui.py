"""The UI's part of make bench (imported by bench.py).

Two figures, on the fat target (1,000 threads, 10,000 fds, 10,000 maps):

  * CPU per second of the UI at a 1 s delay against batch mode doing the
    same sampling (--maps, as the UI reads the mapping table): the cost of
    drawing.  Both are read from /proc/PID/stat over 10 s windows, after a
    warm-up, in the order UI, batch, batch, UI.  Goal: the UI within 10% of
    batch.
  * Keypress to redrawn screen, on the Resources pane's fd table (one row
    per fd, 10,000): pscope runs in a pseudo-terminal of 200x50, sampling paused so
    only the key causes output; each Down arrow is timed from the write of
    the key to the last byte of the redraw it causes (the output then stays
    quiet for 100 ms).  Goal: under 16 ms.
"""
import os
import pty
import select
import statistics
import struct
import fcntl
import termios
import time

WARMUP_S = 4.0
WINDOW_S = 10.0
GOAL_UI_RATIO = 1.10
GOAL_KEY_MS = 16.0
QUIET_S = 0.1


def _cpu_ms(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def _spawn_pty(argv, env, cols=200, rows=50):
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    return pid, fd


def _drain(fd, quiet=QUIET_S, limit=30.0):
    """Read until the output has been quiet for `quiet` seconds; returns the
    time of the last byte (None if nothing came) and the bytes."""
    last, data = None, b""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], quiet)
        if not r:
            break
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
        last = time.monotonic()
    return last, data


def _pump(fd, seconds):
    """Read whatever comes for `seconds` (pscope redraws every sample)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        _drain(fd, min(0.2, max(0.01, end - time.monotonic())), end - time.monotonic() + 0.2)


def _stop(pid, fd):
    try:
        os.write(fd, b"q")
        for _ in range(50):
            if os.waitpid(pid, os.WNOHANG)[0]:
                break
            _drain(fd, 0.05, 1)
        else:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
    except (OSError, ChildProcessError):
        pass
    os.close(fd)


def _window_cpu(pid, fd):
    """CPU ms per second of pid over WINDOW_S after WARMUP_S, draining its
    terminal output meanwhile so it never blocks on a full pty."""
    _pump(fd, WARMUP_S)
    c0, t0 = _cpu_ms(pid), time.monotonic()
    _pump(fd, WINDOW_S)
    return (_cpu_ms(pid) - c0) / (time.monotonic() - t0)


def _ui_window(pscope, env, pid):
    upid, ufd = _spawn_pty([pscope, "-d", "1", str(pid)], env)
    try:
        return _window_cpu(upid, ufd)
    finally:
        _stop(upid, ufd)


def _batch_window(pscope, env, pid):
    # Batch on a pty too, so both write to the same kind of device.
    bpid, bfd = _spawn_pty([pscope, "-b", "--brief", "--maps", "-d", "1", "-n",
                            str(int(WARMUP_S + WINDOW_S + 5)), str(pid)], env)
    try:
        return _window_cpu(bpid, bfd)
    finally:
        try:
            os.kill(bpid, 15)
            os.waitpid(bpid, 0)
        except (OSError, ChildProcessError):
            pass
        os.close(bfd)


def measure_ui_cpu(pscope, env, pid):
    """UI and batch CPU per second, measured UI, batch, batch, UI: the
    speed of this VM drifts over tens of seconds, and one window of each,
    one after the other, made the ratio move from 0.93 to 1.17."""
    env = dict(env, TERM="xterm-256color", LANG="C.UTF-8", LC_ALL="C.UTF-8")
    ui = _ui_window(pscope, env, pid)
    batch = _batch_window(pscope, env, pid)
    batch += _batch_window(pscope, env, pid)
    ui += _ui_window(pscope, env, pid)
    return ui / 2, batch / 2


def measure_key_latency(pscope, env, pid, presses=40):
    env = dict(env, TERM="xterm-256color", LANG="C.UTF-8", LC_ALL="C.UTF-8")
    upid, fd = _spawn_pty([pscope, "-d", "1", str(pid)], env)
    try:
        _pump(fd, 3.0)               # the first samples drawn
        os.write(fd, b"4")           # Resources: one row per fd
        _pump(fd, 2.0)
        os.write(fd, b"p")           # pause: from now on only keys draw
        _drain(fd, 0.5, 30)
        times = []
        for _ in range(presses):
            t0 = time.monotonic()
            os.write(fd, b"\x1bOB")   # Down, as a terminal in keypad mode sends it
            last, data = _drain(fd)
            if last is not None and data:
                times.append((last - t0) * 1000)
        return times
    finally:
        _stop(upid, fd)


def report(pscope, env, fat_pid, progress):
    """Rows for bench.py's report: (label, value, goal text)."""
    ui, batch = measure_ui_cpu(pscope, env, fat_pid)
    progress(f"UI {ui:.1f} ms/s, batch {batch:.1f} ms/s")
    keys = measure_key_latency(pscope, env, fat_pid)
    progress(f"key to redraw: {len(keys)} presses measured")
    ratio = ui / batch if batch > 0 else None
    rows = [
        ("pscope UI on fat at -d 1, CPU per second", ui, ""),
        ("pscope batch --maps on fat at -d 1, CPU per second", batch, ""),
    ]
    if ratio is not None:
        ok = ratio <= GOAL_UI_RATIO
        rows.append(("UI / batch CPU (drawing's share)", ratio,
                     f"≤ {GOAL_UI_RATIO:.2f}x  {'ok' if ok else 'MISSED'}"))
    if keys:
        med, worst = statistics.median(keys), max(keys)
        rows.append((f"key to redrawn screen, 10k-row fd table, median of {len(keys)}", med,
                     f"< {GOAL_KEY_MS:g} ms  {'ok' if med < GOAL_KEY_MS else 'MISSED'}"))
        rows.append(("key to redrawn screen, max", worst, ""))
    return rows

"""A command under test in a subprocess: wait for a line it prints, send it a signal, collect its exit.

What the stop-signal tests of nerf-train and the viewer share. The limits here are hang guards: a
process that stays silent or ignores a signal fails the test, a slow but working one does not.
"""
from __future__ import annotations

import os
import select
import subprocess
import time
from typing import Callable


def read_stderr_until(proc: subprocess.Popen, predicate: Callable[[str], bool], timeout: float = 180.0) -> str:
    """Read `proc`'s stderr until a whole line satisfies `predicate`; return everything read so far.

    Reads the pipe's descriptor directly, never through the file object's buffer, so what comes
    later is still there for communicate(). A process that exits first, or prints no such line within
    `timeout`, is killed and fails the test with what it printed."""
    fd = proc.stderr.fileno()
    data, deadline = b"", time.monotonic() + timeout
    while not any(predicate(line) for line in data.decode(errors="replace").split("\n")[:-1]):
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(fd, 65536) if ready else b""
        if not chunk:  # end of file (the process ended) or nothing before the guard ran out
            proc.kill()
            proc.wait()
            raise AssertionError(f"no matching line from {proc.args[:3]}; it printed:\n{data.decode(errors='replace')}")
        data += chunk
    return data.decode(errors="replace")


def signal_and_wait(proc: subprocess.Popen, signum: int, timeout: float = 60.0) -> str:
    """Send `signum`, wait for the exit and return its stderr. A process still running after
    `timeout` is killed (and the wait raises subprocess.TimeoutExpired)."""
    proc.send_signal(signum)
    try:
        _, stderr = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return stderr

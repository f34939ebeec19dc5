"""Signals to a command under test, timed: what the stop-signal tests of nerf-train and the viewer share."""
from __future__ import annotations

import subprocess
import time


def signal_and_wait(proc: subprocess.Popen, signum: int, timeout: float = 60.0) -> tuple[str, float]:
    """Send `signum`, wait for the exit; (its stderr, seconds from the signal to the exit). A process
    still running after `timeout` is killed (and the wait raises subprocess.TimeoutExpired)."""
    sent = time.monotonic()
    proc.send_signal(signum)
    try:
        _, stderr = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return stderr, time.monotonic() - sent

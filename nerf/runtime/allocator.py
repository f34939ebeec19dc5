"""Process-wide memory allocator tuning for training (glibc Linux only; a no-op elsewhere).

glibc serves allocations above M_MMAP_THRESHOLD (128 KiB, adaptive up to 32 MiB) with fresh mmap
pages and returns them on free, so every large temporary of a training step page-faults again
(and threads other than the main one allocate from their own mmap'd arenas, which page-fault too).
Measured on a 2-core CPU this cost a large share of each step. Raising the mmap and trim thresholds
keeps freed memory in the heap for reuse. Call once at program start (CLI, viewer), never from
library code or tests.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1  # glibc mallopt parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
LARGE = 1 << 30  # 1 GiB: temporaries below this stay in the heap


def tune_malloc() -> bool:
    """Raise glibc's mmap and trim thresholds. Returns True if applied."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl or no libc: nothing to tune
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = mallopt(M_MMAP_THRESHOLD, LARGE) == 1
    ok = mallopt(M_TRIM_THRESHOLD, 2 * LARGE) == 1 and ok
    # One arena for every thread. A thread other than the main one (the viewer's training worker)
    # otherwise gets its own arena, made of 64 MiB mmap'd heaps that the thresholds above do not
    # govern: its step temporaries were unmapped and page-faulted in again on every step, which
    # made steps ~2x slower in the viewer than in nerf-train (20 % of the CPU in the kernel).
    ok = mallopt(M_ARENA_MAX, 1) == 1 and ok
    return ok

"""pycolmap, imported so that it cannot take over SIGTERM.

pycolmap's glog installs a failure handler for SIGTERM when it is first imported: it prints a C++
stack trace and aborts (or hangs), so a command that was asked to stop never removes its
temporary files, and nerf-train never saves. Every import of pycolmap goes through `pycolmap()`,
which puts Python's own handlers back afterwards.
"""
from __future__ import annotations

import signal
import threading
from types import ModuleType

_TAKEN = (signal.SIGTERM, signal.SIGINT)  # glog takes SIGTERM; SIGINT is restored in case a build takes it too


def pycolmap() -> ModuleType:
    """The pycolmap module, with the Python signal handlers of this process left in place."""
    import pycolmap as module
    if threading.current_thread() is threading.main_thread():  # only the main thread may set handlers
        for signum in _TAKEN:
            handler = signal.getsignal(signum)  # Python's record, which the C-level takeover left as it was
            if handler is not None:
                signal.signal(signum, handler)
    return module

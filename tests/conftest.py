"""Every test starts with Python's own SIGINT and SIGTERM handlers installed.

The signal tests send SIGINT/SIGTERM to the test process itself and expect Python's handlers to
turn them into KeyboardInterrupt or a clean exit. A library imported by an earlier test can take a
signal over below Python (pycolmap's glog installs a SIGTERM handler at import; nerf.colmap_lib
puts Python's back, but a test may import pycolmap directly), and a test that fails half-way can
leave its own handler behind; then a later signal test hangs on a signal nobody turns into an
exception. Re-installing the handlers around each test keeps one test's process state out of the
next. (Commands run as their own processes in real use: this is about the shared test process.)
"""
import signal

import pytest

_DEFAULTS = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}


@pytest.fixture(autouse=True)
def _python_signal_handlers():
    for signum, handler in _DEFAULTS.items():
        signal.signal(signum, handler)  # also below Python: signal() calls sigaction
    yield
    for signum, handler in _DEFAULTS.items():
        signal.signal(signum, handler)

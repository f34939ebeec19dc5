"""Shared by the viewer's GUI tests: a virtual X display."""
import os
import shutil

import pytest

from tests.support.xdriver import virtual_display


@pytest.fixture
def xdisplay():
    if shutil.which("Xvfb") is None or shutil.which("xdotool") is None:
        if os.environ.get("NERF_REQUIRE_GUI"):  # CI installs both: a skip there would hide a broken setup
            pytest.fail("Xvfb and xdotool are missing, and NERF_REQUIRE_GUI is set")
        pytest.skip("Xvfb and xdotool are needed for GUI tests (apt-get install xvfb xdotool)")
    with virtual_display() as display:
        yield display

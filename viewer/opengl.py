"""Which OpenGL renderer draws the window, and what the viewer changes under a software one.

Under a software renderer (Mesa's llvmpipe: no GPU, Xvfb, VMs) every pixel of every frame is drawn
by the CPU that trains, so the window opens smaller and Mesa is told to draw more cheaply.
"""
from __future__ import annotations

import ctypes
import os

# 1024x640 instead of 1280x800 cut the drawing by about a third and trained faster (BENCHMARKS.md,
# "Viewer"). The window can still be resized or maximised.
SOFTWARE_WINDOW_SIZE = (1024, 640)


def tune_software_gl() -> None:
    """Cheaper drawing under Mesa's software renderer; other renderers ignore these variables.

    Call before the window opens. llvmpipe rasterises with one thread per core by default; one
    thread draws the same frames with less CPU. And nearest instead of bilinear texture filtering
    makes each frame cheaper (the view is one big magnified texture; text and widgets are drawn
    texel for pixel, so they look the same). BENCHMARKS.md, "Viewer", has the figures."""
    os.environ.setdefault("LP_NUM_THREADS", "1")
    os.environ.setdefault("LP_PERF", "no_linear")


def gl_renderer() -> str:
    """GL_RENDERER of the current OpenGL context (the viewport's, on the main thread after
    show_viewport), or "" where it cannot be asked (no libGL, no context, not Linux)."""
    try:
        gl = ctypes.CDLL("libGL.so.1")
        gl.glGetString.restype = ctypes.c_char_p
        gl.glGetString.argtypes = [ctypes.c_uint]
        name = gl.glGetString(0x1F01)  # GL_RENDERER
    except (OSError, AttributeError):
        return ""
    return name.decode(errors="replace") if name else ""


def is_software_renderer(renderer: str) -> bool:
    """Mesa's CPU rasterisers (llvmpipe, softpipe, swrast) and Windows' GDI Generic."""
    return any(word in renderer.lower() for word in ("llvmpipe", "softpipe", "swrast", "gdi generic"))

"""Telling a software OpenGL renderer (which draws on the CPU that trains) from a GPU one."""
from viewer.opengl import gl_renderer, is_software_renderer


def test_mesa_software_renderers_are_recognised_and_gpus_are_not():
    for name in ("llvmpipe (LLVM 15.0.6, 256 bits)", "softpipe", "Mesa X11 swrast", "GDI Generic"):
        assert is_software_renderer(name), name
    for name in ("NVIDIA GeForce RTX 3090/PCIe/SSE2", "AMD Radeon RX 6800 (radeonsi, navi21)",
                 "Mesa Intel(R) UHD Graphics 620 (KBL GT2)", "Apple M1", ""):
        assert not is_software_renderer(name), name


def test_without_an_opengl_context_the_renderer_is_unknown():
    assert gl_renderer() == ""  # no window was opened in this process: nothing to ask, no crash

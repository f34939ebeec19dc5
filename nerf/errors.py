"""The one error type for bad input, shared by every layer, command, the viewer and the toy lab.

A scene file, an image, a checkpoint or an option that cannot be used raises `InputError(path,
problem)`; each command prints it as one line (`nerf-train: error: <path>: <problem>`) and exits 2,
and the viewer shows the same line in its status bar and keeps running.
"""
from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """Bad input: the offending file (or option) and the problem, printed as one line."""

    def __init__(self, path: str | Path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

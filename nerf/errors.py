"""The one error type for bad input, shared by every layer, command, the viewer and the toy lab.

A scene file, an image, a checkpoint or an option that cannot be used raises `InputError(path,
problem)`; each command prints it as one line (`nerf-train: error: <path>: <problem>`) and exits 2,
and the viewer shows the same line in its status bar and keeps running.

Input that is read but only partly used (a field this project does not act on) is not an error but
must not pass in silence either: `warn_input(path, problem)` issues an `InputWarning` through
Python's warnings, which a command run by nerf.commands.cli.guarded_main prints as one line,
`nerf-render: warning: <path>: <problem>`, once per message.
"""
from __future__ import annotations

import warnings
from pathlib import Path


class InputError(Exception):
    """Bad input: the offending file (or option) and the problem, printed as one line."""

    def __init__(self, path: str | Path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class InputWarning(UserWarning):
    """Input used only in part: the file and what of it is not used."""

    def __init__(self, path: str | Path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def warn_input(path: str | Path, problem: str) -> None:
    warnings.warn(InputWarning(path, problem), stacklevel=2)

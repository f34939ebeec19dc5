"""What every command line shares: the one-line error, the guard around `main`, checked numbers, --device.

Every entry point (nerf-train, nerf-render, nerf-export, nerf-process, nerf-viewer, nerf-toy) runs its
body through `guarded_main`: bad input (an InputError, a bad flag) is one line and exit status 2,
Ctrl-C is 130, and anything unexpected is one line naming the file that holds its traceback, exit 1.
Numeric flags are parsed by `number(...)`, so nan, inf, negative or huge values are refused the same
way everywhere, by argparse, before anything heavy happens.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import math
import os
import signal
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path
from typing import Callable

from nerf.errors import InputError, InputWarning


def package_version() -> str:
    """The installed nerf-viewer's version (pyproject.toml's), or a note that it runs uninstalled."""
    try:
        return importlib.metadata.version("nerf-viewer")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed: pip install -e .)"


def command_parser(prog: str, description: str, **kwargs) -> argparse.ArgumentParser:
    """The parser of one entry point, with the --version every command shares."""
    parser = argparse.ArgumentParser(prog=prog, description=description, **kwargs)
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    return parser


def fail(prog: str, message: str) -> int:
    """Print `prog: error: message` on one line and return the exit status 2."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    return 2


def crash_report(prog: str, exc: BaseException) -> Path | None:
    """Write the traceback of an unexpected error to a file and return its path (None if even that fails)."""
    folder = Path(os.environ.get("NERF_VIEWER_TRACE_DIR") or tempfile.gettempdir())
    path = folder / f"{prog}-crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
    try:
        path.write_text("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)), encoding="utf-8")
    except OSError:
        return None
    return path


def guarded_main(prog: str, body: Callable[[], int]) -> int:
    """body()'s exit status; an InputError becomes one line and 2, Ctrl-C 130, anything else one line
    naming the traceback file and 1 (a stop signal: 128 + its number). SystemExit (argparse's own
    errors, exit 2) passes through. An InputWarning issued by the body is one line,
    `prog: warning: <path>: <problem>`."""
    try:
        with warnings.catch_warnings():  # the one-line form lasts as long as the body, no longer
            warnings.showwarning = _one_line_warnings(prog, warnings.showwarning)
            return body()
    except InputError as exc:
        return fail(prog, str(exc))
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM turned into nerf.runtime.signals.Stopped
        print(f"{prog}: interrupted", file=sys.stderr)
        return 128 + getattr(exc, "signum", signal.SIGINT)
    except MemoryError:
        print(f"{prog}: error: out of memory (try --downscale, fewer --batch-rays or a smaller resolution)",
              file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - the promise is one line, never a bare traceback
        path = crash_report(prog, exc)
        where = f"; the traceback is in {path}" if path else ""
        first = (str(exc).splitlines() or [""])[0]
        print(f"{prog}: error: unexpected {type(exc).__name__}: {first}{where}", file=sys.stderr)
        return 1


def _one_line_warnings(prog: str, show_other: Callable) -> Callable:
    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, InputWarning):
            print(f"{prog}: warning: {message}", file=sys.stderr)
        else:
            show_other(message, category, filename, lineno, file, line)
    return show


def number(kind: type = float, *, low: float | None = None, high: float | None = None,
           low_open: bool = False) -> Callable[[str], float | int]:
    """An argparse `type=` that parses `kind` (int or float) and refuses nan, inf and values outside
    [low, high] (or (low, high] with low_open) with a message argparse prints as one line."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, "
                                             f"got {text!r}") from None
        if kind is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
        if low is not None and (value <= low if low_open else value < low):
            raise argparse.ArgumentTypeError(f"must be {'>' if low_open else '>='} {low:g}, got {text}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"must be <= {high:g}, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def device_name(text: str) -> str:
    """--device: auto, cpu, cuda or cuda:N (checked against the machine later, by pick_device)."""
    head, _, index = text.partition(":")
    if text in ("auto", "cpu") or (head == "cuda" and (not index or index.isdigit())):
        return text
    raise argparse.ArgumentTypeError(f"expected auto, cpu, cuda or cuda:N, got {text!r}")


def add_device_argument(parser: argparse.ArgumentParser, default: str = "auto") -> None:
    parser.add_argument("--device", type=device_name, default=default, metavar="DEVICE",
                        help=f"auto (CUDA when present, else the CPU), cpu, cuda or cuda:N (default {default})")

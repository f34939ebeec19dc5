"""Outputs written whole or not at all: a temporary name beside the target, renamed when complete."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

from nerf.errors import InputError


class PendingOutput:
    """A temporary path beside `path` (same suffix, so writers that choose a format by it still work);
    commit() renames it to `path`, discard() removes it. An OSError becomes InputError(path, ...)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.stem}.partial{self.path.suffix}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise InputError(self.path, f"cannot write: {e.strerror or e}")

    def commit(self) -> Path:
        try:
            os.replace(self.tmp, self.path)
        except OSError as e:
            self.discard()
            raise InputError(self.path, f"cannot write: {e.strerror or e}")
        return self.path

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self.tmp.unlink()


@contextlib.contextmanager
def atomic_output(path: str | Path):
    """Yield a temporary path; on success it becomes `path`, on any error it is removed."""
    pending = PendingOutput(path)
    try:
        yield pending.tmp
    except OSError as e:
        pending.discard()
        raise InputError(pending.path, f"cannot write: {e.strerror or e}")
    except BaseException:
        pending.discard()
        raise
    pending.commit()


def check_writable(path: str | Path) -> None:
    """InputError now, before any work, if `path` could not be written later (an existing file stays)."""
    pending = PendingOutput(path)
    try:
        pending.tmp.write_bytes(b"")
    except OSError as e:
        raise InputError(pending.path, f"cannot write: {e.strerror or e}")
    finally:
        pending.discard()
    if pending.path.is_dir():
        raise InputError(pending.path, "is a folder")

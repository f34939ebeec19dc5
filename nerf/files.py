"""Reading and writing the project's files so that a crash, a full disk or a foreign file never
costs the user a result.

- `atomic_write`: every output (checkpoints, metrics.json, log snapshots, screenshot poses) goes
  to a temporary file in the same folder, is flushed and fsync'd, then renamed over the real name.
  A rename within one file system is atomic, so a reader (or the next run) sees the old file or
  the new one, never half of one; on any failure the temporary file is removed.
- `PendingOutput` / `atomic_output`: the same for writers that want a path rather than a file
  object (imageio's video writer, trimesh, PIL): a temporary name with the target's suffix, renamed
  when complete, removed on any error. `check_writable` tries an output path before the work.
- `next_numbered`: screenshot-004.png after screenshot-003.png, even when 001 was deleted.
- `check_output_dir`: the output folder is created and tested for writing and free space before
  any training starts, not discovered to be unusable when the result is saved.
- `read_json`: the one JSON reader: UTF-8 with or without a byte-order mark; any other encoding is
  refused naming the file (JSON is UTF-8 by RFC 8259; a UTF-16 file from a Windows editor would
  otherwise fail with a decode traceback).
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from nerf.errors import InputError

FREE_SPACE_MARGIN = 16 << 20  # bytes left over beyond a run's own estimate (logs, screenshots)
_OTHER_BOMS = {b"\xff\xfe\x00\x00": "UTF-32", b"\x00\x00\xfe\xff": "UTF-32",
               b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16"}  # longest first: UTF-32 LE starts like UTF-16 LE


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside `path` for writing; on a clean exit it is flushed, fsync'd and
    renamed to `path`. On any exception (including KeyboardInterrupt) it is removed and `path` keeps
    its previous content. The temporary name starts with a dot and ends in .tmp."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, mode.replace("w", "x")) as f:  # x: never clobber a stranger's file
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable; some file systems (and every non-POSIX one) cannot."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_text(path: str | Path, text: str) -> None:
    with atomic_write(path, "w") as f:
        f.write(text)


def write_json(path: str | Path, data: Any, indent: int | None = 2) -> None:
    """`data` as JSON, atomically. NaN and infinities become null: they are not JSON, and strict
    readers refuse the whole file for one of them."""
    write_text(path, json.dumps(finite(data), indent=indent, allow_nan=False) + "\n")


def finite(data: Any) -> Any:
    """`data` with every non-finite float (in nested dicts, lists and tuples) replaced by None."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: finite(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite(v) for v in data]
    return data


def decode_text(raw: bytes, path: str | Path) -> str:
    """UTF-8 bytes (a leading byte-order mark is dropped) -> str; InputError for anything else."""
    for bom, name in _OTHER_BOMS.items():
        if raw.startswith(bom):
            raise InputError(path, f"is {name} text; save it as UTF-8")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if b"\x00" in raw:  # valid UTF-8, but never in text: UTF-16 or UTF-32 without a byte-order mark
        raise InputError(path, "holds NUL bytes: UTF-16 or UTF-32 text, or not text at all; save it as UTF-8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(path, f"is not UTF-8 text: byte 0x{raw[exc.start]:02x} at offset {exc.start}; "
                               "save it as UTF-8") from None


def read_json(path: str | Path) -> Any:
    """The JSON value in the file at `path`; InputError (naming the file) when it cannot be read,
    is not UTF-8 or is not valid JSON."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    text = decode_text(raw, path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(path, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise InputError(path, "invalid JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer literal of thousands of digits
        raise InputError(path, f"invalid JSON: {exc}") from None


def new_run_folder(name: str) -> Path:
    """Where a run goes without --out: runs/<name>-<date>-<time> (the viewer, nerf-train and a
    processed video all name it so)."""
    return Path("runs") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"


def check_output_dir(folder: str | Path, need_bytes: int = 0) -> Path:
    """Create `folder` if needed and check that a file can be written in it and that the disk has
    `need_bytes` (plus a margin) free. Returns the folder; InputError(folder, ...) otherwise."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(folder, "is a file, not a folder") from None
    except OSError as exc:
        raise InputError(folder, f"cannot create the output folder ({exc.strerror or exc})") from None
    try:
        with atomic_write(folder / ".write-test", "wb") as f:
            f.write(b"ok")
        (folder / ".write-test").unlink()
    except OSError as exc:
        raise InputError(folder, f"cannot write in the output folder ({exc.strerror or exc})") from None
    free = shutil.disk_usage(folder).free
    need = need_bytes + FREE_SPACE_MARGIN
    if free < need:
        raise InputError(folder, f"only {free / 2**20:.0f} MiB free on its disk; this run needs about "
                                 f"{need / 2**20:.0f} MiB (free some space or choose another --out)")
    return folder


class PendingOutput:
    """A temporary path beside `path` (same suffix, so writers that choose a format by it still work);
    commit() renames it to `path`, discard() removes it. An OSError becomes InputError(path, ...)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.stem}.partial{self.path.suffix}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise InputError(self.path, f"cannot write: {e.strerror or e}") from None

    def commit(self) -> Path:
        try:
            os.replace(self.tmp, self.path)
        except OSError as e:
            self.discard()
            raise InputError(self.path, f"cannot write: {e.strerror or e}") from None
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
        raise InputError(pending.path, f"cannot write: {e.strerror or e}") from None
    except BaseException:
        pending.discard()
        raise
    pending.commit()


def next_numbered(folder: str | Path, prefix: str, suffix: str) -> Path:
    """folder/<prefix>NNN<suffix> numbered one past the highest already there (not the count of them:
    after a deletion the count names a file that exists, which would be overwritten)."""
    folder = Path(folder)
    taken = [0]
    for entry in folder.glob(f"{prefix}*{suffix}"):
        digits = entry.name[len(prefix):len(entry.name) - len(suffix)]
        if digits.isdigit():
            taken.append(int(digits))
    return folder / f"{prefix}{max(taken) + 1:03d}{suffix}"


def check_writable(path: str | Path) -> None:
    """InputError now, before any work, if `path` could not be written later (an existing file stays)."""
    pending = PendingOutput(path)
    try:
        pending.tmp.write_bytes(b"")
    except OSError as e:
        raise InputError(pending.path, f"cannot write: {e.strerror or e}") from None
    finally:
        pending.discard()
    if pending.path.is_dir():
        raise InputError(pending.path, "is a folder")

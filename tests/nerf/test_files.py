"""nerf/files.py: atomic writes, the one JSON reader (encodings), the output-folder check."""
import json
import os

import pytest

from nerf.errors import InputError
from nerf.files import atomic_write, check_output_dir, read_json, write_json


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_atomic_write_replaces_whole_file_and_leaves_nothing_behind(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with atomic_write(target) as f:
        f.write(b"new content")
        assert target.read_bytes() == b"old"  # nothing visible until the block ends
    assert target.read_bytes() == b"new content" and _leftovers(tmp_path) == []


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_failed_atomic_write_keeps_the_old_file_and_removes_the_temporary(tmp_path, failure):
    target = tmp_path / "checkpoint.pt"
    target.write_bytes(b"previous")
    with pytest.raises(type(failure)):
        with atomic_write(target) as f:
            f.write(b"half of it")
            raise failure
    assert target.read_bytes() == b"previous" and _leftovers(tmp_path) == []


def test_atomic_write_keeps_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "a.txt", "w") as f:
            f.write("x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644


def test_write_json_turns_non_finite_numbers_into_null(tmp_path):
    write_json(tmp_path / "m.json", {"psnr": float("nan"), "curve": [1.0, float("inf")], "n": 3})
    refuse = lambda name: pytest.fail(f"{name} in JSON")  # noqa: E731
    assert json.loads((tmp_path / "m.json").read_text(), parse_constant=refuse) == \
        {"psnr": None, "curve": [1.0, None], "n": 3}


@pytest.mark.parametrize("encode", [lambda t: t.encode("utf-8"), lambda t: b"\xef\xbb\xbf" + t.encode("utf-8")],
                         ids=["utf-8", "utf-8 with BOM"])
def test_read_json_accepts_utf8_with_or_without_bom(tmp_path, encode):
    path = tmp_path / "t.json"
    path.write_bytes(encode('{"name": "caf\u00e9"}'))
    assert read_json(path) == {"name": "caf\u00e9"}


@pytest.mark.parametrize("raw, words", [
    ('{"a": 1}'.encode("utf-16"), "UTF-16"),
    ('{"a": 1}'.encode("utf-16-le"), "UTF-16"),  # no BOM: recognised by its zero bytes
    ('{"a": 1}'.encode("utf-32"), "UTF-32"),
    ('{"a": "\u00e9"}'.encode("latin-1"), "not UTF-8"),
    (b'{"a": ' + b"9" * 5000 + b"}", "invalid JSON"),
    (b"[" * 100_000, "invalid JSON"),
    (b'{"a": }', "line 1, column 7"),
])
def test_read_json_refuses_other_encodings_and_broken_json_naming_the_file(tmp_path, raw, words):
    path = tmp_path / "transforms.json"
    path.write_bytes(raw)
    with pytest.raises(InputError) as info:
        read_json(path)
    assert info.value.path == str(path) and words in info.value.problem
    assert "\n" not in str(info.value)


def test_check_output_dir_creates_and_refuses_what_cannot_hold_a_run(tmp_path):
    made = check_output_dir(tmp_path / "a" / "b")
    assert made.is_dir() and list(made.iterdir()) == []  # the write test leaves nothing
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is a file"):
        check_output_dir(tmp_path / "file")
    with pytest.raises(InputError, match="cannot create"):
        check_output_dir(tmp_path / "file" / "run")
    with pytest.raises(InputError, match="MiB free"):
        check_output_dir(tmp_path / "c", need_bytes=1 << 60)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_check_output_dir_refuses_a_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(InputError, match="cannot write"):
            check_output_dir(folder)
    finally:
        folder.chmod(0o700)

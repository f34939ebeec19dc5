"""Fuzzed scene files: every mutated input either loads into a sane Scene or raises InputError,
which each command prints as one line and exits 2 (checked through `nerf-train --inspect` on a
sample). Never a traceback, never a scene with NaN cameras that would only fail in training.

The corpus is generated from fixed seeds (the same inputs on every run): byte flips, truncations,
other text encodings, values of the wrong type, NaN / infinite / huge / zero / negative numbers,
removed keys, broken images and broken poses_bounds.npy arrays, on the three formats the loaders
read. Inputs run in-process, so several hundred take seconds.
"""
from __future__ import annotations

import copy
import io
import json
import math
import warnings
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from nerf.commands.train import main
from nerf.data.formats.registry import estimate_scene_memory, load_scene
from nerf.errors import InputError
from tests.support.scenes import blender_scene, huge_png_header, llff_scene, transforms_scene

SPECIAL_NUMBERS = [float("nan"), float("inf"), float("-inf"), 1e308, -1e308, 1e-320, 0, -1, 10 ** 400, 2 ** 63]
WRONG_TYPES = ["text", "", None, True, [], {}, [1, 2], {"a": 1}, [[1, 2, 3]], "./../../etc/passwd", "r_0\x00.png"]
CLI_EVERY = 10  # every 10th input also goes through `nerf-train --inspect`


def _paths(node, prefix=()):
    """Every place in a JSON tree, as a tuple of keys / indices."""
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


def _set(tree, path, value, delete=False):
    node = tree
    for key in path[:-1]:
        node = node[key]
    if delete and isinstance(node, dict):
        del node[path[-1]]
    else:
        node[path[-1]] = value


def json_mutations(text: str, rng: np.random.Generator, n: int) -> list[tuple[str, bytes]]:
    """`n` mutated versions of a JSON document: (description, bytes)."""
    tree = json.loads(text)
    places = [p for p in _paths(tree) if p]
    numbers = [p for p in places if isinstance(_get(tree, p), (int, float)) and not isinstance(_get(tree, p), bool)]
    raw = text.encode("utf-8")
    out: list[tuple[str, bytes]] = [
        ("utf-16", text.encode("utf-16")), ("utf-16-le", text.encode("utf-16-le")),
        ("utf-32", text.encode("utf-32")), ("utf-8 bom", b"\xef\xbb\xbf" + raw),
        ("latin-1", text.replace('"frames"', '"frames", "note": "caf\u00e9"', 1).encode("latin-1")),
        ("empty", b""), ("not an object", b"[1, 2, 3]"), ("deep", b"[" * 50_000 + b"]" * 50_000),
        ("null", b"null"), ("frames empty", json.dumps({**tree, "frames": []}).encode()),
    ]
    for key in [k for k, v in tree.items() if isinstance(v, (int, float))] + ["fl_x", "w"]:
        for value in SPECIAL_NUMBERS + [0.5, 4.0]:  # every special value on every top-level number
            out.append((f"{key} = {value!r}"[:80], json.dumps({**tree, key: value}).encode()))
    while len(out) < n:
        kind = rng.integers(6)
        if kind == 0:  # flip a few bytes
            b = bytearray(raw)
            for _ in range(rng.integers(1, 4)):
                b[rng.integers(len(b))] = rng.integers(256)
            out.append(("byte flip", bytes(b)))
        elif kind == 1:  # cut short
            out.append(("truncated", raw[:rng.integers(len(raw))]))
        elif kind in (2, 3) and numbers:  # a number becomes NaN, infinite, huge, zero, negative
            t = copy.deepcopy(tree)
            path = numbers[rng.integers(len(numbers))]
            value = SPECIAL_NUMBERS[rng.integers(len(SPECIAL_NUMBERS))]
            _set(t, path, value)
            out.append((f"{path} = {value!r}"[:80], json.dumps(t).encode()))
        elif kind == 4:  # a value of the wrong type
            t = copy.deepcopy(tree)
            path = places[rng.integers(len(places))]
            value = WRONG_TYPES[rng.integers(len(WRONG_TYPES))]
            _set(t, path, value)
            out.append((f"{path} = {value!r}"[:80], json.dumps(t).encode()))
        else:  # a key goes missing
            t = copy.deepcopy(tree)
            path = places[rng.integers(len(places))]
            _set(t, path, None, delete=True)
            out.append((f"del {path}"[:80], json.dumps(t).encode()))
    return out


def _get(tree, path):
    for key in path:
        tree = tree[key]
    return tree


def _png_bytes(array: np.ndarray, mode: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array, mode).save(buf, format="PNG")
    return buf.getvalue()


def image_mutations(raw: bytes, rng: np.random.Generator, n: int) -> list[tuple[str, bytes]]:
    """`n` broken or unusual versions of a small PNG."""
    out: list[tuple[str, bytes]] = [
        ("empty", b""), ("text", b"hello"), ("other size", _png_bytes(np.zeros((7, 9, 3), np.uint8), "RGB")),
        ("grey", _png_bytes(np.zeros((6, 8), np.uint8), "L")),
        ("16-bit", _png_bytes(np.full((6, 8), 40000, np.uint16), None)),
        ("one pixel", _png_bytes(np.zeros((1, 1, 3), np.uint8), "RGB")),
        ("huge header", huge_png_header()),
    ]
    while len(out) < n:
        if rng.integers(2):
            b = bytearray(raw)
            for _ in range(rng.integers(1, 6)):
                b[rng.integers(len(b))] = rng.integers(256)
            out.append(("byte flip", bytes(b)))
        else:
            out.append(("truncated", raw[:rng.integers(len(raw))]))
    return out


def npy_mutations(arr: np.ndarray, rng: np.random.Generator, n: int) -> list[tuple[str, bytes]]:
    """`n` broken versions of an LLFF poses_bounds.npy array."""

    def npy(a, allow_pickle=False) -> bytes:
        buf = io.BytesIO()
        np.save(buf, a, allow_pickle=allow_pickle)
        return buf.getvalue()

    raw = npy(arr)
    obj = np.empty(1, dtype=object)
    obj[0] = {"a": 1}
    out: list[tuple[str, bytes]] = [
        ("16 columns", npy(arr[:, :16])), ("1-d", npy(arr.reshape(-1))), ("3-d", npy(arr[None])),
        ("no rows", npy(arr[:0])), ("fewer rows", npy(arr[:-1])), ("pickled objects", npy(obj, allow_pickle=True)),
        ("strings", npy(arr.astype(str))), ("complex", npy(arr.astype(np.complex128))), ("empty file", b""),
        ("zero near", npy(np.concatenate([arr[:, :15], np.zeros_like(arr[:, 15:])], 1))),
        ("far < near", npy(np.concatenate([arr[:, :15], arr[:, 16:17], arr[:, 15:16] * 0.0 + 1e-9], 1))),
    ]
    while len(out) < n:
        kind = rng.integers(3)
        if kind == 0:
            a = arr.copy()
            a.flat[rng.integers(a.size)] = SPECIAL_NUMBERS[rng.integers(len(SPECIAL_NUMBERS) - 2)]
            out.append(("special value", npy(a)))
        elif kind == 1:
            b = bytearray(raw)
            b[rng.integers(len(b))] = rng.integers(256)
            out.append(("byte flip", bytes(b)))
        else:
            out.append(("truncated", raw[:rng.integers(len(raw))]))
    return out


def _sane(scene) -> str | None:
    """Why a loaded scene would only fail later (None: it is usable)."""
    if not (math.isfinite(scene.bound) and scene.bound > 0 and math.isfinite(scene.near)):
        return f"bound {scene.bound}, near {scene.near}"
    if not (math.isfinite(scene.scale) and scene.scale > 0 and all(map(math.isfinite, scene.offset))):
        return f"scale {scene.scale}, offset {scene.offset}"
    for split in scene.splits.values():
        c = split.cameras
        if not all(torch.isfinite(t).all() for t in (c.c2w, c.fx, c.fy, c.cx, c.cy)):
            return f"split {split.name}: non-finite camera"
        if not ((c.fx > 0).all() and (c.fy > 0).all()):
            return f"split {split.name}: focal length {c.fx.tolist()}"
        if not torch.isfinite(split.images).all() or len(split) == 0:
            return f"split {split.name}: images"
    return None


def _check(root: Path, what: str, index: int, failures: list[str]) -> None:
    """Load `root`; record anything that is neither a sane scene nor an InputError."""
    try:
        with warnings.catch_warnings(record=True) as caught:  # a warning is a second line on stderr
            warnings.simplefilter("always")
            estimate_scene_memory(root)
            scene = load_scene(root)
        for w in caught:
            failures.append(f"{what}: warning {w.category.__name__}: {w.message}"[:300])
    except InputError as exc:
        if "\n" in str(exc):
            failures.append(f"{what}: multi-line message {exc}")
    except Exception as exc:  # noqa: BLE001 - exactly what the fuzz looks for
        failures.append(f"{what}: {type(exc).__name__}: {exc}"[:300])
    else:
        problem = _sane(scene)
        if problem:
            failures.append(f"{what}: loaded with {problem}")
    if index % CLI_EVERY == 0:
        out, err = io.StringIO(), io.StringIO()
        try:
            with redirect_stdout(out), redirect_stderr(err):
                code = main([str(root), "--inspect", "--json"])
        except Exception as exc:  # noqa: BLE001
            failures.append(f"{what}: nerf-train --inspect: {type(exc).__name__}: {exc}"[:300])
            return
        lines = err.getvalue().strip().splitlines()
        if code == 2 and not (len(lines) == 1 and lines[0].startswith("nerf-train: error: ")):
            failures.append(f"{what}: exit 2 with {lines}")
        elif code not in (0, 2):
            failures.append(f"{what}: exit {code}")


def _fuzz(root: Path, target: str, cases: list[tuple[str, bytes]]) -> list[str]:
    path = root / target
    original = path.read_bytes()
    failures: list[str] = []
    try:
        for i, (what, data) in enumerate(cases):
            path.write_bytes(data)
            _check(root, f"{target} #{i} ({what})", i, failures)
    finally:
        path.write_bytes(original)
    return failures


BASES = {
    "blender": (lambda root: blender_scene(root), "transforms_train.json"),
    "transforms": (lambda root: transforms_scene(root, aabb_scale=4, k1=0.01), "transforms.json"),
    "nerfstudio": (lambda root: _nerfstudio(root), "transforms.json"),
}


def _nerfstudio(root: Path) -> Path:
    transforms_scene(root, n=4)
    meta = json.loads((root / "transforms.json").read_text())
    names = [f["file_path"] for f in meta["frames"]]
    meta.update(train_filenames=names[:3], test_filenames=names[3:], camera_model="OPENCV", scale=0.3,
                offset=[0.5, 0.5, 0.5])
    (root / "transforms.json").write_text(json.dumps(meta))
    return root


CORPUS = {"json": 200, "image": 40, "npy": 60}  # inputs per base: 3 JSON bases, 2 image bases -> 740 in all


@pytest.mark.parametrize("base", list(BASES))
def test_fuzzed_scene_json_loads_or_is_refused_in_one_line(tmp_path, base):
    make, target = BASES[base]
    root = make(tmp_path / base)
    cases = json_mutations((root / target).read_text(), np.random.default_rng(16), CORPUS["json"])
    failures = _fuzz(root, target, cases)
    assert not failures, f"{len(failures)} of {len(cases)} inputs:\n" + "\n".join(failures[:200])


@pytest.mark.parametrize("base", ["blender", "llff"])
def test_fuzzed_images_load_or_are_refused_in_one_line(tmp_path, base):
    root = blender_scene(tmp_path / base) if base == "blender" else llff_scene(tmp_path / base)
    target = "train/r_1.png" if base == "blender" else "images_4/image001.png"
    cases = image_mutations((root / target).read_bytes(), np.random.default_rng(17), CORPUS["image"])
    failures = _fuzz(root, target, cases)
    assert not failures, f"{len(failures)} of {len(cases)} inputs:\n" + "\n".join(failures[:200])


def test_fuzzed_llff_poses_load_or_are_refused_in_one_line(tmp_path):
    root = llff_scene(tmp_path / "llff")
    cases = npy_mutations(np.load(root / "poses_bounds.npy"), np.random.default_rng(18), CORPUS["npy"])
    failures = _fuzz(root, "poses_bounds.npy", cases)
    assert not failures, f"{len(failures)} of {len(cases)} inputs:\n" + "\n".join(failures[:200])


def test_corpus_is_deterministic_and_several_hundred_strong():
    text = json.dumps({"camera_angle_x": 0.9, "frames": [{"file_path": "a", "transform_matrix": np.eye(4).tolist()}]})
    a = json_mutations(text, np.random.default_rng(16), 50)
    b = json_mutations(text, np.random.default_rng(16), 50)
    assert a == b
    total = len(BASES) * CORPUS["json"] + 2 * CORPUS["image"] + CORPUS["npy"]
    assert total >= 500

"""nerf/data/formats/transforms.py: nerfstudio's per-frame fields that are not used are said so."""
from __future__ import annotations

import warnings

import pytest

from nerf.data.formats.registry import load_scene
from nerf.errors import InputWarning
from tests.support.scenes import transforms_scene


def test_depth_and_mask_files_are_warned_about_once_each(tmp_path):
    transforms_scene(tmp_path, per_frame={"depth_file_path": "depth/x.png", "mask_path": "masks/x.png"})
    with pytest.warns(InputWarning) as caught:
        load_scene(tmp_path)
    problems = sorted(w.message.problem for w in caught)
    assert problems == ["10 frames have 'depth_file_path': depth maps are not used (no depth supervision): "
                        "training uses the colours alone",
                        "10 frames have 'mask_path': masks are not used yet: masked pixels supervise training "
                        "like the others"]
    assert all(w.message.path == str(tmp_path / "transforms.json") for w in caught)


def test_a_plain_scene_warns_nothing(tmp_path):
    transforms_scene(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_scene(tmp_path)

"""nerf/data/formats/transforms.py: nerfstudio's per-frame fields that are not used are said so."""
from __future__ import annotations

import warnings

import pytest

from nerf.data.formats.registry import load_scene
from nerf.errors import InputWarning
from tests.support.scenes import transforms_scene


def test_depth_files_are_warned_about_once(tmp_path):
    transforms_scene(tmp_path, per_frame={"depth_file_path": "depth/x.png"})
    with pytest.warns(InputWarning) as caught:
        load_scene(tmp_path)
    assert [w.message.problem for w in caught] == ["10 frames have 'depth_file_path': depth maps are not used "
                                                   "(no depth supervision): training uses the colours alone"]
    assert caught[0].message.path == str(tmp_path / "transforms.json")


def test_a_plain_scene_warns_nothing(tmp_path):
    transforms_scene(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_scene(tmp_path)

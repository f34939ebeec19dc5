"""load_scene's train_share: each distributed rank decodes only its share of the training images,
while everything that defines the scene's space is read from every camera."""
import pytest
import torch

from nerf.data.formats.registry import load_scene
from nerf.data.paths.turntable import turntable_cameras
from nerf.data.scene import shard_views
from nerf.errors import InputError
from tests.support.scenes import blender_scene, llff_scene, transforms_scene


def test_shard_views_cover_every_view_once_and_differ_by_one_at_most():
    shares = [shard_views(10, r, 3) for r in range(3)]
    assert shares == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]
    assert sorted(v for s in shares for v in s) == list(range(10))


@pytest.mark.parametrize("make, kwargs", [(blender_scene, {}), (transforms_scene, {}), (llff_scene, {"n": 17})])
def test_shares_hold_their_views_images_and_every_camera(tmp_path, make, kwargs):
    make(tmp_path, **kwargs)
    whole = load_scene(tmp_path)
    train = whole.split("train")
    shares = [load_scene(tmp_path, train_share=(r, 2)) for r in range(2)]
    for r, scene in enumerate(shares):
        views = shard_views(len(train), r, 2)
        assert scene.shard.views == views and scene.shard.count == len(train)
        assert torch.equal(scene.split("train").images, train.images[views])
        assert torch.equal(scene.split("train").cameras.c2w, train.cameras.c2w[views])
        assert torch.equal(scene.full_cameras("train").c2w, train.cameras.c2w)
        assert scene.split("train").files == [train.files[i] for i in views]
        # the space does not depend on the share
        assert (scene.bound, scene.near, scene.far, scene.scene_type) == (whole.bound, whole.near, whole.far,
                                                                         whole.scene_type)
        for name in whole.splits:
            if name != "train":
                assert torch.equal(scene.split(name).images, whole.split(name).images)
    assert whole.shard is None


def test_an_unbounded_share_keeps_the_region_of_all_cameras(tmp_path):
    transforms_scene(tmp_path, n=9)
    whole = load_scene(tmp_path, scene_type="unbounded")
    share = load_scene(tmp_path, scene_type="unbounded", train_share=(1, 4))
    assert len(share.split("train")) < len(whole.split("train"))
    assert (share.bound, share.near) == (whole.bound, whole.near)


def test_more_ranks_than_views_is_refused_naming_the_file(tmp_path):
    transforms_scene(tmp_path, n=3)
    with pytest.raises(InputError, match="fewer than the 5 ranks"):
        load_scene(tmp_path, train_share=(0, 5))


def test_a_share_turns_the_turntable_of_every_camera(tmp_path):
    blender_scene(tmp_path)
    whole = turntable_cameras(load_scene(tmp_path), 6)
    for rank in range(2):
        share = turntable_cameras(load_scene(tmp_path, train_share=(rank, 2)), 6)
        assert torch.equal(share.c2w, whole.c2w) and share.fy.equal(whole.fy)

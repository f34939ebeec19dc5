"""Loaders on tiny scenes written into tmp_path (8x6 pixel images)."""
import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from nerf.data.formats.images import MAX_PIXELS_ENV, image_header, read_image
from nerf.data.formats.frames import scene_centre
from nerf.data.formats.registry import estimate_scene_memory, load_scene
from nerf.data.scene import pose_to_file
from nerf.errors import InputError
from tests.support.scenes import H, W, blender_scene, huge_png_header, llff_scene, png, png_header, transforms_scene

def test_blender_without_val_split(tmp_path):
    scene = load_scene(blender_scene(tmp_path))
    assert scene.format == "blender" and set(scene.splits) == {"train", "test"}
    train = scene.split("train")
    assert train.images.shape == (4, H, W, 4) and train.has_alpha
    assert train.cameras.fx[0].item() == pytest.approx(0.5 * W / math.tan(0.45), rel=1e-5)
    assert train.cameras.cx[0].item() == W / 2 and train.cameras.cy[0].item() == H / 2
    assert scene.bound == 1.0 and not scene.ndc
    expected = np.asarray(Image.open(tmp_path / "train" / "r_2.png"), dtype=np.float32) / 255
    assert torch.allclose(train.images[2], torch.from_numpy(expected))
    with pytest.raises(InputError, match="no 'val' split"):
        scene.split("val")


def test_normalisation_recovers_the_centre_and_scale(tmp_path):
    scene = load_scene(transforms_scene(tmp_path))  # cameras at radius 5 around (1, 2, 3)
    assert np.allclose(scene.offset, (1.0, 2.0, 3.0), atol=1e-6)
    assert scene.scale == pytest.approx(5.0 / 2.7)
    c2w = torch.cat([s.cameras.c2w for s in scene.splits.values()])
    assert torch.allclose(c2w[:, :3, 3].norm(dim=-1), torch.full((10,), 2.7), atol=1e-5)
    # and back to file units
    back = pose_to_file(scene, scene.split("test").cameras.c2w[0].numpy())
    original = json.loads((tmp_path / "transforms.json").read_text())["frames"][0]["transform_matrix"]
    assert np.allclose(back, original, atol=1e-5)


def test_scene_centre_falls_back_to_mean_for_parallel_axes():
    origins = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]])
    axes = np.array([[0.0, 0, -1]] * 3)
    assert np.allclose(scene_centre(origins, axes), origins.mean(0))


def test_transforms_global_intrinsics_distortion_aabb_and_holdout(tmp_path):
    scene = load_scene(transforms_scene(tmp_path, k1=-0.1, k2=0.02, p1=0.001, p2=-0.002, aabb_scale=4))
    assert scene.format == "transforms" and scene.bound == 4.0
    test, train = scene.split("test"), scene.split("train")
    assert [f.rsplit("/", 1)[1] for f in test.files] == ["0000.png", "0008.png"]
    assert len(train) == 8 and not any(f.endswith(("0000.png", "0008.png")) for f in train.files)
    cams = train.cameras
    assert (cams.fx == 7.0).all() and (cams.fy == 6.5).all()
    assert cams.cx[0].item() == pytest.approx(4.1) and cams.cy[0].item() == pytest.approx(2.9)
    assert torch.allclose(cams.distortion[3], torch.tensor([-0.1, 0.02, 0.0, 0.0, 0.001, -0.002]))  # k1 k2 k3 k4 p1 p2
    assert train.images.shape == (8, H, W, 3)


def test_transforms_per_frame_intrinsics_override_global(tmp_path):
    transforms_scene(tmp_path)
    meta = json.loads((tmp_path / "transforms.json").read_text())
    for i, fr in enumerate(meta["frames"]):
        fr.update(fl_x=5.0 + i, cx=3.5, k1=0.01 * i)
    (tmp_path / "transforms.json").write_text(json.dumps(meta))
    cams = load_scene(tmp_path).split("train").cameras  # frames 1..7, 9
    assert cams.fx.tolist() == [6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 14.0]
    assert (cams.fy == 6.5).all() and (cams.cx == 3.5).all()
    assert cams.distortion[1, 0].item() == pytest.approx(0.02)


def test_transforms_angle_fallback(tmp_path):
    transforms_scene(tmp_path)
    meta = json.loads((tmp_path / "transforms.json").read_text())
    for key in ("fl_x", "fl_y", "cx", "cy"):
        del meta[key]
    meta.update(camera_angle_x=1.0, camera_angle_y=0.8)
    (tmp_path / "transforms.json").write_text(json.dumps(meta))
    cams = load_scene(tmp_path).split("test").cameras
    assert cams.fx[0].item() == pytest.approx(0.5 * W / math.tan(0.5))
    assert cams.fy[0].item() == pytest.approx(0.5 * H / math.tan(0.4))
    assert cams.cx[0].item() == W / 2


def test_nerfstudio_split_filenames_and_applied_transform(tmp_path):
    transforms_scene(tmp_path)
    meta = json.loads((tmp_path / "transforms.json").read_text())
    meta.update(camera_model="OPENCV", applied_transform=[[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, -1, 0]],
                train_filenames=[f"images/{i:04d}.png" for i in range(6)],
                test_filenames=["images/0007.png", "images/0009.png"])
    (tmp_path / "transforms.json").write_text(json.dumps(meta))
    scene = load_scene(tmp_path)
    assert len(scene.split("train")) == 6
    assert [f.rsplit("/", 1)[1] for f in scene.split("test").files] == ["0007.png", "0009.png"]
    assert np.allclose(scene.offset, (1.0, 2.0, 3.0), atol=1e-6)  # poses already hold the transform
    meta.update(camera_model="OPENCV_FISHEYE", k3=0.01, k4=-0.002)
    (tmp_path / "transforms.json").write_text(json.dumps(meta))
    cams = load_scene(tmp_path).split("train").cameras
    assert cams.camera_type == "fisheye" and cams.distortion[0, 2:4].tolist() == pytest.approx([0.01, -0.002])
    meta["camera_model"] = "FISHEYE624"  # never trained as a pinhole
    (tmp_path / "transforms.json").write_text(json.dumps(meta))
    _raises(tmp_path, tmp_path / "transforms.json", "camera_model FISHEYE624 is not supported")


def test_instant_ngp_is_fisheye(tmp_path):
    transforms_scene(tmp_path)
    meta = json.loads((tmp_path / "transforms.json").read_text())
    (tmp_path / "transforms.json").write_text(json.dumps({**meta, "is_fisheye": True}))
    assert load_scene(tmp_path).split("train").cameras.camera_type == "fisheye"
    (tmp_path / "transforms.json").write_text(json.dumps({**meta, "is_fisheye": "yes"}))
    _raises(tmp_path, tmp_path / "transforms.json", "'is_fisheye' must be true or false")


def test_instant_ngp_scale_offset(tmp_path):
    scene = load_scene(transforms_scene(tmp_path, scale=0.1, offset=[0.5, 0.4, 0.3]))
    raw = json.loads((tmp_path / "transforms.json").read_text())["frames"][0]["transform_matrix"]
    p = np.asarray(raw)[:3, 3]
    expected = 2 * (p * 0.1 + np.array([0.5, 0.4, 0.3])) - 1  # ngp unit cube -> [-1, 1]^3
    assert np.allclose(scene.split("test").cameras.c2w[0, :3, 3].numpy(), expected, atol=1e-5)


def test_llff_ndc_recentred_and_holdout(tmp_path):
    scene = load_scene(llff_scene(tmp_path))
    assert scene.format == "llff" and scene.ndc and scene.bound == 1.0 and scene.near == 1.0
    test, train = scene.split("test"), scene.split("train")
    assert [f.rsplit("/", 1)[1] for f in test.files] == ["image000.png", "image008.png"]
    assert len(train) == 7
    assert train.cameras.fx[0].item() == pytest.approx(10.0)  # focal 40 at 4x the resolution
    c2w = torch.cat([train.cameras.c2w, test.cameras.c2w])
    assert torch.allclose(c2w[:, :3, :3], torch.eye(3).expand(9, 3, 3), atol=1e-6)
    assert torch.allclose(c2w[:, :3, 3].mean(0), torch.zeros(3), atol=1e-6)
    sc = 1 / (2.0 * 0.75)  # nearest bound 2 -> 1 / 0.75
    assert scene.far == pytest.approx(50.0 * sc)
    raw = np.load(tmp_path / "poses_bounds.npy")[:, :15].reshape(9, 3, 5)[:, :, 3]
    assert torch.allclose(c2w[8, :3, 3].double(), torch.from_numpy((raw[8] - raw.mean(0)) * sc), atol=1e-5)


def test_llff_missing_factor_folder(tmp_path):
    llff_scene(tmp_path)
    with pytest.raises(InputError, match="no images_2/ folder"):
        load_scene(tmp_path, llff_factor=2)


def test_downscale_area_average_and_intrinsics(tmp_path):
    transforms_scene(tmp_path)
    full, half = load_scene(tmp_path), load_scene(tmp_path, downscale=2)
    a, b = full.split("train"), half.split("train")
    assert b.images.shape == (8, H // 2, W // 2, 3)
    blocks = a.images.reshape(8, H // 2, 2, W // 2, 2, 3).mean(dim=(2, 4))
    assert torch.allclose(b.images, blocks, atol=1e-6)
    for key in ("fx", "fy", "cx", "cy"):
        assert torch.allclose(getattr(b.cameras, key), getattr(a.cameras, key) / 2)
    assert (b.cameras.width, b.cameras.height) == (W // 2, H // 2)


def test_downscale_rgba_composites_like_the_average(tmp_path):
    blender_scene(tmp_path)
    full, half = load_scene(tmp_path), load_scene(tmp_path, downscale=2)
    bg = torch.tensor([0.2, 0.5, 0.9])
    expected = full.split("train").rgb(bg).reshape(4, H // 2, 2, W // 2, 2, 3).mean(dim=(2, 4))
    assert torch.allclose(half.split("train").rgb(bg), expected, atol=1e-5)


def test_memory_estimate_matches_loaded_bytes(tmp_path):
    blender_scene(tmp_path)
    est = estimate_scene_memory(tmp_path, downscale=2)
    scene = load_scene(tmp_path, downscale=2)
    loaded = sum(s.images.numel() * 4 for s in scene.splits.values())
    assert est["bytes"] == loaded and est["splits"]["train"]["count"] == 4


# --- bad input: each raises InputError naming the file -------------------------------------------

def _raises(path, file, match=None):
    with pytest.raises(InputError, match=match) as info:
        load_scene(path)
    assert str(file) in str(info.value), info.value
    return info.value


def test_missing_folder(tmp_path):
    _raises(tmp_path / "nope", tmp_path / "nope", "no such folder")


def test_unknown_format(tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    _raises(tmp_path, tmp_path, "not a scene folder")


def test_malformed_json_says_line_and_column(tmp_path):
    (tmp_path / "transforms.json").write_text('{\n  "frames": [\n    {"file_path": }\n  ]\n}')
    err = _raises(tmp_path, tmp_path / "transforms.json", "line 3, column")
    assert "invalid JSON" in err.problem


def test_missing_image(tmp_path):
    blender_scene(tmp_path)
    (tmp_path / "train" / "r_1.png").unlink()
    _raises(tmp_path, tmp_path / "train" / "r_1.png", "missing")


def test_corrupt_image(tmp_path):
    blender_scene(tmp_path)
    (tmp_path / "test" / "r_0.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    _raises(tmp_path, tmp_path / "test" / "r_0.png", "cannot read image")


def test_images_of_different_sizes(tmp_path):
    blender_scene(tmp_path)
    png(tmp_path / "train" / "r_3.png", size=(W + 2, H))
    _raises(tmp_path, tmp_path / "train" / "r_3.png", "10x6")


@pytest.mark.parametrize("bad, match", [(float("nan"), "NaN or inf"), ("singular", "singular")])
def test_bad_pose(tmp_path, bad, match):
    transforms_scene(tmp_path)
    meta = json.loads((tmp_path / "transforms.json").read_text())
    m = meta["frames"][3]["transform_matrix"]
    if bad == "singular":
        m[0][:3], m[1][:3] = [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]
    else:
        m[1][3] = bad
    (tmp_path / "transforms.json").write_text(json.dumps(meta))
    err = _raises(tmp_path, tmp_path / "transforms.json", match)
    assert "frame 3" in err.problem


def test_bad_llff_pose(tmp_path):
    llff_scene(tmp_path)
    arr = np.load(tmp_path / "poses_bounds.npy")
    arr[2, 3] = np.inf
    np.save(tmp_path / "poses_bounds.npy", arr)
    _raises(tmp_path, tmp_path / "poses_bounds.npy", "pose 2")


def test_empty_split(tmp_path):
    blender_scene(tmp_path)
    (tmp_path / "transforms_test.json").write_text(json.dumps({"camera_angle_x": 0.9, "frames": []}))
    _raises(tmp_path, tmp_path / "transforms_test.json", "no frames")


# --- image decoding --------------------------------------------------------------------------------

def test_grey_and_grey_alpha(tmp_path):
    Image.fromarray(np.full((H, W), 51, np.uint8), "L").save(tmp_path / "g.png")
    Image.fromarray(np.dstack([np.full((H, W), 102, np.uint8), np.full((H, W), 255, np.uint8)]),
                    "LA").save(tmp_path / "ga.png")
    g, ga = read_image(tmp_path / "g.png"), read_image(tmp_path / "ga.png")
    assert g.shape == (H, W, 3) and np.allclose(g, 0.2)
    assert ga.shape == (H, W, 4) and np.allclose(ga[..., :3], 0.4) and np.allclose(ga[..., 3], 1.0)


def test_palette_with_transparency(tmp_path):
    img = Image.new("P", (W, H), 1)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.putpixel((0, 0), 0)
    img.save(tmp_path / "p.png", transparency=0)
    a = read_image(tmp_path / "p.png")
    assert a.shape == (H, W, 4)
    assert a[0, 0, 3] == 0.0 and a[1, 1, 3] == 1.0 and np.allclose(a[1, 1, :3], [1, 0, 0])
    assert image_header(tmp_path / "p.png") == (W, H, 4)


def test_16_bit_png(tmp_path):
    Image.fromarray(np.full((H, W), 16384, np.uint16)).save(tmp_path / "d.png")
    a = read_image(tmp_path / "d.png")
    assert a.shape == (H, W, 3) and np.allclose(a, 16384 / 65535)


@pytest.mark.parametrize("make, problem", [
    (lambda p: p.write_text("hello, I am text"), "not an image file"),
    (lambda p: p.mkdir(), "is a folder"),
])
def test_read_image_says_what_is_wrong(tmp_path, make, problem):
    path = tmp_path / "x.png"
    make(path)
    for read in (read_image, image_header):
        with pytest.raises(InputError, match=problem) as info:
            read(path)
        assert info.value.path.endswith("x.png")


def test_exif_rotated_jpg_is_upright(tmp_path):
    arr = np.zeros((H, W, 3), np.uint8)
    arr[:, : W // 2] = 255  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display needs a 90 degree clockwise turn
    Image.fromarray(arr).save(tmp_path / "r.jpg", exif=exif, quality=100)
    a = read_image(tmp_path / "r.jpg")
    assert a.shape == (W, H, 3)
    assert image_header(tmp_path / "r.jpg") == (H, W, 3)
    assert a[:W // 2 - 1].mean() > 0.9 and a[W // 2 + 1:].mean() < 0.1  # white is now on top


def test_images_over_the_pixel_limit_are_refused_with_how_to_raise_it(tmp_path, monkeypatch):
    blender_scene(tmp_path)  # 8 x 6 = 48 pixels per image
    monkeypatch.setenv(MAX_PIXELS_ENV, "47")
    with pytest.raises(InputError) as info:
        load_scene(tmp_path)
    assert info.value.path.endswith(".png") and f"set {MAX_PIXELS_ENV}=48" in info.value.problem
    monkeypatch.setenv(MAX_PIXELS_ENV, "48")
    assert len(load_scene(tmp_path).split("train")) == 4
    monkeypatch.setenv(MAX_PIXELS_ENV, "lots")
    with pytest.raises(InputError, match="whole number of pixels"):
        load_scene(tmp_path)


def test_a_decompression_bomb_header_is_refused_before_decoding(tmp_path):
    blender_scene(tmp_path)
    (tmp_path / "train" / "r_1.png").write_bytes(huge_png_header())  # declares 100000 x 100000
    # Pillow's own check (kept on for the whole process) refuses it first; the line still says how
    with pytest.raises(InputError, match=f"10000 megapixels.* set {MAX_PIXELS_ENV}=10000000000"):
        load_scene(tmp_path)


def test_pillows_bomb_check_stays_on_and_its_warning_never_reaches_stderr(tmp_path, recwarn):
    """Between our limit and twice Pillow's, Pillow only warns: our opens say it in one InputError
    line instead; every other open in the process keeps Pillow's refusal."""
    assert Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS >= 89_478_485
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(huge_png_header())
    with pytest.raises(Image.DecompressionBombError):
        Image.open(bomb)
    warn_zone = tmp_path / "big.png"
    warn_zone.write_bytes(png_header(12_000, 12_000))  # 144 M: over 100 M, under Pillow's 2 x 100 M
    with pytest.raises(InputError, match=f"12000x12000 .* set {MAX_PIXELS_ENV}=144000000"):
        image_header(warn_zone)
    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]


@pytest.mark.parametrize("make", [lambda root: transforms_scene(root, n=1), lambda root: llff_scene(root, n=1)],
                         ids=["transforms", "llff"])
def test_a_one_image_scene_gets_its_own_message(tmp_path, make):
    with pytest.raises(InputError, match="has one image; a NeRF learns a scene from many views"):
        load_scene(make(tmp_path))

import numpy as np
import pytest
from PIL import Image

from nerf.errors import InputError
from toy.images import generated_image, load_image, square_resize


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="missing") as info:
        load_image(tmp_path / "nope.png")
    assert info.value.path.endswith("nope.png")


def test_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("hello, I am text")
    with pytest.raises(InputError, match="not an image"):
        load_image(path)


def test_truncated_png(tmp_path):
    path = tmp_path / "cut.png"
    Image.fromarray((generated_image(64) * 255).astype(np.uint8)).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="cannot read image"):
        load_image(path)


def test_folder_is_rejected(tmp_path):
    with pytest.raises(InputError, match="folder"):
        load_image(tmp_path)


def test_grey_becomes_three_equal_channels(tmp_path):
    path = tmp_path / "grey.png"
    Image.fromarray(np.full((4, 6), 51, dtype=np.uint8), mode="L").save(path)
    rgb = load_image(path)
    assert rgb.shape == (4, 6, 3) and rgb.dtype == np.float32
    assert np.allclose(rgb, 0.2)


def test_rgba_is_composited_on_white(tmp_path):
    path = tmp_path / "rgba.png"
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[..., 0] = 255  # red
    rgba[0, 0, 3] = 255  # opaque red
    rgba[0, 1, 3] = 0  # transparent -> white
    rgba[1, :, 3] = 128  # half -> pink
    Image.fromarray(rgba, mode="RGBA").save(path)
    rgb = load_image(path)
    assert np.allclose(rgb[0, 0], [1, 0, 0]) and np.allclose(rgb[0, 1], [1, 1, 1])
    assert np.allclose(rgb[1, 0], [1, 1 - 128 / 255, 1 - 128 / 255], atol=1e-6)


def test_sixteen_bit_grey_is_scaled_by_65535(tmp_path):
    path = tmp_path / "deep.png"
    Image.fromarray(np.full((3, 3), 65535 // 4, dtype=np.uint16)).save(path)
    assert np.allclose(load_image(path), (65535 // 4) / 65535, atol=1e-6)


def test_dark_sixteen_bit_image_is_not_taken_for_eight_bit(tmp_path):
    """Values below 256 in a 16-bit file are still 16-bit values: 200 is 200 / 65535, not 200 / 255."""
    path = tmp_path / "dark.png"
    Image.fromarray(np.full((3, 3), 200, dtype=np.uint16)).save(path)
    assert np.allclose(load_image(path), 200 / 65535, atol=1e-7)


def test_square_resize_crops_the_centre():
    rgb = np.zeros((4, 8, 3), dtype=np.float32)
    rgb[:, 2:6] = 1.0  # the centre square is white, the sides black
    out = square_resize(rgb, 4)
    assert out.shape == (4, 4, 3) and np.allclose(out, 1.0)
    assert square_resize(rgb, 2).shape == (2, 2, 3)

"""nerf/media.py: uint8 conversion, colour maps, PNG and GIF/MP4 writing."""
import imageio.v2 as imageio
import numpy as np
import torch
from PIL import Image

from nerf.media import VideoFile, colormap, to_uint8, write_png, write_video


def test_to_uint8_rounds_clips_and_accepts_torch_and_uint8():
    values = np.array([[[-0.5, 0.0, 0.5 / 255], [0.499 / 255, 1.0, 2.0]]], dtype=np.float32)  # [1, 2, 3]
    expected = np.array([[[0, 0, 1], [0, 255, 255]]], dtype=np.uint8)
    assert np.array_equal(to_uint8(values), expected)
    assert np.array_equal(to_uint8(torch.from_numpy(values)), expected)
    assert np.array_equal(to_uint8(expected), expected)
    assert to_uint8(values[:, ::-1]).flags["C_CONTIGUOUS"]


def test_colormap_hits_the_anchors_and_interpolates_between():
    anchors = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 1.0]], dtype=np.float32)
    out = colormap(np.array([-1.0, 0.0, 0.25, 0.5, 1.0, 3.0]), anchors)
    expected = [[0, 0, 0], [0, 0, 0], [0.5, 0, 0], [1, 0, 0], [1, 1, 1], [1, 1, 1]]
    assert np.allclose(out, expected)


def test_write_png_round_trip(tmp_path):
    image = np.random.default_rng(0).random((5, 7, 3)).astype(np.float32)
    path = write_png(tmp_path / "a.png", image)
    assert np.array_equal(np.asarray(Image.open(path)), to_uint8(image))


def test_gif_keeps_its_frame_time(tmp_path):
    frames = [np.full((6, 8, 3), v, np.uint8) for v in (0, 100, 200)]
    assert write_video(tmp_path / "a.gif", frames, fps=10) == 3
    with Image.open(tmp_path / "a.gif") as gif:
        gif.seek(1)
        assert gif.info["duration"] == 100  # ms per frame at 10 fps


def test_gif_frames_stream_to_disk_and_read_back(tmp_path):
    """A recording of the live view can run for many minutes: each GIF frame must reach the file
    as it comes (imageio's writer kept them all in memory until close)."""
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(20)]
    video = VideoFile(tmp_path / "a.gif", fps=10)
    for frame in frames:
        video.append(frame)
    written = (tmp_path / "a.gif").stat().st_size  # before close: noise needs ~3 KiB a frame
    video.close()
    assert written > 10 * 64 * 64 * 3 // 2, written
    back = imageio.mimread(tmp_path / "a.gif")
    assert len(back) == 20 and back[0].shape[:2] == (64, 64)
    flat = [np.full((4, 4, 3), (200, 30, 90), np.uint8)] * 2  # few colours: the palette keeps them exactly
    write_video(tmp_path / "flat.gif", flat, fps=10)
    assert np.array_equal(np.asarray(imageio.mimread(tmp_path / "flat.gif")[1])[..., :3], flat[1])


def test_mp4_of_odd_size_is_padded_not_empty(tmp_path):
    with VideoFile(tmp_path / "a.mp4", fps=5) as video:
        for v in (0.0, 0.5, 1.0):
            video.append(np.full((7, 9, 3), v, np.float32))
    frames = [f for f in imageio.get_reader(tmp_path / "a.mp4", format="FFMPEG")]  # not list(): len() is inf
    assert video.frames == 3 and len(frames) == 3 and frames[0].shape[:2] == (8, 10)
    assert abs(float(frames[1].mean()) - 128) < 8

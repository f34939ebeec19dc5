import json
import math

import imageio.v2 as imageio
import numpy as np

from nerf.data.cameras import look_at
from nerf.media import to_uint8
from viewer.recording import Recorder, read_pose, save_screenshot


def test_screenshot_pose_round_trip_in_file_coordinates(tmp_path):
    c2w = look_at((2.0, -1.0, 0.5), (0, 0, 0)).numpy().astype(np.float64)
    image = np.random.default_rng(0).random((30, 40, 3)).astype(np.float32)
    scale, offset = 2.5, (1.0, -2.0, 0.5)
    png, pose = save_screenshot(tmp_path / "shots" / "a.png", image, c2w, (50.0, 51.0, 20.0, 15.0),
                                scale=scale, offset=offset)
    assert np.array_equal(imageio.imread(png)[..., :3], to_uint8(image))
    data = json.loads(pose.read_text())
    intrinsics = (data["w"], data["h"], data["fl_x"], data["fl_y"], data["cx"], data["cy"])
    assert intrinsics == (40, 30, 50.0, 51.0, 20.0, 15.0)
    assert math.isclose(data["camera_angle_x"], 2 * math.atan(20.0 / 50.0))
    assert data["frames"][0]["file_path"] == "a.png" and data["coordinate_frame"] == "file"
    file_m = np.array(data["frames"][0]["transform_matrix"])
    assert np.allclose(file_m[:3, 3], c2w[:3, 3] * scale + offset)  # written in file space
    assert np.allclose(file_m[:3, :3], c2w[:3, :3])
    back, intr = read_pose(pose, scale=scale, offset=offset)
    assert np.allclose(back, c2w, atol=1e-12)
    assert intr["w"] == 40


def test_forward_facing_screenshot_poses_stay_in_the_normalised_frame_and_say_so(tmp_path):
    c2w = look_at((0.3, -0.2, 1.5), (0, 0, 0)).numpy().astype(np.float64)
    image = np.zeros((6, 8, 3), np.float32)
    _, pose = save_screenshot(tmp_path / "a.png", image, c2w, (9.0, 9.0, 4.0, 3.0), scale=3.0,
                              offset=(1.0, 2.0, 3.0), normalised=True)  # scale/offset cannot undo LLFF's rotation
    data = json.loads(pose.read_text())
    assert data["coordinate_frame"].startswith("normalised") and "poses_bounds.npy" in data["coordinate_frame"]
    assert np.allclose(data["frames"][0]["transform_matrix"], c2w)
    back, _ = read_pose(pose, scale=3.0, offset=(1.0, 2.0, 3.0))
    assert np.allclose(back, c2w)


def test_recorder_writes_gif_and_mp4_with_all_frames(tmp_path):
    frames = [np.full((24, 32, 3), 40 * i, np.uint8) for i in range(5)]
    for name in ("a.gif", "a.mp4"):
        rec = Recorder(tmp_path / name, fps=10)
        for f in frames:
            assert rec.add(f)
        rec.add(np.zeros((10, 10, 3), np.uint8))  # a resized window: fitted to the first size
        path = rec.close()
        assert rec.error is None and rec.frames_written == 6
        # a comprehension, not list(): the FFMPEG reader's len() is inf, which list() would preallocate
        read = (imageio.mimread(path) if name.endswith(".gif")
                else [f for f in imageio.get_reader(path, format="FFMPEG")])
        assert len(read) == 6 and read[0].shape[:2] == (24, 32)
        assert abs(float(read[4][..., :3].mean()) - 160) < 8

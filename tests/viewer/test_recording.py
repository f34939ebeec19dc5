import errno
import json
import math
import threading
from types import SimpleNamespace

import imageio.v2 as imageio
import numpy as np

from nerf.data.cameras import look_at, make_cameras
from nerf.files import next_numbered
from nerf.data.paths.turntable import orbit_poses
from nerf.media import VideoFile, to_uint8
from nerf.runtime.mailbox import Mailbox
from tests.support.fakes import FakeTrainer
from viewer.notices import Notes
from viewer.record_actions import RecordActions
from viewer.recording import Recorder, read_pose, render_turntable, save_screenshot


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


def _full_disk_after(monkeypatch, good: int):
    """VideoFile.append fails with ENOSPC after `good` frames, as a full disk or a dead ffmpeg does."""
    real = VideoFile.append

    def append(self, frame):
        if self.frames >= good:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(self, frame)
    monkeypatch.setattr(VideoFile, "append", append)


def test_a_failing_encoder_never_blocks_close_and_leaves_no_file(tmp_path, monkeypatch):
    _full_disk_after(monkeypatch, good=2)
    rec = Recorder(tmp_path / "r.mp4", fps=10)
    frame = np.zeros((16, 16, 3), np.uint8)
    for _ in range(300):  # far more than the encoder's 64-frame queue: before the fix the queue
        rec.add(frame)    # filled once the encoder died, and close() waited on it for ever
    closer = threading.Thread(target=rec.close, kwargs={"timeout": 20.0}, daemon=True)
    closer.start()
    closer.join(60.0)
    assert not closer.is_alive(), "close() blocked on a dead encoder"
    assert rec.error is not None and "No space left on device" in rec.error and str(tmp_path / "r.mp4") in rec.error
    assert list(tmp_path.iterdir()) == []  # neither the video nor its temporary file
    assert rec.add(frame) is False  # a failed recorder takes no more frames


def test_a_recording_is_written_under_a_temporary_name_until_closed(tmp_path):
    rec = Recorder(tmp_path / "r.gif", fps=10)
    rec.add(np.zeros((16, 16, 3), np.uint8))
    assert not (tmp_path / "r.gif").exists()
    assert rec.close() == tmp_path / "r.gif" and [p.name for p in tmp_path.iterdir()] == ["r.gif"]
    empty = Recorder(tmp_path / "e.mp4", fps=10)
    assert empty.close() is None and empty.error is None and not (tmp_path / "e.mp4").exists()


class _Panel:
    recording = None

    def record_format(self):
        return "mp4"

    def set_recording(self, on):
        self.recording = on

    def set_progress(self, *_):
        pass


class _View:
    last_image = np.zeros((16, 16, 3), np.uint8)
    size = (16, 16)
    settings = SimpleNamespace(scale=1.0)

    def screenshot(self):
        pass


def _actions(tmp_path) -> RecordActions:
    scene = SimpleNamespace(scale=1.0, offset=(0.0, 0.0, 0.0), ndc=False)
    return RecordActions(tmp_path, scene, view=_View(), worker=None, panel=_Panel(), notes=Notes(), step=lambda: 0)


def test_the_encoders_failure_reaches_the_notes_while_recording(tmp_path, monkeypatch):
    _full_disk_after(monkeypatch, good=0)
    actions = _actions(tmp_path)
    actions.toggle_recording()
    recorder = actions.recorder
    actions.update(0.0)  # one frame in: the encoder fails on it
    recorder._thread.join(30.0)
    actions.update(1.0)  # the next UI frame sees the failure, without the user pressing stop
    assert actions.recorder is None and actions.panel.recording is False
    assert any(line.startswith("recording failed:") and "No space left" in line for line in actions.notes.lines)
    assert list(tmp_path.iterdir()) == []


def test_new_files_take_the_next_free_number(tmp_path):
    for name in ("screenshot-001.png", "screenshot-003.png", "recording-002.mp4"):
        (tmp_path / name).write_bytes(b"earlier")
    actions = _actions(tmp_path)
    cams = make_cameras(look_at((3.0, 0.0, 1.0), (0, 0, 0))[None], 16, 16, fov_y_deg=40.0)
    actions.save_screenshot(np.zeros((16, 16, 3), np.uint8), SimpleNamespace(cameras=cams))
    assert (tmp_path / "screenshot-004.png").exists()  # counting the files would have overwritten 003
    assert (tmp_path / "screenshot-003.png").read_bytes() == b"earlier"
    actions.toggle_recording()
    assert actions.recorder.path.name == "recording-003.mp4"
    actions.stop_recording()
    assert next_numbered(tmp_path, "camera-path-", ".mp4").name == "camera-path-001.mp4"


def test_turntable_job_writes_the_video_reports_progress_and_aborts_cleanly(tmp_path):
    c2ws = orbit_poses(look_at((3.0, 0.0, 1.0), (0, 0, 0)).numpy(), np.zeros(3), np.array([0, 0, 1.0]), 3)
    job = dict(c2ws=c2ws, width=16, height=12, fov_y_deg=40.0, background=(1.0, 1.0, 1.0))
    progress = Mailbox()
    path = render_turntable(FakeTrainer(), lambda: False, **job, path=tmp_path / "t.mp4", progress=progress)
    assert path == tmp_path / "t.mp4" and progress.take() == (3, 3)
    assert len([f for f in imageio.get_reader(path, format="FFMPEG")]) == 3
    assert render_turntable(FakeTrainer(), lambda: True, **job, path=tmp_path / "cut.mp4") is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.mp4"]

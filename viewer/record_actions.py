"""The Record panel's actions: screenshots with their pose, live recording of the view and the
turntable video (a worker job). Files go to the run folder; a line for each goes to the notes."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from nerf.data.paths.turntable import orbit_poses
from nerf.files import next_numbered
from nerf.runtime.mailbox import Mailbox
from nerf.train.worker_messages import Notice
from viewer.notices import Notes
from viewer.panels.render import fit_into
from viewer.recording import Recorder, render_turntable, save_screenshot

RECORD_FPS = 10.0
TURNTABLE_FRAMES = 60


class RecordActions:
    """`view`: the LiveView (its frame, size, camera and settings); `worker`: what runs the turntable
    (`submit`); `panel`: the RecordPanel; `scene`: for the poses' file coordinates (scale, offset,
    ndc); `step()`: the current training step."""

    def __init__(self, run_dir: Path, scene, *, view, worker, panel, notes: Notes, step: Callable[[], int]):
        self.run_dir, self.scene = Path(run_dir), scene
        self.view, self.worker, self.panel, self.notes = view, worker, panel, notes
        self._step = step
        self.recorder: Recorder | None = None
        self._next_record = 0.0
        self._progress: Mailbox = Mailbox()

    def screenshot(self) -> None:
        """A full-quality render of the view, saved once it arrives (save_screenshot)."""
        self.view.screenshot()

    def save_screenshot(self, rgb, request) -> None:
        cams = request.cameras
        intr = (float(cams.fx[0]), float(cams.fy[0]), float(cams.cx[0]), float(cams.cy[0]))
        png, pose = save_screenshot(next_numbered(self.run_dir, "screenshot-", ".png"), rgb,
                                    cams.c2w[0].numpy(), intr, scale=self.scene.scale, offset=self.scene.offset,
                                    normalised=self.scene.ndc)
        self.notes.add(f"screenshot: {png.name} (+ {pose.name})")

    def toggle_recording(self) -> None:
        if self.recorder is None:
            ext = self.panel.record_format()
            self.recorder = Recorder(next_numbered(self.run_dir, "recording-", f".{ext}"), fps=RECORD_FPS)
            self.notes.add(f"recording to {self.recorder.path.name} ...")
        else:
            self.stop_recording()
        self.panel.set_recording(self.recorder is not None)

    def stop_recording(self) -> None:
        rec, self.recorder = self.recorder, None
        if rec is None:
            return
        path = rec.close()
        if path is not None:
            self.notes.add(f"recording: {path.name} ({rec.frames_written} frames)")
        else:
            self.notes.add(f"recording failed: {rec.error}" if rec.error else "recording: no frames, no file")

    def turntable(self) -> None:
        view = self.view
        path = self.run_dir / f"turntable-step{self._step()}.mp4"
        w, h = (max(16, int(v * view.settings.scale) // 2 * 2) for v in view.size)
        cam = view.camera
        c2ws = orbit_poses(cam.c2w, cam.target, cam.up, TURNTABLE_FRAMES)
        settings, progress = view.settings, self._progress
        self.worker.submit("turntable", lambda t, abort: render_turntable(
            t, abort, c2ws=c2ws, width=w, height=h, fov_y_deg=settings.fov_y_deg,
            background=settings.background, path=path, progress=progress))
        self.notes.add(f"turntable: rendering {TURNTABLE_FRAMES} frames ...")

    @staticmethod
    def turntable_done(notice: Notice) -> str:
        return f"turntable: {Path(notice.result).name}" if notice.result else "turntable aborted"

    def update(self, now: float) -> None:
        """Per frame: the turntable's progress, and the view's frame into a running recording."""
        progress = self._progress.take()
        if progress:
            self.panel.set_progress(*progress)
        view = self.view
        if self.recorder is not None and self.recorder.error is not None:  # the encoder failed: say so now
            self.stop_recording()
            self.panel.set_recording(False)
        if self.recorder is not None and view.last_image is not None and now >= self._next_record:
            self._next_record = now + 1.0 / RECORD_FPS
            w, h = (int(v * view.settings.scale) for v in view.size)
            self.recorder.add(fit_into(view.last_image, max(w, 16), max(h, 16)))

    def debug(self, _now: float) -> dict:
        """`recorded_frames`: what the recording in progress has written so far (the GUI test waits on it)."""
        return {"recording": self.recorder is not None,
                "recorded_frames": self.recorder.frames_written if self.recorder is not None else 0}

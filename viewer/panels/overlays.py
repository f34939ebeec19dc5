"""Overlays panel: what is drawn over the live view (the training cameras, the sparse points), the
per-camera scores that colour the cameras (a worker job, with progress and abort), and a click on a
camera's frustum going to that camera."""
from __future__ import annotations

import dearpygui.dearpygui as dpg

from nerf.runtime.mailbox import Mailbox
from viewer.camera_scores import JOB_NAME, camera_scores_job
from viewer.frustums import PSNR_RANGE
from viewer.panels.view import LiveView
from viewer.scene_overlay import SceneOverlay


class OverlaysPanel:
    """`overlay`: the SceneOverlay it switches and keeps on the view's camera; `points_note`: what was
    found of the sparse points; `worker`: runs the scoring job (`submit`, `abort_job`); `view`: the
    LiveView (its camera, size, snapped view, render settings and snap_to)."""

    def __init__(self, overlay: SceneOverlay, points_note: str, *, worker, view: LiveView):
        self.overlay, self.points_note = overlay, points_note
        self.worker, self.view = worker, view
        self._progress: Mailbox = Mailbox()
        self.scoring = False

    def build(self, parent) -> None:
        o = self.overlay
        with dpg.collapsing_header(label="Overlays", default_open=True, parent=parent):
            with dpg.group(horizontal=True):
                self.cameras_box = dpg.add_checkbox(label="training cameras", default_value=o.show_cameras,
                                                    callback=lambda _s, v: setattr(o, "show_cameras", bool(v)))
                self.points_box = dpg.add_checkbox(label="sparse points", default_value=o.show_points,
                                                   enabled=o.points is not None,
                                                   callback=lambda _s, v: setattr(o, "show_points", bool(v)))
            dpg.add_text(f"click a camera or press [ / ] to go to it; {self.points_note}", wrap=380)
            with dpg.group(horizontal=True):
                self.score_button = dpg.add_button(label="Score cameras", callback=lambda: self.score())
                self.abort_button = dpg.add_button(label="Abort", callback=lambda: self.worker.abort_job())
                self.score_text = dpg.add_text(f"colours: red {PSNR_RANGE[0]:.0f} dB .. green {PSNR_RANGE[1]:.0f} dB")

    def score(self) -> None:
        """Score every training camera with the model as it is now (renders at a quarter size)."""
        if self.scoring:
            return
        self.scoring = True
        self.worker.submit(JOB_NAME, camera_scores_job(self.view.views, self.view.settings.background,
                                                       progress=self._progress))
        dpg.set_value(self.score_text, "scoring ...")

    def finished(self, scores) -> str:
        """The job's Notice (scores, or None when aborted); a line for the notes."""
        self.scoring = False
        self._progress.take()  # the job's last progress, if not shown yet, must not cover the result
        if scores is None:
            dpg.set_value(self.score_text, "scoring aborted")
            return "camera scores aborted"
        self.overlay.set_psnrs(scores)
        worst = min(range(len(scores)), key=scores.__getitem__)
        line = f"cameras: {min(scores):.1f} .. {max(scores):.1f} dB (worst: train view {worst})"
        dpg.set_value(self.score_text, line)
        return line

    def click(self, xy: tuple[float, float]) -> None:
        """A click in the view at view pixel xy: on a training camera's frustum, go to that camera."""
        v = self.view
        index = self.overlay.pick(xy, v.camera.c2w, v.display_fov(), v.size)
        if index is not None:
            v.snap_to("train", index)

    def update(self, _now: float) -> None:
        scores = self._progress.take()
        if scores is not None:
            self.overlay.set_psnrs(scores)
            done = sum(s == s for s in scores)  # NaN != NaN: not scored yet
            dpg.set_value(self.score_text, f"scoring {done}/{len(scores)} ...")
        v = self.view
        snap = v.snapped()
        self.overlay.select(snap[1] if snap and snap[0] == "train" else None)
        self.overlay.update(v.camera.c2w, v.display_fov(), v.size)

    def debug(self, _now: float) -> dict:
        items = {"cameras": self.cameras_box, "points": self.points_box, "score": self.score_button,
                 "abort": self.abort_button}
        return {"overlays": {"cameras": self.overlay.show_cameras, "points": self.overlay.show_points,
                             "n_points": 0 if self.overlay.points is None else len(self.overlay.points),
                             "scored": sum(s == s for s in self.overlay.psnrs), "selected": self.overlay.selected,
                             "status": dpg.get_value(self.score_text),
                             "items": {k: [*dpg.get_item_rect_min(i), *dpg.get_item_rect_size(i),
                                           dpg.is_item_visible(i)] for k, i in items.items()}}}

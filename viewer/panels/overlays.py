"""Overlays panel: what is drawn over the live view (the training cameras, the sparse points), the
per-camera scores that colour the cameras, and a click on a camera's frustum going to that camera.

The cameras are coloured by each one's recent training PSNR, which training measures anyway
(nerf.train.camera_fit, in the worker's stats), refreshed every FIT_EVERY_S. "Score cameras" renders
every training view instead (a worker job, with progress and abort); its scores stay up until
training has gone SCORES_HELD_STEPS further."""
from __future__ import annotations

import math
from typing import Callable

import dearpygui.dearpygui as dpg

from nerf.runtime.mailbox import Mailbox
from viewer.camera_scores import JOB_NAME, camera_scores_job
from viewer.frustums import PSNR_RANGE
from viewer.panels.view import LiveView
from viewer.scene_overlay import SceneOverlay

FIT_EVERY_S = 2.0  # seconds between colour refreshes from the training stats (each redraws the frustums)
FIT_STEP_DB = 0.5  # training PSNRs are rounded to this before colouring: no redraw for noise
SCORES_HELD_STEPS = 200  # rendered scores give way to the training figures after this many more steps


class OverlaysPanel:
    """`overlay`: the SceneOverlay it switches and keeps on the view's camera; `points_note`: what was
    found of the sparse points; `worker`: runs the scoring job (`submit`, `abort_job`); `view`: the
    LiveView (its camera, size, snapped view, render settings and snap_to); `stats`: the worker's
    newest WorkerStats or None (its step and camera_psnrs)."""

    def __init__(self, overlay: SceneOverlay, points_note: str, *, worker, view: LiveView,
                 stats: Callable[[], object] = lambda: None):
        self.overlay, self.points_note = overlay, points_note
        self.worker, self.view, self.stats = worker, view, stats
        self._progress: Mailbox = Mailbox()
        self.scoring = False
        self.colours = "none"  # what colours the cameras: "none", "training" or "scores"
        self._scored_step: int | None = None  # the step of the rendered scores on show
        self._next_fit = 0.0

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
            self.fit_text = dpg.add_text("", wrap=380)

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
        stats = self.stats()
        self.colours, self._scored_step = "scores", getattr(stats, "step", 0)
        worst = min(range(len(scores)), key=scores.__getitem__)
        line = f"cameras: {min(scores):.1f} .. {max(scores):.1f} dB (worst: train view {worst})"
        dpg.set_value(self.score_text, line)
        dpg.set_value(self.fit_text, f"colours: these rendered scores, until {SCORES_HELD_STEPS} more steps")
        return line

    def _training_fit(self, now: float) -> None:
        """Colour the cameras by their recent training PSNR, every FIT_EVERY_S, unless rendered scores
        are being made or are still fresh."""
        if now < self._next_fit or self.scoring:
            return
        self._next_fit = now + FIT_EVERY_S
        stats = self.stats()
        psnrs = tuple(getattr(stats, "camera_psnrs", ()))
        if len(psnrs) != len(self.overlay.psnrs) or all(math.isnan(p) for p in psnrs):
            return  # nothing known yet, or a server that does not send them
        if self.colours == "scores" and stats.step < self._scored_step + SCORES_HELD_STEPS:
            return
        self.overlay.set_psnrs([p if math.isnan(p) else round(p / FIT_STEP_DB) * FIT_STEP_DB for p in psnrs])
        if self.colours != "training":
            self.colours = "training"
            dpg.set_value(self.fit_text, "colours: each camera's recent training PSNR (Score cameras renders "
                                         "them instead)")

    def click(self, xy: tuple[float, float]) -> None:
        """A click in the view at view pixel xy: on a training camera's frustum, go to that camera."""
        v = self.view
        index = self.overlay.pick(xy, v.camera.c2w, v.display_fov(), v.size)
        if index is not None:
            v.snap_to("train", index)

    def update(self, now: float) -> None:
        self._training_fit(now)
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
                             "status": dpg.get_value(self.score_text), "colours": self.colours,
                             "items": {k: [*dpg.get_item_rect_min(i), *dpg.get_item_rect_size(i),
                                           dpg.is_item_visible(i)] for k, i in items.items()}}}

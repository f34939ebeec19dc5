"""The live view's render requests: what it asks the worker for, and when (no display needed)."""
import time
from types import SimpleNamespace

import torch

from nerf.data.cameras import make_cameras
from nerf.models.base import RenderOutput
from nerf.train.worker import RenderResult
from viewer.orbit import OrbitCamera
from viewer.panels.render import RenderSettings
from viewer.panels.status import RateMeter
from viewer.panels.view import LEVELS, MOVING_SAMPLES, REFINE_MAX_S, REST_AFTER_S, LiveView


class _Worker:
    def __init__(self):
        self.requests, self.interacting = [], False

    def request_render(self, request):
        self.requests.append(request)

    def set_interacting(self, on: bool):
        self.interacting = on


def _view():
    def dataset_camera(split, index, scale):
        return make_cameras(torch.eye(4), max(8, int(64 * scale)), max(8, int(64 * scale)), fov_y_deg=40.0)

    app = SimpleNamespace(worker=_Worker(), render_meter=RateMeter(), dataset_camera=dataset_camera)
    view = LiveView(app, OrbitCamera(64, 64), RenderSettings(scale=1.0))
    view.show = lambda: None  # drawing needs a window; the schedule does not
    return view, app.worker


def _serve(view, worker, now: float, seconds: float, step: int, training: bool = True):
    """The worker answers the newest request after `seconds`; the view then schedules the next."""
    request = worker.requests[-1]
    result = RenderResult(request, RenderOutput(torch.zeros(2, 2, 3), torch.zeros(2, 2), torch.zeros(2, 2)), seconds, step)
    view.update(now, result, step, training)


def test_the_first_frame_does_not_stop_training_but_a_camera_move_does():
    view, worker = _view()
    view.changed(moved=False)  # the window opens (a resize)
    view.update(10.0, None, step=0, training=True)
    first = worker.requests[0]
    assert len(worker.requests) == 1 and not first.interactive and not worker.interacting
    assert first.tag.scale == LEVELS[0] and first.max_samples is None  # a quarter, all samples
    _serve(view, worker, 10.5, 0.1, step=1)
    view.camera.orbit(5, 0)
    view.changed()  # a drag
    t = time.perf_counter()
    view.update(t, None, step=1, training=True)
    moving = worker.requests[-1]
    assert worker.interacting and moving.interactive and moving.tag.level == 0
    assert moving.max_samples == MOVING_SAMPLES
    view.update(t + REST_AFTER_S / 2, None, step=1, training=True)
    assert worker.interacting  # a pause mid-drag is not rest yet
    view.on_release(0)
    view.update(time.perf_counter(), None, step=1, training=True)
    assert not worker.interacting  # releasing the button ends the drag at once: training goes on


def test_refinement_waits_while_a_full_frame_would_take_too_long():
    view, worker = _view()
    view.update(10.0, None, step=0, training=True)
    _serve(view, worker, 10.1, 0.01, step=0)  # level 0, fast: level 1 is asked for
    assert worker.requests[-1].tag.level == 1
    slow = REFINE_MAX_S / 2  # level 2 has 4x the pixels: ~2x REFINE_MAX_S
    _serve(view, worker, 10.2, slow, step=1)
    assert view.refine_seconds() > REFINE_MAX_S
    assert worker.requests[-1].tag.level == 1  # training moved on: refresh level 1, do not refine
    _serve(view, worker, 10.3, slow, step=1)
    n = len(worker.requests)
    view.update(10.4, None, step=1, training=True)
    assert len(worker.requests) == n  # nothing new while the step is the same
    _serve(view, worker, 10.5, REFINE_MAX_S / 8, step=2)  # the model got cheaper: refine
    assert worker.requests[-1].tag.level == len(LEVELS) - 1


def test_paused_training_or_a_dataset_view_always_refine_to_full_resolution():
    for paused, snapped in ((True, None), (False, ("train", 0, 1))):
        view, worker = _view()
        view.update(10.0, None, step=0, training=True)
        _serve(view, worker, 10.1, 0.01, step=0)
        view.snapped = snapped and (*snapped[:2], view.version)
        _serve(view, worker, 10.2, 10 * REFINE_MAX_S, step=1, training=not paused)
        assert worker.requests[-1].tag.level == len(LEVELS) - 1, (paused, snapped)


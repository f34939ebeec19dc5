"""What is drawn over the live view, bottom to top: the camera path and crop box, the training
cameras and sparse points, the depth colour bar, the compare view's divider, the crop box's
handles and the help. Built once the view exists; each frame the app calls the updates, each
of which redraws only when what it shows changed."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from viewer.crop_handles import CropHandles
from viewer.depth_view import DepthBar
from viewer.panels.camera_path import CameraPathPanel
from viewer.panels.help import HelpOverlay, seen_marker
from viewer.panels.render import RenderPanel
from viewer.panels.view import LiveView
from viewer.path_overlay import PathOverlay
from viewer.scene_overlay import SceneOverlay
from viewer.split_view import Divider


@dataclass
class ViewLayers:
    updates: list[Callable[[float], None]]  # each frame, after the view took its new frame
    debug: list[Callable[[float], dict]]  # sections of NERF_VIEWER_DEBUG_STATE
    help: HelpOverlay  # F1 and a click in the view toggle it


def build_view_layers(view: LiveView, *, path_panel: CameraPathPanel, scene_overlay: SceneOverlay,
                      render_panel: RenderPanel, crop_bound: float | None) -> ViewLayers:
    """The layers over `view`; crop_bound: the scene cube's half size (None: no crop box, no handles)."""
    path = PathOverlay(view.overlay)
    scene_overlay.build(view.add_layer(perspective_divide=True, depth_clipping=True), view.add_layer())
    depth_bar, divider = DepthBar(view.add_layer()), Divider(view.add_layer())
    updates = [
        lambda now: path.update(path_panel.editor, view.crop, view.camera.c2w, view.camera.fov_y_deg, view.size,
                                visible=path_panel.preview is None),
        lambda now: depth_bar.update(view.depth_shown, view.size),
        lambda now: divider.update(view.split, view.compare_labels, view.compare_note),
        lambda now: render_panel.show_depth_span(view.depth_shown),
    ]
    debug = [scene_overlay.debug]
    if crop_bound is not None:
        handles = CropHandles(view.add_layer(), crop=lambda: view.crop, set_crop=path_panel.set_crop,
                              camera=lambda: (view.camera.c2w, view.display_fov(), view.size), bound=crop_bound)
        view.grabbers.insert(0, handles)  # a handle on the divider's line is the handle's
        updates.append(handles.update)
        debug.append(handles.debug)
    help_overlay = HelpOverlay(view.add_layer(), seen_marker())
    updates.append(lambda now: help_overlay.update(view.size))
    debug.append(help_overlay.debug)
    return ViewLayers(updates, debug, help_overlay)

"""The camera layout of a capture as a picture: every camera as a frustum, with the sparse points,
seen from above and from the side (nerf-process writes it as preview.png; `nerf-train SCENE
--inspect --plot FILE` draws a loaded scene's).

"Up" is the mean up vector of the cameras, as the turntable takes it (nerf.data.paths.turntable):
a capture is filmed mostly upright, whatever axis its file calls up. The first horizontal axis is
the one along which the cameras spread the most, so a walk past a building shows as a line from
above and a circle around an object as a circle. Frustums are coloured by their order in the file,
which for a video is the order of filming: a gap or a jump in the colours is a gap in the path.
Drawn through matplotlib's Agg canvas on a Figure of our own (see nerf.report.curves).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from nerf.data.formats.pointcloud import scene_points
from nerf.data.frustums import FRUSTUM_EDGES, frustum_points
from nerf.data.scene import Scene
from nerf.files import atomic_output

PREVIEW_FILE = "preview.png"
FIGURE_INCHES = (11.0, 5.0)
DPI = 100  # 1100 x 500 pixels
FRUSTUM_SIZE = 0.06  # depth of a drawn frustum, as a share of the picture's largest extent
POINT_QUANTILES = (0.02, 0.98)  # the points' range that sizes the picture: a few stray points do not shrink it
MAX_POINTS = 20000  # drawn points (a fixed random subset beyond)


@dataclass(frozen=True)
class LayoutAxes:
    """An orthonormal frame for the pictures: `along` and `across` are horizontal, `up` is the cameras' up."""

    centre: np.ndarray  # [3] mean camera centre
    along: np.ndarray  # [3] horizontal direction of the cameras' largest spread
    across: np.ndarray  # [3] up x along, so (along, across, up) is right-handed
    up: np.ndarray  # [3] mean camera up (OpenGL: the camera's +y)

    def top(self, points: np.ndarray) -> np.ndarray:
        """[..., 2] coordinates seen from above: (along, across)."""
        rel = points - self.centre
        return np.stack([rel @ self.along, rel @ self.across], axis=-1)

    def side(self, points: np.ndarray) -> np.ndarray:
        """[..., 2] coordinates seen from the side: (along, up)."""
        rel = points - self.centre
        return np.stack([rel @ self.along, rel @ self.up], axis=-1)


def _unit(v: np.ndarray) -> np.ndarray | None:
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-9 else None


def layout_axes(c2ws: np.ndarray) -> LayoutAxes:
    """The frame of the pictures for cameras c2ws [N, 4, 4] (OpenGL camera-to-world)."""
    c2ws = np.asarray(c2ws, np.float64)
    centres = c2ws[:, :3, 3]
    up = _unit(c2ws[:, :3, 1].mean(axis=0))
    if up is None:  # cameras pointing every way: no common up, take the file's z
        up = np.array([0.0, 0.0, 1.0])
    flat = centres - centres.mean(axis=0)
    flat = flat - np.outer(flat @ up, up)  # [N, 3] horizontal offsets
    along = None
    if float(np.linalg.norm(flat)) > 1e-9:
        main = np.linalg.svd(flat)[2][0]  # the direction of largest spread
        along = _unit(main - (main @ up) * up)
    if along is None:  # one camera, or all stacked on one vertical
        seed = np.array([1.0, 0.0, 0.0]) if abs(up[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
        along = _unit(seed - (seed @ up) * up)
    return LayoutAxes(centre=centres.mean(axis=0), along=along, across=np.cross(up, along), up=up)


def _extent(xy: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    both = np.concatenate([a.reshape(-1, 2) for a in xy])
    return both.min(axis=0), both.max(axis=0)


def camera_layout_figure(c2ws: np.ndarray, intrinsics: tuple, points: np.ndarray | None = None,
                         title: str = "") -> Figure:
    """Frustums of cameras c2ws [N, 4, 4] with intrinsics (fx, fy, cx, cy, width, height) (fx..cy
    [N] or scalars), and sparse points [M, 3] in the same world (or None), from above and from the side."""
    c2ws = np.asarray(c2ws, np.float64)
    axes_3d = layout_axes(c2ws)
    centres = c2ws[:, :3, 3]
    if points is not None and len(points) > MAX_POINTS:
        points = points[np.random.default_rng(0).choice(len(points), MAX_POINTS, replace=False)]
    inner = None
    if points is not None and len(points) > 0:
        lo, hi = np.quantile(points, POINT_QUANTILES, axis=0)
        inner = points[((points >= lo) & (points <= hi)).all(axis=1)]
    # the frustums' size follows the picture's, which the camera centres and the bulk of the points set
    sized = [axes_3d.top(centres), axes_3d.side(centres)] + ([] if inner is None or len(inner) == 0 else
                                                             [axes_3d.top(inner), axes_3d.side(inner)])
    lo, hi = _extent(sized)
    size = FRUSTUM_SIZE * max(float((hi - lo).max()), 1e-6)
    world = frustum_points(c2ws, *intrinsics, size=size)  # [N, 6, 3]
    edges = np.array(FRUSTUM_EDGES)
    colours = ScalarMappable(Normalize(0, max(len(c2ws) - 1, 1)), "viridis")

    fig = Figure(figsize=FIGURE_INCHES, dpi=DPI, layout="constrained")
    panels = fig.subplots(1, 2)
    for ax, project, labels in ((panels[0], axes_3d.top, ("along the cameras", "across")),
                                (panels[1], axes_3d.side, ("along the cameras", "up (the cameras' mean up)"))):
        if points is not None and len(points) > 0:
            ax.scatter(*project(points).T, s=0.5, c="0.55", alpha=0.5, linewidths=0, rasterized=True)
        xy = project(world)  # [N, 6, 2]
        segments = np.stack([xy[:, edges[:, 0]], xy[:, edges[:, 1]]], axis=2).reshape(-1, 2, 2)  # [N*E, 2, 2]
        ax.add_collection(LineCollection(segments, colors=np.repeat(colours.to_rgba(np.arange(len(c2ws))),
                                                                    len(edges), axis=0), linewidths=0.8))
        ax.scatter(*project(centres).T, s=4, c=np.arange(len(c2ws)), cmap="viridis", norm=colours.norm, zorder=3)
        view_lo, view_hi = _extent([project(centres), xy] + ([] if inner is None or len(inner) == 0
                                                             else [project(inner)]))
        pad = 0.05 * max(float((view_hi - view_lo).max()), 1e-6)
        ax.set_xlim(view_lo[0] - pad, view_hi[0] + pad)
        ax.set_ylim(view_lo[1] - pad, view_hi[1] + pad)
        ax.set_aspect("equal", adjustable="box")
        ax.set_xlabel(labels[0])
        ax.set_ylabel(labels[1])
        ax.grid(True, alpha=0.3)
    panels[0].set_title("from above")
    panels[1].set_title("from the side")
    fig.colorbar(colours, ax=panels, label="camera, in file order", shrink=0.8)
    counts = f"{len(c2ws)} cameras" + ("" if points is None else f", {len(points)} sparse points shown")
    fig.suptitle(f"{title}: {counts}" if title else counts)
    return fig


def write_camera_layout(out: str | Path, c2ws: np.ndarray, intrinsics: tuple, points: np.ndarray | None = None,
                        title: str = "") -> Path:
    """camera_layout_figure(...) as a PNG at `out`, written atomically; returns the path."""
    return _write(camera_layout_figure(c2ws, intrinsics, points, title), out)


def _write(fig: Figure, out: str | Path) -> Path:
    with atomic_output(out) as tmp:
        FigureCanvasAgg(fig).print_png(str(tmp))
    return Path(out)


def scene_layout_figure(scene: Scene) -> Figure:
    """The cameras of every split of a loaded scene (in split order: train first) with its sparse
    points, in the scene's normalised world."""
    cams = [scene.full_cameras(name) for name in scene.splits]
    c2ws = np.concatenate([c.c2w.double().numpy() for c in cams])
    intrinsics = tuple(np.concatenate([getattr(c, k).double().numpy() for c in cams]) for k in ("fx", "fy", "cx", "cy"))
    counts = ", ".join(f"{len(c)} {name}" for name, c in zip(scene.splits, cams, strict=True))
    return camera_layout_figure(c2ws, (*intrinsics, cams[0].width, cams[0].height), scene_points(scene),
                                f"{scene.name} ({counts})")


def write_scene_layout(scene: Scene, out: str | Path) -> Path:
    """scene_layout_figure(scene) as a PNG at `out`, written atomically; returns the path."""
    return _write(scene_layout_figure(scene), out)

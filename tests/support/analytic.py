"""The default scene's geometry as signed distances, for checking exported meshes against the truth.

nerf.data.generated.shapes describes each primitive by its public fields; the distance functions below are
the textbook ones (Inigo Quilez's list) for those shapes.
"""
import numpy as np

from nerf.data.generated.synthetic import camera_rays, render_depth
from nerf.data.generated.shapes import Box, Cylinder, Sphere, Torus, default_objects


def _local(obj, p):
    q = p - np.asarray(obj.centre)
    return q if obj.rotation is None else q @ obj.rotation  # row vectors: R^T q


def _sdf(obj, p):
    q = _local(obj, p)
    if isinstance(obj, Sphere):
        return np.linalg.norm(q, axis=1) - obj.radius
    if isinstance(obj, Box):
        d = np.abs(q) - obj.half
        return np.linalg.norm(np.maximum(d, 0), axis=1) + np.minimum(d.max(axis=1), 0)
    if isinstance(obj, Cylinder):
        d = np.stack([np.hypot(q[:, 0], q[:, 1]) - obj.radius, np.abs(q[:, 2]) - obj.half_height], axis=1)
        return np.linalg.norm(np.maximum(d, 0), axis=1) + np.minimum(d.max(axis=1), 0)
    if isinstance(obj, Torus):
        return np.hypot(np.hypot(q[:, 0], q[:, 1]) - obj.major, q[:, 2]) - obj.minor
    raise TypeError(type(obj))


def signed_distance(p):
    """Distance [n] of points [n, 3] (file units) to the nearest surface, negative inside, and the index
    of that object [n]."""
    d = np.stack([_sdf(obj, p) for obj in default_objects()], axis=1)
    return d.min(axis=1), d.argmin(axis=1)


def albedo_seen(o, d):
    """Albedo [n, 3] of the first surface along unit rays o, d [n, 3]; 0 where nothing is hit."""
    objects = default_objects()
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # rays parallel to a face
        ts = np.stack([obj.intersect(o, d) for obj in objects], axis=1)  # [n, k]
    which, t = ts.argmin(axis=1), ts.min(axis=1)
    out = np.zeros_like(o)
    for k, obj in enumerate(objects):
        sel = (which == k) & np.isfinite(t)
        if sel.any():
            out[sel] = obj.surface(o[sel] + t[sel, None] * d[sel])[1]
    return out


def albedo_at(p):
    """Albedo [n, 3] of the nearest surface's texture at points p [n, 3] near it."""
    _, which = signed_distance(p)
    out = np.zeros_like(p)
    for k, obj in enumerate(default_objects()):
        sel = which == k
        if sel.any():
            out[sel] = obj.surface(p[sel])[1]
    return out


def visible_surface_points(poses, size=64):
    """Points [n, 3] on the surfaces the cameras `poses` [k, 4, 4] see, one per hit pixel."""
    pts = []
    for c2w in poses:
        o, d = camera_rays(c2w, size, size, 0.69, np.array([0.5]))
        t = render_depth(c2w, size, size, 0.69).reshape(-1)
        hit = np.isfinite(t)
        pts.append(o[hit] + t[hit, None] * d[hit])
    return np.concatenate(pts)

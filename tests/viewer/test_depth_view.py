"""The viewer's depth view is nerf-render's: the same turbo map, black where nothing is hit, the same
automatic range, or a fixed one; the colour bar runs through the same map."""
import numpy as np
import pytest
import torch

from nerf.export.frames import TURBO, to_image
from nerf.models.base import RenderOutput
from viewer.depth_view import bar_colours, depth_image, depth_span
from viewer.panels.render import visualize


def _outputs():
    depth = np.tile(np.linspace(1.0, 5.0, 101, dtype=np.float32), (4, 1))  # [4, 101]
    opacity = np.ones_like(depth)
    opacity[0] = 0.0  # the first row hits nothing
    return {"rgb": np.zeros((*depth.shape, 3), np.float32), "depth": depth, "opacity": opacity}


def test_the_range_is_fixed_or_the_opaque_pixels_1st_to_99th_percentile():
    out = _outputs()
    assert depth_span(out, (2.0, 3.0)) == (2.0, 3.0)
    lo, hi = depth_span(out, None)
    # the opaque rows hold 1.00, 1.04, ... 5.00: the 1st and 99th percentiles are 1.04 and 4.96
    assert lo == pytest.approx(1.04, abs=1e-4) and hi == pytest.approx(4.96, abs=1e-4)


def test_the_depth_image_is_nerf_renders_turbo():
    out = _outputs()
    image = depth_image(out, (1.0, 5.0))
    assert image.shape == (4, 101, 3) and image.dtype == np.float32
    assert (image[0] == 0).all()  # nothing hit: black
    np.testing.assert_allclose(image[1, 0] * 255, TURBO[0], atol=0.6)  # near end
    np.testing.assert_allclose(image[1, -1] * 255, TURBO[-1], atol=0.6)  # far end
    reference = to_image(RenderOutput(*(torch.from_numpy(out[k]) for k in ("rgb", "depth", "opacity"))),
                         "depth", (1.0, 5.0))
    np.testing.assert_array_equal((image * 255).round().astype(np.uint8), reference)
    np.testing.assert_array_equal(visualize(out, "Depth", None, (1.0, 5.0)), image)
    # a narrower range saturates: everything beyond 3 takes the far colour
    np.testing.assert_allclose(depth_image(out, (1.0, 3.0))[1, -1] * 255, TURBO[-1], atol=0.6)


def test_the_bar_runs_from_far_at_the_top_to_near_at_the_bottom():
    colours = bar_colours(9)
    np.testing.assert_allclose(colours, TURBO[::-1], atol=1)  # 9 steps land on the 9 stops

import numpy as np

from toy import views
from toy.snapshot import ConfigSnapshot, identity_grid


def test_rgba_texture_layout_and_values():
    rgb = np.zeros((2, 2, 3), dtype=np.float32)
    rgb[0, 1] = [1.0, 0.5, 0.0]
    tex = views.rgba_texture(rgb, side=4).reshape(4, 4, 4)
    assert tex.dtype == np.float32
    assert np.allclose(tex[0, 2], [1.0, 0.5, 0.0, 1.0])  # top-right quadrant comes from pixel (0, 1)
    assert np.allclose(tex[3, 0], [0, 0, 0, 1])
    assert np.allclose(views.rgba_texture(np.full((3, 3, 3), 255, np.uint8), side=2), 1.0)


def test_identity_grid_polylines_fall_on_a_regular_grid():
    lines = np.array(views.grid_polylines(identity_grid(5, 3).numpy(), size=100, origin=(10, 20)))
    assert lines.shape == (10, 3, 2)
    # first vertical line at x = -1 -> left edge, running from top to bottom
    assert np.allclose(lines[0], [[10, 20], [10, 70], [10, 120]])
    # horizontal line 2 of 5 at y = 0 -> middle row
    assert np.allclose(lines[5 + 2, :, 1], 70) and np.allclose(lines[5 + 2, :, 0], [10, 60, 110])


def test_warp_field_colours_follow_coordinates():
    warped = np.array([[[-1.0, -1.0], [1.0, 1.0]]], dtype=np.float32)
    rgb = views.warp_field_rgb(warped)
    assert np.allclose(rgb[0, 0], [0, 0, 0.5]) and np.allclose(rgb[0, 1], [1, 1, 0.5])


def test_mosaic_normalises_each_channel_and_tiles():
    maps = np.stack([np.full((4, 4), 3.0), np.arange(16.0).reshape(4, 4) * 10, np.zeros((4, 4))])
    out = views.mosaic(maps, side=10, gap=1)
    assert out.shape == (10, 10, 3)
    assert out.min() >= 0 and out.max() <= 1 and out.max() == 1.0  # the ramp reaches 1 after normalising


def test_ab_frame_puts_both_configurations_side_by_side():
    grid = np.zeros((2, 3, 2), np.float32)
    snap = ConfigSnapshot(step=3, recon=np.zeros((16, 16, 3), np.float32), error_map=np.zeros((16, 16), np.float32),
                          train_psnr=12.0, heldout_psnr=11.0, heldout_is_train=False, history=([], [], []),
                          warp_grid=grid, warp_field=grid, embedding=None, title="[2,8,3] raw", params=0,
                          image_values=0, layers=[2, 8, 3])
    frame = views.ab_frame([snap, snap])
    single = views.ab_frame([snap])
    assert frame.dtype == np.uint8 and frame.shape[0] == single.shape[0]
    assert frame.shape[1] == 2 * single.shape[1] + 6

import imageio.v2 as imageio
import numpy as np

from toy import render


def test_error_map_is_black_where_exact_and_bright_where_wrong():
    target = np.zeros((2, 2, 3), dtype=np.float32)
    recon = target.copy()
    recon[1, 1] = 1.0
    err = render.error_map(recon, target)
    assert err.shape == (2, 2, 3) and err.dtype == np.uint8
    assert err[0, 0].tolist() == [0, 0, 0] and err[1, 1].sum() > 600


def test_titled_adds_fixed_height_banner_with_text():
    image = np.zeros((20, 200, 3), dtype=np.uint8)
    out = render.titled(image, ["[2,64,64,64,3] | 8,707 params"], n_lines=3)
    assert out.shape == (20 + 3 * render.LINE_HEIGHT + 2, 200, 3)
    banner = out[: 3 * render.LINE_HEIGHT]
    assert (banner > 200).any()  # light text pixels were drawn
    assert np.array_equal(out[-20:], image)


def test_wrap_lines_fit_width():
    lines = render.wrap_lines(["[20,64,64,64,3] sin relu/out leaky | 9,859 params vs 196,608 values | 50% px"], 120)
    assert len(lines) > 1 and all(render._font().getlength(line) <= 120 for line in lines)


def test_gif_and_mp4_round_trip(tmp_path):
    frames = [np.full((30, 41, 3), v, dtype=np.uint8) for v in (0, 128, 255)]
    gif = imageio.mimread(render.write_gif(tmp_path / "a.gif", frames))
    assert len(gif) == 3 and gif[0].shape[:2] == (30, 41)
    mp4 = render.write_mp4(tmp_path / "a.mp4", frames)
    assert mp4.stat().st_size > 0

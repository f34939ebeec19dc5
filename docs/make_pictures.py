"""The README's pictures, made from real runs of the project's own commands:

    python docs/make_pictures.py [--minutes M] [--only viewer|curves|preview ...]

- docs/curves.png: the curves.png that `nerf-train` leaves, of M minutes on the embedded scene;
- docs/preview.png: the preview.png that `nerf-process` leaves, of a capture rendered from the
  generated test scene (tests/support/captures.py: 24 photos on an arc);
- docs/viewer.gif: the real `nerf-viewer` window under Xvfb (software OpenGL) with that checkpoint
  open, training on, while xdotool drags the view round; the screen is recorded by ffmpeg's x11grab
  (the ffmpeg that imageio-ffmpeg ships) and made a small GIF with a palette of its own.

Needs Xvfb and xdotool (as the GUI tests do). Nothing is drawn by hand: rerun it after a change to
the app or the plots and commit what it writes. The pictures say which machine made them only by
how far training got: on a CPU shared with other work, a few minutes give a blurry model.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: the project and its tests/support

from tests.support.xdriver import drag, press, read_state, virtual_display  # noqa: E402

DOCS = ROOT / "docs"
SCREEN = (1024, 640)  # the viewer's window under a software renderer (viewer.opengl.SOFTWARE_WINDOW_SIZE)
GIF_WIDTH, GIF_FPS = 640, 8
RECORD_SECONDS = 10.0


def run(cmd: list[str], env: dict | None = None) -> None:
    print("$", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True, env=env, cwd=ROOT)


def train(work: Path, minutes: float) -> Path:
    """A run folder of `minutes` of training on the embedded scene (its checkpoint and curves.png)."""
    out = work / f"default_scene-{minutes:g}min"  # the folder's name is the curves' title
    # 512 rays a batch: on a small CPU budget more, smaller steps get further than fewer large ones
    run([sys.executable, "-m", "nerf.commands.train", "--minutes", str(minutes), "--device", "cpu",
         "--batch-rays", "512", "--eval-views", "4", "--video-frames", "0", "--out", str(out)])
    return out


def make_curves(run_dir: Path) -> None:
    shutil.copyfile(run_dir / "curves.png", DOCS / "curves.png")


def make_preview(work: Path) -> None:
    from tests.support.captures import render_capture, write_folder
    frames, _ = render_capture(24)
    photos = write_folder(frames, work / "capture")  # the folder's name is the picture's title
    run([sys.executable, "-m", "nerf.commands.process", str(photos), str(work / "processed")])
    shutil.copyfile(work / "processed" / "preview.png", DOCS / "preview.png")


def wait_for(path: Path, app: subprocess.Popen, predicate, seconds: float, what: str) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if app.poll() is not None:
            raise RuntimeError(f"the viewer exited ({app.returncode}) while waiting for {what}")
        state = read_state(path)
        if state is not None and predicate(state):
            return state
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}")


def make_viewer_gif(work: Path, checkpoint: Path) -> None:
    """Record the viewer's window while the view is dragged round, then turn the video into a GIF."""
    config = work / "config"
    (config / "nerf-viewer").mkdir(parents=True, exist_ok=True)
    (config / "nerf-viewer" / "help-seen").touch()  # the help overlay would cover the first start's view
    state = work / "state.json"
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    video = work / "viewer.mp4"
    with virtual_display(f"{SCREEN[0]}x{SCREEN[1]}x24") as display:
        env = {**os.environ, "DISPLAY": display, "LIBGL_ALWAYS_SOFTWARE": "1", "XDG_CONFIG_HOME": str(config),
               "NERF_VIEWER_DEBUG_STATE": str(state)}
        app = subprocess.Popen([sys.executable, "-m", "viewer", str(checkpoint), "--out", str(work / "session"),
                                "--device", "cpu"], env=env, cwd=ROOT)
        try:
            s = wait_for(state, app, lambda s: s["frames_shown"] >= 3, 180, "the first frames")
            x, y, w, h = s["view_rect"]
            recorder = subprocess.Popen([ffmpeg, "-y", "-loglevel", "error", "-f", "x11grab", "-framerate", "10",
                                         "-video_size", f"{SCREEN[0]}x{SCREEN[1]}", "-i", display,
                                         "-t", str(RECORD_SECONDS), "-pix_fmt", "yuv420p", str(video)], env=env)
            time.sleep(1.0)
            # two slow half-turns: about 8 s of paced moves (each xdotool call is a process)
            drag(env, int(x + w * 0.25), int(y + h * 0.55), int(w * 0.5), -int(h * 0.1), steps=40)
            drag(env, int(x + w * 0.75), int(y + h * 0.45), -int(w * 0.5), int(h * 0.05), steps=40)
            recorder.wait(RECORD_SECONDS + 30)
            press(env, "Escape")
            app.wait(30)
        finally:
            if app.poll() is None:
                app.kill()
                app.wait()
    palette = (f"fps={GIF_FPS},scale={GIF_WIDTH}:-1:flags=lanczos,split[a][b];"
               "[a]palettegen=max_colors=128:stats_mode=diff[p];[b][p]paletteuse=dither=bayer:bayer_scale=4")
    run([ffmpeg, "-y", "-loglevel", "error", "-i", str(video), "-vf", palette, "-loop", "0",
         str(DOCS / "viewer.gif")])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=3.0, help="training time of the run shown (default 3)")
    p.add_argument("--only", nargs="+", choices=("viewer", "curves", "preview"),
                   default=["viewer", "curves", "preview"])
    args = p.parse_args()
    DOCS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nerf-pictures-") as tmp:
        work = Path(tmp)
        if "preview" in args.only:
            make_preview(work)
        if {"viewer", "curves"} & set(args.only):
            run_dir = train(work, args.minutes)
            if "curves" in args.only:
                make_curves(run_dir)
            if "viewer" in args.only:
                make_viewer_gif(work, run_dir / "checkpoint.pt")
    for name in ("viewer.gif", "curves.png", "preview.png"):
        path = DOCS / name
        if path.exists():
            print(f"{path.relative_to(ROOT)}: {path.stat().st_size // 1024} KB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

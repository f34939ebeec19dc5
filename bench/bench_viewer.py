"""Viewer figures under Xvfb: UI fps while training, camera-move-to-frame latency, training
throughput with the window open vs headless `nerf-train`, and test PSNR after the same wall time.

    python bench/bench_viewer.py                 # default scene, 3 minutes each, prints a table
    python bench/bench_viewer.py --minutes 1 --skip-headless
    python bench/bench_viewer.py --minutes 1 --model fake --skip-headless   # the UI pipeline alone
    python bench/bench_viewer.py --capture fox   # a real capture: the fox at 1/4 (lego: at 1/2)
    python bench/bench_viewer.py --connect       # + nerf-viewer --connect to nerf-train --serve on loopback
    python bench/bench_viewer.py --capture fox --minutes 1.5 --skip-headless --hide-cameras   # overlays off
    python bench/bench_viewer.py --connect --split-cores   # the client as if on another machine (below)

--split-cores stands in for a client on another machine on a 2-core box: the server (and the headless
run it is compared with) train on one core with one thread, the client's window and its Xvfb draw on
the other, so the server's steps lose only what serving costs, not what the window's drawing costs.

The viewer runs as a subprocess on its own Xvfb display and reports through
NERF_VIEWER_DEBUG_STATE; real X drags (xdotool) every few seconds measure the latency. At the end
the bench presses T (evaluate the test views) and reads the test PSNR from the run's log.jsonl.
Needs Xvfb and xdotool. Results go in BENCHMARKS.md "## Viewer".
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.support, run from anywhere

from tests.support.xdriver import click_item, press, read_state, scroll_to, virtual_display, xdo  # noqa: E402


DATASETS = Path("/work/shared/datasets")
# The real captures the viewer's targets are set on (issue 30): a frontal phone capture at 1/4 and
# the synthetic lego at 1/2, the sizes a CPU user would open them at.
CAPTURES = {"fox": ("instant_ngp_fox/fox", 4), "lego": ("nerf_synthetic/lego", 2)}

FAKE_LAUNCHER = """
import sys, torch
from pathlib import Path
from tests.support.fakes import FakeTrainer, make_fake_scene
from nerf.train.loop import Budget
from nerf.train.run import Run, RunSpec
from viewer.app import ViewerApp
from viewer.session import Session
trainer = FakeTrainer(make_fake_scene(64), step_seconds=0.01)
Path(sys.argv[1]).mkdir(parents=True, exist_ok=True)
run = Run(RunSpec(), trainer.scene, trainer, torch.device("cpu"), Budget(), Path(sys.argv[1]))
sys.exit(ViewerApp(Session(run)).run())
"""


def _log(run_dir: Path) -> list[dict]:
    try:
        return [json.loads(x) for x in (run_dir / "log.jsonl").read_text().splitlines() if x.strip()]
    except OSError:
        return []


def run_viewer(scene: str | None, minutes: float, downscale: int, model: str, work: Path,
               hide_cameras: bool = False) -> dict:
    out = work / "viewer"
    if model == "fake":  # the app with tests/viewer/fakes.py's trainer: the UI pipeline alone
        cmd = [sys.executable, "-c", FAKE_LAUNCHER, str(out)]
    else:
        cmd = [sys.executable, "-m", "viewer", "--out", str(out), "--downscale", str(downscale),
               "--model", model] + ([scene] if scene else [])
    with virtual_display() as display:
        return _drive_viewer(display, cmd, {}, out, minutes, work / "state.json", hide_cameras)


def run_connected(scene: str | None, minutes: float, downscale: int, model: str, work: Path,
                  trainer_prefix: tuple[str, ...] = ()) -> dict:
    """nerf-train --serve on 127.0.0.1 and nerf-viewer --connect to it: the same drive as run_viewer;
    the steps are the server's. trainer_prefix: what the server's command starts with (--split-cores:
    taskset and one torch thread)."""
    served, client = work / "served", work / "client"
    server = subprocess.Popen([*trainer_prefix, "nerf-train", *([scene] if scene else []), "--serve", "127.0.0.1:0",
                               "--minutes", str(minutes), "--downscale", str(downscale), "--model", model,
                               "--out", str(served)],
                              cwd=ROOT, stderr=subprocess.PIPE, text=True,
                              env={k: v for k, v in os.environ.items() if k != "NERF_VIEWER_TOKEN"})
    try:
        lines = ""
        while "token " not in lines:  # the server prints its address, then its token
            line = server.stderr.readline()
            if not line:
                raise RuntimeError(f"nerf-train --serve did not start: {lines}")
            lines += line
        port = re.search(r"serving on 127\.0\.0\.1:(\d+)", lines).group(1)
        token = re.search(r"token (\S+)", lines).group(1)
        cmd = [sys.executable, "-m", "viewer", "--connect", f"127.0.0.1:{port}", "--out", str(client)]
        with virtual_display() as display:
            return _drive_viewer(display, cmd, {"NERF_VIEWER_TOKEN": token}, served, minutes,
                                 work / "client-state.json")
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            server.kill()


def _drive_viewer(display: str, cmd: list[str], extra_env: dict, out: Path, minutes: float, debug: Path,
                  hide_cameras: bool = False) -> dict:
    """Drive the app `cmd` runs; `out`: the run folder whose log.jsonl has the training steps."""
    env = {**os.environ, **extra_env, "DISPLAY": display, "LIBGL_ALWAYS_SOFTWARE": "1",
           "NERF_VIEWER_DEBUG_STATE": str(debug)}
    app = subprocess.Popen(cmd, env=env, cwd=ROOT)
    try:
        while read_state(debug) is None:  # the window is up and training has started
            time.sleep(0.1)
        if hide_cameras:  # the Overlays panel's checkbox, clicked as a user would
            s = scroll_to(env, debug, app, "overlays", "cameras")
            click_item(env, s["overlays"]["items"]["cameras"])
            while read_state(debug)["overlays"]["cameras"]:
                time.sleep(0.1)
        start = time.monotonic()  # the viewer's minutes count from here, as headless counts training time
        fps, drags = [], 0
        end = start + minutes * 60
        next_drag = time.monotonic() + 10
        while time.monotonic() < end:
            s = read_state(debug)
            if s and s["stats"].get("running") and not s["stats"].get("interacting"):
                fps.append(s["ui_fps"])
            if time.monotonic() >= next_drag:  # one short orbit drag through real X events
                x, y, w, h = s["view_rect"]
                cx, cy = int(x + w / 2), int(y + h / 2)
                xdo(env, "mousemove", cx, cy)
                xdo(env, "mousedown", 1)
                for i in range(1, 6):
                    xdo(env, "mousemove", cx + 12 * i, cy)
                    time.sleep(0.03)
                xdo(env, "mouseup", 1)
                drags += 1
                next_drag = time.monotonic() + 8
            time.sleep(0.5)
        final = read_state(debug)
        latencies = final["latencies_ms"]
        rest_to_full = final.get("rest_to_full_s", [])
        worker = {k: final["stats"].get(k, 0.0) for k in ("train_seconds", "render_seconds_total", "renders")}
        steps = [r for r in _log(out) if "loss" in r]
        press(env, "space")  # pause, then evaluate
        press(env, "t")
        deadline = time.monotonic() + 600
        while not (read_state(debug)["stats"].get("test") or app.poll() is not None) and time.monotonic() < deadline:
            time.sleep(1)
        test = read_state(debug)["stats"].get("test") or {}
        press(env, "Escape")
        app.wait(30)
    finally:
        if app.poll() is None:
            app.kill()
    return {"ui_fps": statistics.median(fps) if fps else float("nan"),
            "latency_ms": statistics.median(latencies) if latencies else float("nan"),
            "latency_p90_ms": p90(latencies),
            "latencies_ms": latencies,
            "rest_to_full_s": statistics.median(rest_to_full) if rest_to_full else float("nan"),
            "rest_to_full_max_s": max(rest_to_full, default=float("nan")),
            "steps": steps[-1]["step"] if steps else 0, "drags": drags,
            "test_psnr": test.get("psnr", float("nan")), "wall_s": minutes * 60,
            "frame_bytes": final.get("frame_bytes", {}), **worker}


def p90(values: list[float]) -> float:
    """The nearest-rank 90th percentile: the smallest value with at least 90 % of them at or below it
    (never under the median, as an index of 0.9 * (n - 1) rounded down could be with few drags)."""
    if not values:
        return float("nan")
    return sorted(values)[math.ceil(0.9 * len(values)) - 1]


def run_headless(scene: str | None, minutes: float, downscale: int, model: str, work: Path,
                 trainer_prefix: tuple[str, ...] = ()) -> dict:
    out = work / "headless"
    cmd = [*trainer_prefix, "nerf-train", *([scene] if scene else []), "--minutes", str(minutes), "--downscale",
           str(downscale), "--model", model, "--video-frames", "0", "--out", str(out)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    metrics = json.loads((out / "metrics.json").read_text())
    return {"steps": metrics["steps"], "test_psnr": metrics["test_psnr"],
            "timeline": [(r["step"], r["seconds"]) for r in _log(out) if "loss" in r]}


def seconds_to_step(timeline: list[tuple[int, float]], step: int) -> float:
    """Training seconds at which a run's log (step, seconds) reached `step`, interpolated."""
    prev = (0, 0.0)
    for s, t in timeline:
        if s >= step:
            return prev[1] + (t - prev[1]) * (step - prev[0]) / max(s - prev[0], 1)
        prev = (s, t)
    return float("nan")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("scene", nargs="?", default=None, help="scene folder (default: the embedded scene)")
    p.add_argument("--capture", choices=sorted(CAPTURES), default=None,
                   help="a real capture at its usual size: " + ", ".join(
                       f"{k} = {v[0]} at 1/{v[1]}" for k, v in CAPTURES.items()) + " (sets scene and --downscale)")
    p.add_argument("--datasets", type=Path, default=DATASETS, help=f"where --capture finds them (default {DATASETS})")
    p.add_argument("--minutes", type=float, default=3.0)
    p.add_argument("--downscale", type=int, default=1)
    p.add_argument("--model", choices=("ngp", "nerf", "fake"), default="ngp",
                   help="fake: a 10 ms/step stand-in trainer, to time the UI pipeline alone")
    p.add_argument("--skip-headless", action="store_true")
    p.add_argument("--connect", action="store_true",
                   help="also nerf-viewer --connect to nerf-train --serve on 127.0.0.1, compared with the local viewer")
    p.add_argument("--split-cores", action="store_true",
                   help="with --connect: server and headless on one core (1 thread), the client on another; "
                        "no local viewer run")
    p.add_argument("--hide-cameras", action="store_true",
                   help="turn the training cameras' frustums off first (the overlays' cost: run with and without)")
    p.add_argument("--keep", metavar="DIR", help="keep both runs' folders (log.jsonl, ...) in DIR")
    args = p.parse_args()
    if args.capture:
        if args.scene:
            p.error("give a scene folder or --capture, not both")
        folder, args.downscale = CAPTURES[args.capture]
        args.scene = str(args.datasets / folder)
        if not Path(args.scene).is_dir():
            p.error(f"{args.scene}: no such folder (see --datasets)")
    if args.connect and args.model == "fake":
        p.error("--connect trains with nerf-train --serve: ngp or nerf, not fake")
    if args.keep and Path(args.keep).is_dir() and any(Path(args.keep).iterdir()):
        p.error(f"{args.keep}: not empty (the logs of two runs would mix)")
    if args.split_cores and not args.connect:
        p.error("--split-cores goes with --connect")
    if args.split_cores:
        return split_cores(args)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.keep or tmp)
        v = run_viewer(args.scene, args.minutes, args.downscale, args.model, work, args.hide_cameras)
        h = None if args.skip_headless else run_headless(args.scene, args.minutes, args.downscale, args.model, work)
        r = run_connected(args.scene, args.minutes, args.downscale, args.model, work) if args.connect else None
    print("| figure | viewer | target |\n|---|---|---|")
    print(f"| UI frame rate while training (median) | {v['ui_fps']:.1f} fps | >= 30 fps |")
    print(f"| camera move -> first updated frame (median / p90, {v['drags']} drags) | "
          f"{v['latency_ms']:.0f} / {v['latency_p90_ms']:.0f} ms | <= 150 ms |")
    print(f"| camera rests -> full-resolution frame (median / max) | {v['rest_to_full_s']:.2f} / "
          f"{v['rest_to_full_max_s']:.2f} s | <= 3 s |")
    print(f"| training steps in {args.minutes:g} min, viewer | {v['steps']} | |")
    print(f"| move -> frame, each drag in order (ms) | {' '.join(f'{x:.0f}' for x in v['latencies_ms'])} | |")
    print(f"| worker time in steps / in {v['renders']:.0f} renders (of {v['wall_s']:.0f} s) | "
          f"{v['train_seconds']:.0f} s / {v['render_seconds_total']:.0f} s | |")
    if h:
        ratio = v["steps"] / h["steps"] if h["steps"] else float("nan")
        same_work = seconds_to_step(h["timeline"], v["steps"]) / v["wall_s"]
        print(f"| training steps in {args.minutes:g} min, headless nerf-train | {h['steps']} | |")
        print(f"| throughput viewer / headless: steps in the same time | {100 * ratio:.0f} % | >= 60 % |")
        print(f"| throughput viewer / headless: time for the same steps (headless s to step "
              f"{v['steps']} / viewer s) | {100 * same_work:.0f} % | >= 60 % |")
        print(f"| test PSNR after {args.minutes:g} min: viewer / headless | {v['test_psnr']:.2f} / "
              f"{h['test_psnr']:.2f} dB | within 2 dB |")
    else:
        print(f"| test PSNR after {args.minutes:g} min, viewer | {v['test_psnr']:.2f} dB | |")
    if r:
        _print_connected(v, r, h, args.minutes)
    return 0


def split_cores(args) -> int:
    """--connect --split-cores: headless, then server + client, the trainer alone on the first core
    this process may use, the client on the second."""
    cores = sorted(os.sched_getaffinity(0))  # a container's cores need not be 0 and 1
    if len(cores) < 2:
        sys.exit("--split-cores needs 2 cores")
    os.sched_setaffinity(0, {cores[1]})  # Xvfb, xdotool and the client window inherit it
    prefix = ("taskset", "-c", str(cores[0]), "env", "OMP_NUM_THREADS=1")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.keep or tmp)
        h = run_headless(args.scene, args.minutes, args.downscale, args.model, work, prefix)
        r = run_connected(args.scene, args.minutes, args.downscale, args.model, work, prefix)
    print("| figure (server and headless on one core, 1 thread; client on another) | value | target |\n|---|---|---|")
    print(f"| move -> frame through the network (median / p90, {r['drags']} drags) | "
          f"{r['latency_ms']:.0f} / {r['latency_p90_ms']:.0f} ms | |")
    print(f"| move -> frame, each drag in order (ms) | {' '.join(f'{x:.0f}' for x in r['latencies_ms'])} | |")
    print(f"| UI frame rate (median) | {r['ui_fps']:.1f} fps | |")
    print(f"| training steps in {args.minutes:g} min: server with a client / headless | {r['steps']} / "
          f"{h['steps']} ({100 * r['steps'] / max(h['steps'], 1):.0f} %) | >= 85 % |")
    print(f"| test PSNR after {args.minutes:g} min: server / headless | {r['test_psnr']:.2f} / "
          f"{h['test_psnr']:.2f} dB | |")
    return 0


def _print_connected(v: dict, r: dict, h: dict | None, minutes: float) -> None:
    print(f"| move -> frame through the network (median / p90, {r['drags']} drags) vs local | "
          f"{r['latency_ms']:.0f} / {r['latency_p90_ms']:.0f} ms vs {v['latency_ms']:.0f} / "
          f"{v['latency_p90_ms']:.0f} ms | p90 within 30 ms of local |")
    for codec, what in (("jpeg", "moving (JPEG)"), ("png", "at rest (PNG)")):
        frames, size = r["frame_bytes"].get(codec, (0, 0))
        print(f"| bytes per frame {what}, {frames} frames | {size / max(frames, 1) / 1024:.1f} KiB | |")
    print(f"| training steps in {minutes:g} min, server with a client | {r['steps']} | |")
    if h:
        print(f"| server steps with a client / headless | {100 * r['steps'] / max(h['steps'], 1):.0f} % | >= 85 % |")


if __name__ == "__main__":
    sys.exit(main())
